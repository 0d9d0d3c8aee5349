"""Run `scepter dev` on a disk that fills up, then frees.

usage: unshare -rm python3 disk_full.py SCEPTER SCEPCLIENT
In a mount namespace of its own (unshare -rm: no privilege needed), mounts
a 4 MiB tmpfs, starts SCEPTER dev with its data directory there, enrolls
once, fills the disk to the last byte, enrolls three times, frees the disk,
enrolls again, stops the server with SIGTERM and reads its database. Prints
one JSON line: each step's client report, GetCACaps' status while full,
the server's exit status and the database's integrity check, certificates
and audit rows. Every wait is bounded.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

scepter, client = sys.argv[1], sys.argv[2]
disk = tempfile.mkdtemp(prefix="scepter-disk-")
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], check=True)
data = os.path.join(disk, "data")
log_path = os.path.join(tempfile.mkdtemp(prefix="scepter-disk-log-"), "server.log")
log = open(log_path, "w")
server = subprocess.Popen([scepter, "dev", "--port", "0", "--host", "127.0.0.1", "--data-dir", data],
                          stdout=log, stderr=subprocess.STDOUT)


def banner(field):
    for line in open(log_path):
        if field in line:
            return line.split()[-1] if field == "Challenge:" else line.split("http://127.0.0.1:")[1].split("/")[0]
    return None


deadline = time.monotonic() + 60
while banner("Challenge:") is None:
    if time.monotonic() > deadline or server.poll() is not None:
        raise SystemExit("scepter dev printed no banner:\n" + open(log_path).read())
    time.sleep(0.1)
challenge, port = banner("Challenge:"), int(banner("SCEP URL"))


def enroll(name):
    run = subprocess.run([client, "-url", f"http://127.0.0.1:{port}/scep", "-challenge", challenge, "-cn", name],
                         capture_output=True, text=True, timeout=60)
    lines = run.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"httpStatus": 0, "error": run.stderr[-500:]}


report = {"before": enroll("disk-before")}
filler = os.path.join(disk, "filler")
descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
for size in (65536, 1):
    try:
        while True:
            os.write(descriptor, b"\0" * size)
    except OSError:
        pass
os.close(descriptor)
report["free_bytes_while_full"] = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
report["full"] = [enroll(f"disk-full-{index}") for index in range(5)]
with urllib.request.urlopen(f"http://127.0.0.1:{port}/scep?operation=GetCACaps", timeout=10) as answer:
    report["caps_while_full"] = answer.status
os.remove(filler)
report["after"] = enroll("disk-after")
server.send_signal(signal.SIGTERM)
report["exit_status"] = server.wait(timeout=30)
database = sqlite3.connect(os.path.join(data, "scepter.db"))
report["integrity"] = database.execute("PRAGMA integrity_check").fetchone()[0]
report["certificates"] = [row[0] for row in database.execute("SELECT serial FROM certificates")]
report["audited_serials"] = [row[0] for row in database.execute("SELECT serial FROM audit_events WHERE serial IS NOT NULL")]
report["log"] = open(log_path).read()[-4000:]
print(json.dumps(report))
