"""The pair's other director on the command line: ``--peer`` and its options, with ``[peer]``
of config.toml as the default (the flags win).

Given before the verb (``lvstui --peer lb2 ...``: the dashboard and every verb) or after the
verbs that take them (``lvstui snapshot --peer lb2``); either way :func:`peer_target` gives the
one answer.  ``--peer none`` turns off a configured peer for one command.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: only with a peer (paramiko)
    from lvstui.pair.both import PeerLink
    from lvstui.setup.ssh import SshOptions

__all__ = ["PeerTarget", "add_peer_arguments", "peer_target", "start_reader"]


@dataclass(frozen=True)
class PeerTarget:
    target: str  # [USER@]HOST[:PORT], as given
    command: tuple[str, ...]  # how lvstui is run there
    identity: str | None
    accept_new_host_key: bool
    origin: str  # "--peer" or the config file's path

    def ssh_options(self) -> SshOptions:
        """The SSH options of every connection to the peer (its reader's and its operations')."""
        from lvstui.setup.ssh import SshOptions

        return SshOptions(identity=self.identity, accept_new_host_key=self.accept_new_host_key)

    def link(self) -> PeerLink:
        """How the pair's operations reach the peer's lvstui (lvstui.pair.both.PeerLink)."""
        from lvstui.pair.both import PeerLink

        return PeerLink(self.target, self.ssh_options(), self.command)


def add_peer_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, top: bool = False) -> None:
    """The peer options; on a verb's parser (*top* False) they leave the top-level values alone
    unless given there (argparse would otherwise reset them to the verb's defaults)."""
    keep: dict[str, object] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--peer", metavar="[USER@]HOST[:PORT]",
                        help="the other director of the keepalived pair, read over SSH (default: [peer] in "
                        "config.toml; `none`: no peer)", **keep)  # type: ignore[arg-type]
    parser.add_argument("--peer-command", metavar="COMMAND",
                        help="how lvstui is run on the peer (default: lvstui; where it does not answer, "
                        "ipvsadm -S -n is read instead: the table without counters, thresholds or VRRP)",
                        **keep)  # type: ignore[arg-type]
    parser.add_argument("--peer-identity", metavar="FILE", help="SSH private key for the peer",
                        **keep)  # type: ignore[arg-type]
    parser.add_argument("--accept-new-host-key", action="store_true",
                        help="accept (and remember in known_hosts) the peer's host key when it is unknown; a "
                        "changed key is always refused", **keep)  # type: ignore[arg-type]


def peer_target(args: argparse.Namespace) -> PeerTarget | None:
    """The peer these arguments (or the config file) name; None without one.  Raises CliError (2)
    for a malformed host or command, ConfigError-based CliError for a broken config file."""
    from lvstui.commands.errors import CliError
    from lvstui.config import ConfigError, load_config

    given = getattr(args, "peer", None)
    if given is not None and given.strip().lower() == "none":
        return None
    config, path = None, "config.toml"
    if given is None or getattr(args, "peer_command", None) is None or getattr(args, "peer_identity", None) is None:
        try:
            loaded = load_config()
        except ConfigError as exc:
            raise CliError(str(exc), 2) from None
        config, path = loaded.peer, str(loaded.path)
    if given is None and config is None:
        return None
    target = given if given is not None else config.host  # type: ignore[union-attr]
    origin = "--peer" if given is not None else path
    command_text = getattr(args, "peer_command", None)
    if command_text is None:
        command_text = config.command if config else "lvstui"
    identity = getattr(args, "peer_identity", None) or (config.identity if config else None)
    from lvstui.setup.ssh import parse_target  # only with a peer: it pulls in paramiko

    try:
        parse_target(target)
        command = tuple(shlex.split(command_text))
    except ValueError as exc:
        raise CliError(f"peer {target!r}: {exc}", 2) from None
    if not command:
        raise CliError("--peer-command is empty", 2)
    return PeerTarget(target=target, command=command, identity=identity,
                      accept_new_host_key=bool(getattr(args, "accept_new_host_key", False)), origin=origin)


def start_reader(peer: PeerTarget, interval: float):  # type: ignore[no-untyped-def]  # -> PeerReader (lazy import)
    """A started :class:`~lvstui.peer.reader.PeerReader` for *peer*."""
    from lvstui.peer.reader import PeerReader

    return PeerReader(peer.target, peer.ssh_options(), command=peer.command, interval=max(interval, 0.2)).start()
