"""Many short connections at once: the socket programs of a lossy run.

Run inside the lab's namespaces by :mod:`checker.kernel.lossy`
(``python -m checker.kernel.crowd server PORT`` and ``... client HOST PORT FIRST COUNT
RATE``), one process per side, each a single non-blocking loop:

* the **client** opens ``COUNT`` connections to ``HOST:PORT``, ``RATE`` per second,
  connection ``i`` bound to local port ``FIRST + i`` (the port names the connection in
  every capture); it closes each one the moment connect() completes -- A closes first --
  and, once every connect() has returned, writes one JSON object: for each local port
  the connect() result (``ok`` or the errno's name) and when it came;
* the **server** listens on ``PORT``, accepts every connection, reads until EOF (or an
  error), then closes -- B closes after its peer.  On a line ``report`` on standard input
  it writes one JSON object: for each peer port when it was accepted and how reading
  ended (``eof``, the errno's name, or ``pending``: no EOF yet), and exits.

Examples
--------
>>> errno_name(110), errno_name(0)
('ETIMEDOUT', 'ok')
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import sys
import time
from typing import Any

__all__ = ["client", "errno_name", "main", "server"]


def errno_name(code: int) -> str:
    """``ok`` for 0, else the errno's symbolic name."""
    return "ok" if code == 0 else errno.errorcode.get(code, str(code))


def client(host: str, port: int, first: int, count: int, rate: float) -> dict[str, Any]:
    """Open the connections, close each as soon as it is established; their results."""
    sel = selectors.DefaultSelector()
    results: dict[str, Any] = {}
    t0 = time.monotonic()
    started = 0
    while started < count or sel.get_map():
        now = time.monotonic()
        while started < count and now - t0 >= started / rate:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            local = first + started
            sock.bind(("", local))
            code = sock.connect_ex((host, port))
            if code in (0, errno.EINPROGRESS):
                sel.register(sock, selectors.EVENT_WRITE, local)
            else:
                results[str(local)] = {"connect": errno_name(code), "t": round(now - t0, 4)}
                sock.close()
            started += 1
        wait = max(0.0, (started / rate) - (time.monotonic() - t0)) if started < count else 1.0
        for key, _mask in sel.select(timeout=wait):
            done = key.fileobj
            assert isinstance(done, socket.socket)
            code = done.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sel.unregister(done)
            done.close()  # established: the client closes first (its FIN goes out)
            results[str(key.data)] = {
                "connect": errno_name(code),
                "t": round(time.monotonic() - t0, 4),
            }
    return results


def server(port: int) -> dict[str, Any]:
    """Accept, read to EOF, close; until ``report`` comes on standard input."""
    sel = selectors.DefaultSelector()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("", port))
    listener.listen(4096)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    print(json.dumps({"ready": True}), flush=True)
    t0 = time.monotonic()
    seen: dict[str, Any] = {}
    while True:
        for key, _mask in sel.select(timeout=1.0):
            if key.data == "stdin":
                sys.stdin.readline()  # "report" (or EOF: the lab is going)
                for conn in [k.fileobj for k in sel.get_map().values() if k.data not in
                             (None, "stdin")]:  # fmt: skip
                    assert isinstance(conn, socket.socket)
                    conn.close()
                return seen
            if key.data is None:
                while True:
                    try:
                        conn, (_host, peer) = listener.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    seen[str(peer)] = {
                        "accepted": round(time.monotonic() - t0, 4),
                        "read": "pending",
                    }
                    sel.register(conn, selectors.EVENT_READ, str(peer))
                continue
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            try:
                data = conn.recv(4096)
            except OSError as exc:
                ended = errno_name(exc.errno or 0)
            else:
                if data:
                    continue
                ended = "eof"
            seen[key.data]["read"] = ended
            seen[key.data]["closed"] = round(time.monotonic() - t0, 4)
            sel.unregister(conn)
            conn.close()  # after the peer's FIN: B's FIN goes out, B is in LAST-ACK


def main(argv: list[str]) -> None:
    """``server PORT`` or ``client HOST PORT FIRST COUNT RATE``."""
    if argv[0] == "server":
        print(json.dumps(server(int(argv[1]))), flush=True)
    else:
        host, port, first, count, rate = argv[1:6]
        print(json.dumps(client(host, int(port), int(first), int(count), float(rate))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
