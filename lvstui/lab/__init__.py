"""The User-Mode Linux lab: a real IPVS kernel, keepalived and sshd for lvstui's tests.

See README.md in this directory. Importing this package is light: nothing boots until
``Lab.start()`` (or ``with Lab(spec) as lab:``).
"""

from lvstui.lab.kernel import Kernel, require_uml
from lvstui.lab.lab import Lab, LabProcess
from lvstui.lab.results import CommandResult, LabError, LabUnavailable
from lvstui.lab.spec import HostSpec, LabSpec

__all__ = [
    "CommandResult",
    "HostSpec",
    "Kernel",
    "Lab",
    "LabError",
    "LabProcess",
    "LabSpec",
    "LabUnavailable",
    "require_uml",
]
