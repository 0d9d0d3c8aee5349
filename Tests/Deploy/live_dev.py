"""The dev overlay's configuration started for real (run by run.sh dev).

The rendered ConfigMap is the environment, the Secrets created by the block
of docs/kubernetes.md §3 are files where the volumes mount (with the group
read the kubelet adds), the init container copies them owner-only, then
`scepter control` and two `scepter edge` run as the Deployments say. Redis
runs with the StatefulSet's arguments; PostgreSQL is a fresh database on
the test server. Devices enroll through each edge with micromdm's client.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import traceback

from deploylib import WORK, BINARY, Cluster, enroll, http, result, say, results


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def intune_challenge(key_path, device):
    """A challenge signed like the Intune Connector's (RS256 JWS), with the
    key docs/kubernetes.md §3 made for the trial's stand-in Connector."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = {"iss": "https://trial.connector.example", "sub": f"device-{device}", "iat": now - 30,
              "exp": now + 1800, "nonce": os.urandom(12).hex(), "device_name": device}
    payload = b64url(json.dumps(claims).encode())
    signed = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=f"{header}.{payload}".encode(),
                            capture_output=True, check=True).stdout
    return f"{header}.{payload}.{b64url(signed)}"


def main():
    cluster = Cluster(edges=2)
    secrets_dir = os.path.dirname(os.environ["DEPLOY_SECRETS"])
    try:
        cluster.start()
        result(True, "dev overlay: control plane and two edges start from the rendered ConfigMap and the Secrets; /readyz 200")
        edge1, edge2 = cluster.edges
        url1, url2 = edge1.url("/scep/corp"), edge2.url("/scep/corp")
        ca = cluster.ca_pem()

        status, body = http(edge1.url("/scep/corp?operation=GetCACaps"))
        result(status == 200 and b"POSTPKIOperation" in body, f"GetCACaps through an edge: {status}")

        for name, url in [("trial-laptop-1", url1), ("trial-laptop-2", url2)]:
            cert = str(WORK / f"{name}.pem")
            ok, report = enroll(url, cluster.challenge, name, cert_out=cert)
            verified = ok and subprocess.run(["openssl", "verify", "-CAfile", ca, cert], capture_output=True).returncode == 0
            result(ok and verified, f"micromdm client enrolls through {url.split('/scep')[0]} (static challenge of Secret "
                                    f"scepter-challenge), openssl verify with the CA of Secret scepter-ca: "
                                    f"{report.get('pkiStatus') if isinstance(report, dict) else report}")

        ok, report = enroll(url1, "not-the-challenge", "trial-intruder")
        refused = isinstance(report, dict) and report.get("pkiStatus") == "FAILURE"
        result(refused, "a wrong challenge is refused (FAILURE)")

        # Intune: a challenge signed by the stand-in Connector of Secret scepter-intune-connectors.
        challenge = intune_challenge(os.path.join(secrets_dir, "connector.key"), "trial-intune-1")
        ok, report = enroll(url2, challenge, "trial-intune-1")
        result(ok, f"an Intune signed challenge (Connector bundle from its Secret volume) enrolls: "
                   f"{report.get('pkiStatus') if isinstance(report, dict) else report}")

        # The audit rows name the edges by pod name (SCEPTER_EDGE_ID from the Downward API).
        time.sleep(2)
        rows = cluster.database.query("SELECT edge, outcome FROM audit_events WHERE operation = 'PKIOperation' ORDER BY time")
        edges = {row[0] for row in rows}
        result(edges == {edge1.name, edge2.name} and len(rows) == 4,
               f"4 audit rows in PostgreSQL, written by the two pods: {rows}")

        # The admin API with the tokens of Secret scepter-api-tokens.
        admin = cluster.overlay.secret_data("scepter-api-tokens", "admin-tokens").strip().split(":", 1)[1]
        viewer = cluster.overlay.secret_data("scepter-api-tokens", "viewer-tokens").strip().split(":", 1)[1]
        status, body = http(cluster.control.url("/api/v1/certificates"), token=admin)
        listed = json.loads(body).get("items", []) if status == 200 else []
        status_stats, _ = http(cluster.control.url("/api/v1/admin/scep/intune/stats"), token=viewer)
        result(status == 200 and len(listed) == 3 and status_stats == 403,
               f"admin token lists the 3 certificates ({status}), viewer token gets 403 on stats ({status_stats})")

        # The metrics the alerts read are exported.
        _, edge_metrics = http(edge1.url("/metrics"))
        _, control_metrics = http(cluster.control.url("/metrics"))
        wanted = [b"scepter_enrollments_total", b"scepter_trust_anchor_not_after_seconds",
                  b"scepter_trust_anchor_last_reload_success", b"scepter_pkioperation_duration_seconds"]
        missing = [w.decode() for w in wanted if w not in edge_metrics]
        missing += [w.decode() for w in [b"scepter_control_enrollment_duration_seconds"] if w not in control_metrics]
        result(not missing, f"the metrics the PrometheusRule reads are exported{': missing ' + str(missing) if missing else ''}")

        # Why the init container: the file as the kubelet mounts it (0440)
        # is refused, naming the variable.
        env = dict(edge1.env)
        env["SCEPTER_EDGE_TOKEN_FILE"] = edge1.path(edge1.spec["containers"][0], "/etc/scepter/secrets/edge-token")
        mode = oct(os.stat(env["SCEPTER_EDGE_TOKEN_FILE"]).st_mode & 0o777)
        refused = subprocess.run([BINARY, "edge"], env=env, capture_output=True, text=True, timeout=30)
        result(refused.returncode == 2 and "SCEPTER_EDGE_TOKEN_FILE" in refused.stderr,
               f"the Secret file as mounted ({mode}, fsGroup) would be refused (exit {refused.returncode}): "
               "the owner-only copy is needed")

        # SIGTERM: each process drains and exits 0 within the pod's grace.
        grace = cluster.overlay.workload("Deployment", "scepter-edge")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        started = time.monotonic()
        statuses = cluster.stop()
        result(all(s == 0 for s in statuses.values()),
               f"SIGTERM: every process exits 0 within {grace} s ({round(time.monotonic() - started, 1)} s): {statuses}")
    except Exception:
        traceback.print_exc()
        print(cluster.logs())
        result(False, "dev overlay run (exception above)")
        cluster.stop()
    if not all(results):
        print(cluster.logs())
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
