"""HAProxy with deploy/haproxy/haproxy.cfg, unchanged, in front of two real
edges and a real control plane (the dev overlay's configuration, as in
live_dev.py). Enrollments run through it without a pause while one edge is
stopped with SIGTERM (it drains; its /readyz and its port go away; HAProxy
stops sending) and while the other is killed with SIGKILL (HAProxy sends the
requests that met it to the other edge). Run by run.sh haproxy.
"""

import os
import re
import signal
import subprocess
import sys
import time
import traceback

from deploylib import ROOT, WORK, Cluster, Load, free_port, http, result, say, results, wait_until

WORKERS = 3


class HAProxy:
    def __init__(self, cluster):
        self.port = free_port()
        self.log_path = WORK / "haproxy.log"
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/bin",
            "SCEPTER_LB_BIND": f"127.0.0.1:{self.port}",
            "SCEPTER_EDGE_1": f"127.0.0.1:{cluster.edges[0].listen}",
            "SCEPTER_EDGE_2": f"127.0.0.1:{cluster.edges[1].listen}",
            "SCEPTER_CONTROL": f"127.0.0.1:{cluster.control.listen}",
        }

    def start(self):
        config = ROOT / "deploy/haproxy/haproxy.cfg"
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], env=self.env,
                                        stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
        wait_until("haproxy", lambda: http(self.url("/scep/corp?operation=GetCACaps"), timeout=3)[0] == 200, timeout=30)
        return self

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self):
        return self.log_path.read_text(errors="replace")

    def saw(self, server, state, since=0):
        """Whether HAProxy logged `server` going `state` (UP or DOWN) after byte `since` of its log."""
        return re.search(rf"scepter_edges/{server} is {state}", self.log()[since:]) is not None

    def retried(self, since=0):
        """Requests HAProxy sent again (httplog's retries field, "+" when to another server)."""
        found = re.findall(r" \d+/\d+/\d+/\d+/(\+?)(\d+) \d+/\d+ ", self.log()[since:])
        return sum(1 for plus, count in found if int(count) > 0), sum(1 for plus, count in found if plus)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def counts(attempts):
    ok = sum(1 for a in attempts if a[2])
    return ok, len(attempts) - ok


def main():
    cluster = Cluster(edges=2)
    proxy = None
    load = None
    try:
        cluster.start()
        proxy = HAProxy(cluster).start()
        edge1, edge2 = cluster.edges
        challenge = cluster.challenge

        # What the proxy publishes, and what it does not.
        status_metrics, _ = http(proxy.url("/metrics"))
        status_api, _ = http(proxy.url("/api/v1/profiles"))
        status_crl, crl = http(proxy.url("/crl/main.crl"))
        crl_ok = status_crl == 200 and subprocess.run(["openssl", "crl", "-inform", "DER", "-noout"], input=crl,
                                                      capture_output=True).returncode == 0
        result(status_metrics == 404 and status_api == 404 and crl_ok,
               f"through HAProxy: /metrics {status_metrics}, /api/ {status_api}, /crl/main.crl {status_crl} (a DER CRL)")

        database_before = int(cluster.database.query("SELECT pg_database_size(current_database())")[0][0])
        load = Load(proxy.url("/scep/corp"), challenge, workers=WORKERS).start()
        t0 = time.monotonic()
        time.sleep(5)

        # SIGTERM: the edge stops accepting, finishes what it has, exits 0.
        log_mark = len(proxy.log())
        t_term = time.monotonic()
        edge1.signal(signal.SIGTERM)
        exit_status = edge1.process.wait(40)
        drained = round(time.monotonic() - t_term, 1)
        wait_until("HAProxy marks edge-1 DOWN", lambda: proxy.saw("edge-1", "DOWN", log_mark), timeout=20)
        time.sleep(4)
        edge1.start(restart=True)
        edge1.wait_ready()
        wait_until("HAProxy marks edge-1 UP", lambda: proxy.saw("edge-1", "UP", log_mark), timeout=30)
        t_term_end = time.monotonic()
        term_ok, term_failed = counts(load.between(t_term, t_term_end))
        term_retried, term_redispatched = proxy.retried(log_mark)
        result(exit_status == 0, f"SIGTERM: edge-1 drained and exited 0 in {drained} s; HAProxy marked it DOWN, then UP after its restart")
        result(term_ok > 0 and term_failed == 0,
               f"enrollments while edge-1 was stopped (SIGTERM) and restarted: {term_ok} succeeded, {term_failed} failed "
               f"({term_retried} requests sent again by HAProxy, {term_redispatched} to the other edge)")

        time.sleep(3)
        # SIGKILL: requests in flight on edge-2 are cut; HAProxy retries them elsewhere.
        log_mark = len(proxy.log())
        t_kill = time.monotonic()
        edge2.signal(signal.SIGKILL)
        edge2.process.wait(10)
        wait_until("HAProxy marks edge-2 DOWN", lambda: proxy.saw("edge-2", "DOWN", log_mark), timeout=20)
        time.sleep(4)
        edge2.start(restart=True)
        edge2.wait_ready()
        wait_until("HAProxy marks edge-2 UP", lambda: proxy.saw("edge-2", "UP", log_mark), timeout=30)
        t_kill_end = time.monotonic()
        kill_ok, kill_failed = counts(load.between(t_kill, t_kill_end))
        kill_retried, kill_redispatched = proxy.retried(log_mark)
        # At most the requests in flight at the kill may fail (one per worker);
        # HAProxy's retries usually save them all.
        result(kill_ok > 0 and kill_failed <= WORKERS,
               f"enrollments while edge-2 was killed (SIGKILL) and restarted: {kill_ok} succeeded, {kill_failed} failed "
               f"({kill_retried} requests sent again by HAProxy, {kill_redispatched} to the other edge)")

        time.sleep(3)
        load.stop()
        before_ok, before_failed = counts(load.between(t0, t_term))
        after_ok, after_failed = counts(load.between(t_kill_end, time.monotonic() + 1))
        total_ok, total_failed = counts(load.attempts)
        say(f"before: {before_ok} ok / {before_failed} failed; after: {after_ok} ok / {after_failed} failed; "
            f"all: {total_ok} ok / {total_failed} failed in {round(time.monotonic() - t0)} s")
        for attempt in load.attempts:
            if not attempt[2]:
                say(f"failed enrollment: {attempt[3]}")
        result(total_failed == term_failed + kill_failed + before_failed + after_failed and before_failed == 0 and after_failed == 0,
               f"in all {total_ok + total_failed} enrollments through HAProxy, {total_failed} failed "
               f"(SIGTERM phase {term_failed}, SIGKILL phase {kill_failed})")

        # Every certificate a device got is in the inventory, once.
        serials = {a[3]["serial"].lower().lstrip("0") for a in load.attempts if a[2] and a[3].get("serial")}
        rows = cluster.database.query("SELECT serial, transaction_id FROM certificates")
        stored = {row[0].lower().lstrip("0") for row in rows}
        transactions = [row[1] for row in rows]
        result(serials <= stored and len(transactions) == len(set(transactions)),
               f"each of the {len(serials)} certificates delivered is in PostgreSQL; {len(rows)} stored, one per transaction")

        # Figures for docs/kubernetes.md §8: Redis memory per audit event, peak RSS (debug build).
        length = int(cluster.redis.cli("XLEN", "scepter:audit").strip() or 0)
        memory = int(cluster.redis.cli("MEMORY", "USAGE", "scepter:audit", "SAMPLES", "0").strip() or 0)
        if length:
            say(f"Redis: scepter:audit holds {length} events in {memory} bytes: {memory // length} bytes per event")
        wait_until("audit events copied", lambda: int(cluster.database.query(
            "SELECT count(*) FROM audit_events WHERE NOT provisional")[0][0]) >= len(load.attempts), timeout=30)
        database_after = int(cluster.database.query("SELECT pg_database_size(current_database())")[0][0])
        say(f"PostgreSQL: {database_after - database_before} bytes more for {len(load.attempts)} enrollments: "
            f"{(database_after - database_before) // max(1, len(load.attempts))} bytes per enrollment "
            "(certificate, enrollment and audit rows with their indexes)")
        say("peak RSS (MiB, debug build): " + ", ".join(f"{p.name} {p.rss_mib()}" for p in [cluster.control] + cluster.edges))

        statuses = cluster.stop()
        result(all(s == 0 for s in statuses.values()), f"SIGTERM at the end: every process exits 0: {statuses}")
    except Exception:
        traceback.print_exc()
        result(False, "haproxy run (exception above)")
        if load:
            load.stop()
        cluster.stop()
    finally:
        if proxy:
            proxy.stop()
    if not all(results):
        print(cluster.logs())
        if proxy:
            print("--- haproxy\n" + proxy.log()[-6000:])
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
