"""Runs INSIDE a lab host: reads IPVS with lvstui and with ipvsadm, and prints both as JSON.

ipvsadm is run before and after lvstui's read; the pair is accepted only when
both ipvsadm runs printed the same thing, so the kernel did not change under
the comparison (rate estimators tick every 2 s).  The same raw netlink replies
are also decoded with pyroute2's IPVS message classes, the reference decoder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from lvstui.backend import ipvs
from lvstui.backend.ipvs import IpvsClient
from lvstui.backend.netlink import GenlSocket, iter_attrs
from lvstui.jsonout import snapshot_dict

MODES = ["", "--stats", "--rate", "--thresholds", "--persistent-conn"]


def ipvsadm_all() -> dict[str, str]:
    out = {}
    for mode in MODES:
        argv = ["ipvsadm", "-Ln", "--exact"] + ([mode] if mode else [])
        out[mode] = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    out["daemon"] = subprocess.run(["ipvsadm", "-Ln", "--daemon"], capture_output=True, text=True,
                                   check=True).stdout
    out["timeout"] = subprocess.run(["ipvsadm", "-Ln", "--timeout"], capture_output=True, text=True,
                                    check=True).stdout
    return out


def pyroute2_view() -> dict[str, object]:
    """Decode the raw replies with pyroute2 and keep what lvstui must agree with."""
    from pyroute2.netlink.generic.ipvs import ipvsmsg

    def stats64(attrs: object) -> list[int]:
        names = ["CONNS", "INPKTS", "OUTPKTS", "INBYTES", "OUTBYTES", "CPS", "INPPS", "OUTPPS", "INBPS",
                 "OUTBPS"]
        return [attrs.get_attr(f"IPVS_STATS_ATTR_{n}") for n in names]  # type: ignore[attr-defined]

    sock = GenlSocket("IPVS")
    services = []
    keys = []
    def reference(buf: bytearray, off: int, attr: str) -> Any:
        """The reply's ``attr`` decoded by pyroute2: its whole message starts 20 bytes before
        ``off`` (nlmsghdr 16 + genlmsghdr 4) with its own length."""
        start = off - 20
        length = int.from_bytes(buf[start:start + 4], sys.byteorder)
        msg = ipvsmsg(bytes(buf[start:start + length]))
        msg.decode()
        return msg.get_attr(attr)

    for buf, off, end in sock.dump(ipvs.CMD_GET_SERVICE, 1):
        svc = reference(buf, off, "IPVS_CMD_ATTR_SERVICE")
        for attr_type, a_off, a_len in iter_attrs(buf, off, end):
            if attr_type == ipvs.CMD_ATTR_SERVICE:
                keys.append(ipvs._decode_service(buf, a_off, a_off + a_len)[0])
        services.append({
            "sched": svc.get_attr("IPVS_SVC_ATTR_SCHED_NAME"),
            "port": svc.get_attr("IPVS_SVC_ATTR_PORT"),
            "fwmark": svc.get_attr("IPVS_SVC_ATTR_FWMARK"),
            "timeout": svc.get_attr("IPVS_SVC_ATTR_TIMEOUT"),
            "pe": svc.get_attr("IPVS_SVC_ATTR_PE_NAME"),
            "stats64": stats64(svc.get_attr("IPVS_SVC_ATTR_STATS64")),
        })
    decoder = ipvs.new_dest_decoder()
    for entry, key in zip(services, keys):
        dests = []
        from lvstui.backend.netlink import nla_nested

        for buf, off, end in sock.dump(ipvs.CMD_GET_DEST, 1, nla_nested(ipvs.CMD_ATTR_SERVICE, key.encode())):
            d = reference(buf, off, "IPVS_CMD_ATTR_DEST")
            for attr_type, a_off, a_len in iter_attrs(buf, off, end):
                if attr_type == ipvs.CMD_ATTR_DEST:
                    # lvstui's one-struct-per-message fast path must agree with its attribute walk
                    fast = ipvs._decode_dest(buf, a_off, a_off + a_len, key.af, decoder)
                    slow = ipvs._decode_dest_slow(buf, a_off, a_off + a_len, key.af)
                    if fast != slow:
                        raise SystemExit(f"fast and slow decoding differ: {fast} != {slow}")
            dests.append({
                "addr": d.get_attr("IPVS_DEST_ATTR_ADDR"),
                "port": d.get_attr("IPVS_DEST_ATTR_PORT"),
                "weight": d.get_attr("IPVS_DEST_ATTR_WEIGHT"),
                "fwd": d.get_attr("IPVS_DEST_ATTR_FWD_METHOD"),
                "active": d.get_attr("IPVS_DEST_ATTR_ACTIVE_CONNS"),
                "inactive": d.get_attr("IPVS_DEST_ATTR_INACT_CONNS"),
                "persist": d.get_attr("IPVS_DEST_ATTR_PERSIST_CONNS"),
                "stats64": stats64(d.get_attr("IPVS_DEST_ATTR_STATS64")),
            })
        entry["dests"] = dests
    sock.close()
    return {"services": services}


def main() -> int:
    client = IpvsClient()
    for attempt in range(1, 31):
        before = ipvsadm_all()
        snap = client.read()
        p2 = pyroute2_view()
        after = ipvsadm_all()
        again = client.read()
        if before == after and snapshot_dict(snap)["virtual_services"] == snapshot_dict(again)["virtual_services"]:
            json.dump({"attempts": attempt, "ipvsadm": before, "snapshot": snapshot_dict(snap),
                       "pyroute2": p2}, sys.stdout)
            return 0
    print("the IPVS table kept changing during 30 attempts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
