"""Run enrollments while the server has no file descriptor to spare.

usage: exhaust_descriptors.py PID PORT SCEPCLIENT CHALLENGE ENROLLMENTS SPARE
Lowers the soft open-file limit of the running server PID (prlimit --pid)
to what it has open plus SPARE (the hard limit stays, so it can be put back), fills the spare descriptors with idle
connections, then for each enrollment frees exactly one (the client's
connection takes it) and runs micromdm's scepclient. While an enrollment
runs the server has no descriptor free. Restores the limit, closes the idle
connections and prints one JSON line: the limit, and each client's report.
Every wait is bounded; a step that does not happen in time is an error.
"""
import json
import os
import socket
import subprocess
import sys
import time

pid, port, client, challenge, count, spare = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])


def open_descriptors():
    return len(os.listdir(f"/proc/{pid}/fd"))


def descriptors_summary():
    kinds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kind = target.split(":")[0] if ":" in target else target
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def wait_for(condition, what, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}: the server has {open_descriptors()} open ({descriptors_summary()}), "
                             f"limit {limit}, {len(idle)} idle connections")
        time.sleep(0.01)


original = subprocess.run(["prlimit", "--pid", pid, "--nofile", "--raw", "--noheadings", "--output", "SOFT,HARD"],
                          check=True, capture_output=True, text=True).stdout.split()
limit = open_descriptors() + spare
subprocess.run(["prlimit", "--pid", pid, f"--nofile={limit}:{original[1]}"], check=True)
idle = []
reports = []
try:
    for index in range(count):
        # Fill every free descriptor with an accepted idle connection, then
        # free one for the client's; again if the server let go of anything
        # else meanwhile (exactly one must be free, and stay so for 0.2 s).
        while True:
            while open_descriptors() < limit:
                before = open_descriptors()
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                wait_for(lambda: open_descriptors() > before, "the server to accept an idle connection")
            idle.pop(0).close()
            wait_for(lambda: open_descriptors() < limit, "the server to close a freed connection")
            time.sleep(0.2)
            if open_descriptors() == limit - 1:
                break
        run = subprocess.run([client, "-url", f"http://127.0.0.1:{port}/scep", "-challenge", challenge,
                              "-cn", f"exhausted-{index}"], capture_output=True, text=True, timeout=60)
        lines = run.stdout.strip().splitlines()
        reports.append(json.loads(lines[-1]) if lines else {"httpStatus": 0, "error": run.stderr[-500:]})
finally:
    for connection in idle:
        connection.close()
    subprocess.run(["prlimit", "--pid", pid, f"--nofile={original[0]}:{original[1]}"], check=True)
print(json.dumps({"limit": limit, "reports": reports}))
