"""A socket program driven step by step, one JSON command per line on standard input.

Run inside a network namespace by :mod:`checker.kernel.lab` (``python -m checker.kernel.agent``);
each command's result -- or the errno of its failure -- goes to standard output as one
JSON line, so the harness records exactly what every socket call returned.

Commands (``{"op": ...}``): ``listen`` (port), ``accept``, ``connect`` (host, port),
``send`` (bytes), ``recv`` (max bytes, timeout seconds), ``shutdown`` (``wr``),
``linger0`` (SO_LINGER on, 0 s), ``close``, ``exit`` (the process exits, leaving any
connection to the kernel: orphaned).

Examples
--------
>>> run_one({"op": "nope"}, {})["error"]
'unknown op nope'
"""

from __future__ import annotations

import errno
import json
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

__all__ = ["main", "run_one"]


def run_one(cmd: dict[str, Any], socks: dict[str, socket.socket]) -> dict[str, Any]:
    """Carry out one command on the agent's sockets (``listener``, ``conn``)."""
    op = cmd.get("op")
    try:
        if op == "listen":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", int(cmd["port"])))
            s.listen(8)
            socks["listener"] = s
            return {"ok": True}
        if op == "accept":
            conn, peer = socks["listener"].accept()
            socks["conn"] = conn
            return {"ok": True, "peer": f"{peer[0]}:{peer[1]}"}
        if op == "connect":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks["conn"] = s
            s.connect((cmd["host"], int(cmd["port"])))
            local = s.getsockname()
            return {"ok": True, "local": f"{local[0]}:{local[1]}"}
        if op == "send":
            sent = socks["conn"].send(b"x" * int(cmd.get("bytes", 1)))
            return {"ok": True, "sent": sent}
        if op == "recv":
            conn = socks["conn"]
            ready, _w, _x = select.select([conn], [], [], float(cmd.get("timeout", 1.0)))
            if not ready:
                return {"ok": True, "timeout": True}
            data = conn.recv(int(cmd.get("bytes", 4096)))
            return {"ok": True, "received": len(data)}
        if op == "shutdown":
            socks["conn"].shutdown(socket.SHUT_WR)
            return {"ok": True}
        if op == "linger0":
            socks["conn"].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return {"ok": True}
        if op == "close":
            socks.pop("conn").close()
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op}"}
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        return {"ok": False, "errno": name}


def main() -> None:
    """Read commands until ``exit`` or end of input; answer each on one line."""
    # Ctrl-C on a terminal reaches the whole process group: the harness decides when
    # this program ends (it closes our input or terminates us), not the keyboard.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    socks: dict[str, socket.socket] = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        # When the call began and ended on the machine's monotonic clock (namespaces
        # share it): the harness orders calls and captures by these.
        began = time.monotonic()
        if cmd.get("op") == "exit":
            print(json.dumps({"ok": True, "began": began, "ended": began}), flush=True)
            return
        result = run_one(cmd, socks)
        result.update(began=began, ended=time.monotonic())
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
