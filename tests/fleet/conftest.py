"""The real sshd fixture on 127.0.0.1 (tests/setup/sshd_support.py)."""

from tests.setup.sshd_support import sshd as sshd
