"""Runs the rendered dev overlay's pods as local processes: the ConfigMap as
the environment, the Secrets (as docs/kubernetes.md creates them) as files
where the volumes mount, the init container's command, then `scepter`.

What must differ from a cluster is remapped, and printed: mount paths live
under a work directory, Service names become loopback addresses, the
listeners take free loopback ports, and the database is a fresh one on the
test PostgreSQL (scripts/services). Nothing else is changed.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import yaml

ROOT = Path(os.environ["DEPLOY_ROOT"])
WORK = Path(os.environ["DEPLOY_WORK"])
BINARY = os.environ["SCEPTER_BINARY"]
SCEPCLIENT = os.environ["SCEPCLIENT"]
DATABASE_SERVER = os.environ["SCEPTER_TEST_DATABASE_URL"]

results = []

# A test runner may start this script with signals blocked (a blocked mask is
# inherited through fork and exec): unblock them, so that SIGTERM reaches
# redis-server, haproxy and scepter as it would in a pod.
signal.pthread_sigmask(signal.SIG_SETMASK, set())
if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def result(ok, text):
    """One line of the run's summary (run.sh collects the RESULT lines)."""
    results.append(ok)
    print(f"RESULT {'PASS' if ok else 'FAIL'} {text}", flush=True)
    return ok


def say(text):
    print(f"   {text}", flush=True)


def free_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def http(url, method="GET", body=None, token=None, timeout=10):
    """(status, body bytes); never raises for an HTTP status."""
    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout) as error:
        return 0, str(error).encode()


def wait_until(what, predicate, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout} s")


def load_all(path):
    return [doc for doc in yaml.safe_load_all(Path(path).read_text()) if doc]


class Overlay:
    """The rendered overlay and the Secrets created for it."""

    def __init__(self, rendered, secrets):
        self.objects = load_all(rendered)
        self.secrets = {s["metadata"]["name"]: s for s in load_all(secrets) if s.get("kind") == "Secret"}
        self.configmaps = {c["metadata"]["name"]: c for c in self.objects if c["kind"] == "ConfigMap"}
        self.namespace = next(o["metadata"]["name"] for o in self.objects if o["kind"] == "Namespace")

    def workload(self, kind, name):
        return next(o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name)

    def services(self):
        return [o for o in self.objects if o["kind"] == "Service"]

    def secret_data(self, name, key):
        return base64.b64decode(self.secrets[name]["data"][key]).decode()


class Remap:
    """Cluster addresses and paths -> this machine's, applied to strings."""

    def __init__(self):
        self.addresses = {}  # "scepter-redis:6379" -> "127.0.0.1:41234"
        self.database = None  # (from name, to name)

    def text(self, value):
        for cluster, local in self.addresses.items():
            value = value.replace(f"//{cluster}/", f"//{local}/").replace(f"//{cluster}", f"//{local}")
            value = value.replace(f"@{cluster}/", f"@{local}/")
        if self.database and value.startswith("postgres"):
            value = re.sub(rf"/{re.escape(self.database[0])}(\?|$)", rf"/{self.database[1]}\1", value)
        return value

    def describe(self):
        lines = [f"{cluster} -> {local}" for cluster, local in self.addresses.items()]
        if self.database:
            server = DATABASE_SERVER.rsplit("@", 1)[-1].split("/", 1)[0]
            lines.append(f"database {self.database[0]} -> {self.database[1]} (on {server})")
        return lines


class Pod:
    """One pod of a workload as local files and processes."""

    def __init__(self, overlay, remap, workload, name):
        self.overlay, self.remap, self.workload, self.name = overlay, remap, workload, name
        self.spec = workload["spec"]["template"]["spec"]
        self.root = WORK / "pods" / name
        self.volumes = {}
        self.process = None
        self.log_path = self.root / "log"
        self.listen = None

    # -- volumes ----------------------------------------------------------
    def _write(self, directory, name, text, mode):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        # The kubelet gives a read-only volume's files the pod's fsGroup and
        # adds group read (0400 becomes 0440): emulate it.
        if self.spec.get("securityContext", {}).get("fsGroup") is not None:
            mode |= 0o440
        os.chmod(path, mode)

    def _secret(self, directory, secret_name, default_mode, items=None):
        secret = self.overlay.secrets.get(secret_name)
        if secret is None:
            raise RuntimeError(f"{self.name}: Secret {secret_name} was not created by docs/kubernetes.md")
        keys = [(i["key"], i["path"], i.get("mode", default_mode)) for i in items] if items else \
            [(k, k, default_mode) for k in secret["data"]]
        for key, path, mode in keys:
            text = self.remap.text(self.overlay.secret_data(secret_name, key))
            self._write(directory, path, text, mode)

    def materialize(self):
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        for volume in self.spec.get("volumes", []):
            directory = self.root / "volumes" / volume["name"]
            directory.mkdir(parents=True)
            if "secret" in volume:
                self._secret(directory, volume["secret"]["secretName"], volume["secret"].get("defaultMode", 0o644),
                             volume["secret"].get("items"))
            elif "projected" in volume:
                for source in volume["projected"]["sources"]:
                    self._secret(directory, source["secret"]["name"], volume["projected"].get("defaultMode", 0o644),
                                 source["secret"].get("items"))
            elif "emptyDir" in volume:
                os.chmod(directory, 0o777)
            else:
                raise RuntimeError(f"{self.name}: volume type of {volume['name']} not emulated")
            self.volumes[volume["name"]] = directory

    def path(self, container, value):
        """A path inside the container -> the file here (longest mount first)."""
        mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
        for mount in mounts:
            base = mount["mountPath"]
            if value == base or value.startswith(base + "/"):
                return str(self.volumes[mount["name"]]) + value[len(base):]
        return value

    # -- containers -------------------------------------------------------
    def run_init_containers(self):
        for container in self.spec.get("initContainers", []):
            argv = [self.path(container, a) for a in container.get("command", []) + container.get("args", [])]
            done = subprocess.run(argv, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{self.name}: init container {container['name']} failed: {done.stderr}")

    def environment(self, container, listen_port=None):
        env = {}
        for source in container.get("envFrom", []):
            env.update(self.overlay.configmaps[source["configMapRef"]["name"]]["data"])
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            else:
                field = variable["valueFrom"]["fieldRef"]["fieldPath"]
                env[variable["name"]] = {"metadata.name": self.name, "metadata.namespace": self.overlay.namespace}[field]
        for key, value in list(env.items()):
            value = self.remap.text(self.path(container, value))
            if key.endswith("_LISTEN"):
                value = f"127.0.0.1:{listen_port}"
            env[key] = value
        return env

    def start(self, container_name=None, restart=False):
        container = next(c for c in self.spec["containers"] if container_name in (None, c["name"]))
        if not restart:
            self.materialize()
            self.run_init_containers()
            self.listen = free_port()
        env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "TZ": "UTC"}
        env.update(self.environment(container, self.listen))
        self.env = env
        argv = [BINARY] + container.get("args", [])
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        wait_until(f"{self.name} listening", lambda: self._listening(), timeout=90)
        return self

    def _listening(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
        return b"listening on" in self.log_path.read_bytes()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.listen}{path}"

    def wait_ready(self, timeout=60):
        wait_until(f"{self.name} /readyz", lambda: http(self.url("/readyz"), timeout=3)[0] == 200, timeout=timeout)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, number):
        self.process.send_signal(number)

    def stop(self, timeout=40):
        """SIGTERM, then SIGKILL after `timeout`; the exit status (negative: a signal)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "killed after timeout"

    def rss_mib(self):
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
            return round(peak / 1024)
        except (OSError, AttributeError):
            return None


class Redis:
    """redis-server with the arguments of the overlay's Redis StatefulSet."""

    def __init__(self, overlay, remap):
        statefulset = overlay.workload("StatefulSet", "scepter-redis")
        self.container = statefulset["spec"]["template"]["spec"]["containers"][0]
        self.directory = WORK / "redis"
        self.port = free_port()
        self.process = None
        service = next(s for s in overlay.services() if s["metadata"]["name"] == "scepter-redis")
        remap.addresses[f"scepter-redis:{service['spec']['ports'][0]['port']}"] = f"127.0.0.1:{self.port}"

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        args = list(self.container["args"])
        mount = self.container["volumeMounts"][0]["mountPath"]
        args = [str(self.directory) if a == mount else a for a in args]
        self.args = args
        self.process = subprocess.Popen(
            ["redis-server"] + args + ["--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no"],
            stdout=open(self.directory / "log", "ab"), stderr=subprocess.STDOUT)
        wait_until("redis", lambda: self.cli("PING").strip() == "PONG", timeout=20)
        return self

    def cli(self, *command):
        done = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] + list(command),
                              capture_output=True, text=True)
        return done.stdout

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                say("redis-server ignored SIGTERM for 20 s; killing it")
                self.process.kill()
                self.process.wait()


class Database:
    """A fresh database on the test PostgreSQL, standing in for the overlay's StatefulSet."""

    def __init__(self, overlay, remap):
        self.name = f"deploy_{uuid.uuid4().hex[:8]}"
        server = re.match(r"postgres(?:ql)?://(?:[^@/]*@)?([^/]+)/", DATABASE_SERVER).group(1)
        service = next(s for s in overlay.services() if s["metadata"]["name"] == "scepter-postgres")
        remap.addresses[f"scepter-postgres:{service['spec']['ports'][0]['port']}"] = server
        url = overlay.secret_data("scepter-database", "database-url")
        remap.database = (re.search(r"/([^/?]+)(\?|$)", url.split("@", 1)[1]).group(1), self.name)

    def create(self):
        self.psql(f"CREATE DATABASE {self.name}")
        return self

    def url(self):
        return DATABASE_SERVER.rsplit("/", 1)[0] + "/" + self.name

    def psql(self, command, database=None):
        url = database or DATABASE_SERVER
        done = subprocess.run(["psql", url, "-Atq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", command],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr}")
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def query(self, command):
        return self.psql(command, database=self.url())

    def drop(self):
        try:
            self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except RuntimeError as error:
            say(f"could not drop {self.name}: {error}")


def enroll(url, challenge, common_name, key_out=None, cert_out=None, timeout=60):
    """micromdm's client; (ok, report dict or error text)."""
    argv = [SCEPCLIENT, "-url", url, "-challenge", challenge, "-cn", common_name, "-timeout", "30s"]
    if key_out:
        argv += ["-key-out", key_out]
    if cert_out:
        argv += ["-cert-out", cert_out]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return False, (done.stderr or done.stdout).strip()[-300:]
    return report.get("pkiStatus") == "SUCCESS", report


class Cluster:
    """Control plane and edges of the dev overlay, with their Redis and database."""

    def __init__(self, edges=2):
        self.overlay = Overlay(os.environ["DEPLOY_RENDERED"], os.environ["DEPLOY_SECRETS"])
        self.remap = Remap()
        self.redis = Redis(self.overlay, self.remap)
        self.database = Database(self.overlay, self.remap)
        control = self.overlay.workload("Deployment", "scepter-control")
        edge = self.overlay.workload("Deployment", "scepter-edge")
        self.control = Pod(self.overlay, self.remap, control, "scepter-control-6d5f8-local")
        self.edges = [Pod(self.overlay, self.remap, edge, f"scepter-edge-7c9b4-local{i + 1}") for i in range(edges)]

    def start(self):
        WORK.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.database.create()
        self.control.start()
        self.control.wait_ready()
        # The control plane's Service, as the edges' SCEPTER_CONTROL_URL names it.
        service = next(s for s in self.overlay.services() if s["metadata"]["name"] == "scepter-control")
        self.remap.addresses[f"scepter-control:{service['spec']['ports'][0]['port']}"] = f"127.0.0.1:{self.control.listen}"
        for edge in self.edges:
            edge.start()
        for edge in self.edges:
            edge.wait_ready()
        say("remapped: " + "; ".join(self.remap.describe()))

    @property
    def challenge(self):
        return self.overlay.secret_data("scepter-challenge", "corp-challenge").strip()

    def ca_pem(self):
        path = WORK / "ca.pem"
        path.write_text(self.overlay.secret_data("scepter-ca", "ca.pem"))
        return str(path)

    def stop(self):
        statuses = {}
        for pod in self.edges + [self.control]:
            statuses[pod.name] = pod.stop()
        self.redis.stop()
        self.database.drop()
        return statuses

    def logs(self):
        return "\n".join(f"--- {pod.name}\n{pod.log()[-4000:]}" for pod in [self.control] + self.edges)


class Load:
    """Workers enrolling through `url` until stopped; every attempt recorded."""

    def __init__(self, url, challenge, workers=3, prefix="load"):
        self.url, self.challenge, self.workers, self.prefix = url, challenge, workers, prefix
        self.attempts = []  # (start, end, ok, detail)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def _work(self, worker):
        count = 0
        while not self.stopping.is_set():
            count += 1
            started = time.monotonic()
            ok, report = enroll(self.url, self.challenge, f"{self.prefix}-{worker}-{count}")
            with self.lock:
                self.attempts.append((started, time.monotonic(), ok, report))

    def start(self):
        for worker in range(self.workers):
            thread = threading.Thread(target=self._work, args=(worker,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(90)

    def between(self, start, end):
        with self.lock:
            return [a for a in self.attempts if start <= a[0] < end]
