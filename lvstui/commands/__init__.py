"""CLI verbs.  Each module here exposes ``register(subparsers)``.

Modules must keep their top-level imports light (argparse and the standard
library only): ``lvstui snapshot`` is used by scripts that poll, and must not
pay for Textual or other heavy imports it does not use.
"""

# The order here is the order in `lvstui --help`.
COMMAND_MODULES = (
    "lvstui.commands.snapshot",
    "lvstui.commands.conns",
    "lvstui.commands.ops",
    "lvstui.commands.save",
    "lvstui.commands.load",
    "lvstui.commands.undo",
    "lvstui.commands.keepalived",
    "lvstui.commands.vrrp",
    "lvstui.commands.fleet",
    "lvstui.commands.setup",
    "lvstui.commands.lab",
    "lvstui.commands.exporter",
    "lvstui.commands.serve",
)
