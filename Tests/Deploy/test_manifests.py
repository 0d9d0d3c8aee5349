"""What matters in the rendered manifests, checked against the objects
`kubectl kustomize` produced for every overlay and against Scepter's own
sources (the variables the binary reads, the routes it serves, the metrics
it exports).

    DEPLOY_RENDERED=<dir of overlay.yaml files> DEPLOY_ROOT=<repo> python -m unittest test_manifests
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

ROOT = Path(os.environ.get("DEPLOY_ROOT", Path(__file__).resolve().parents[2]))
RENDERED = Path(os.environ["DEPLOY_RENDERED"])
SOURCES = ROOT / "Sources"

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
SECRET_MODE = 0o400  # 256

# Variables whose value is a secret (configuration.md: owner-only _FILE);
# profile variables by suffix.
SECRET_VARIABLES = {
    "SCEPTER_EDGE_TOKEN", "SCEPTER_EDGE_TOKENS", "SCEPTER_ADMIN_TOKENS", "SCEPTER_VIEWER_TOKENS",
    "SCEPTER_DATABASE_URL", "SCEPTER_REDIS_URL",
}
SECRET_PROFILE_SUFFIXES = {"CHALLENGE_PASSWORD", "INTUNE_CLIENT_SECRET"}
# Private keys: paths, owner-only too.
KEY_PATH_SUFFIXES = {"RA_KEY_PATH", "CA_KEY_PATH", "INTUNE_CLIENT_KEY_PATH"}
# Which role reads which secret file and TLS key (docs/cluster.md §3).
EDGE_SECRETS = {"SCEPTER_EDGE_TOKEN_FILE", "SCEPTER_REDIS_URL_FILE", "SCEPTER_EDGE_TLS_KEY_PATH",
                "SCEPTER_EDGE_CLIENT_KEY_PATH"}
CONTROL_SECRETS = {
    "SCEPTER_EDGE_TOKEN_FILE", "SCEPTER_EDGE_TOKENS_FILE", "SCEPTER_REDIS_URL_FILE", "SCEPTER_DATABASE_URL_FILE",
    "SCEPTER_ADMIN_TOKENS_FILE", "SCEPTER_VIEWER_TOKENS_FILE", "SCEPTER_CONTROL_TLS_KEY_PATH",
}
# TLS files by the role that reads them (docs/configuration.md, TLS).
EDGE_TLS = {"SCEPTER_EDGE_TLS_CERT_PATH", "SCEPTER_EDGE_TLS_KEY_PATH", "SCEPTER_CONTROL_CA_PATH",
            "SCEPTER_EDGE_CLIENT_CERT_PATH", "SCEPTER_EDGE_CLIENT_KEY_PATH"}
CONTROL_TLS = {"SCEPTER_CONTROL_TLS_CERT_PATH", "SCEPTER_CONTROL_TLS_KEY_PATH", "SCEPTER_CONTROL_CLIENT_CA_PATH"}


def load(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


OVERLAYS = {path.stem: load(path) for path in sorted(RENDERED.glob("*.yaml"))}


def objects(overlay, kind=None):
    return [o for o in OVERLAYS[overlay] if kind is None or o["kind"] == kind]


def named(overlay, kind, name):
    found = [o for o in objects(overlay, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(workload):
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workloads(overlay):
    return [o for o in OVERLAYS[overlay] if o["kind"] in WORKLOAD_KINDS]


def all_containers(spec):
    return [("init", c) for c in spec.get("initContainers", [])] + [("container", c) for c in spec["containers"]]


def configmap(overlay):
    maps = [o for o in objects(overlay, "ConfigMap") if o["metadata"]["name"].startswith("scepter")]
    assert len(maps) == 1, f"{overlay}: one Scepter ConfigMap expected, found {len(maps)}"
    return maps[0]


def scepter_workload(overlay, role):
    return named(overlay, "Deployment", f"scepter-{role}")


def main_container(overlay, role):
    spec = pod_spec(scepter_workload(overlay, role))
    return next(c for c in spec["containers"] if c["name"] == role)


def environment(overlay, role):
    """What the role's main container sees: the ConfigMap, then its own `env`
    (which wins); an empty value means unset to Scepter, so it is dropped."""
    values = dict(configmap(overlay)["data"])
    for variable in main_container(overlay, role).get("env", []):
        values[variable["name"]] = variable["value"] if "value" in variable else "(from the pod)"
    return {key: value for key, value in values.items() if value != ""}


def copied_files(overlay, role):
    """Paths the role's init container writes owner-only (install -m 0400 -t DIR FILES)."""
    init = next(c for c in pod_spec(scepter_workload(overlay, role))["initContainers"] if c["name"] == "secrets")
    target = init["command"][init["command"].index("-t") + 1]
    return {f"{target}/{Path(source).name}" for source in init["args"]}


def projected_item_paths(overlay, role):
    """File names the Secret volumes of the role's pod map keys to (`items`)."""
    paths = set()
    for volume in pod_spec(scepter_workload(overlay, role)).get("volumes", []):
        for source in (volume.get("projected") or {}).get("sources", []):
            paths.update(item["path"] for item in (source.get("secret") or {}).get("items", []))
        paths.update(item["path"] for item in (volume.get("secret") or {}).get("items", []))
    return paths


def duration_seconds(text):
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1].lower()]


def swift_sources(directory):
    """Swift files with comment lines removed."""
    for path in sorted(directory.rglob("*.swift")):
        lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")]
        yield path, "\n".join(lines)


def variables_the_binary_reads():
    """Names the binary reads, from the string literals of Sources/: whole
    names ("SCEPTER_EDGE_TOKEN"), and the suffixes appended to the per-profile
    and per-issuer prefixes ("SCEPTER_PROFILE_<NAME>_" + "RA_KEY_PATH"),
    attributed to the family of the prefix in scope. Also which names are
    read only from the raw environment (no _FILE variant)."""
    names, raw_only_candidates, file_capable = set(), set(), set()
    families = {"PROFILE": set(), "ISSUER": set()}
    for _, text in swift_sources(SOURCES):
        for match in re.finditer(r'"(SCEPTER_[A-Z0-9_]*[A-Z0-9])"', text):
            names.add(match.group(1))
        for match in re.finditer(r'environment\["(SCEPTER_[A-Z0-9_]+)"\]', text):
            raw_only_candidates.add(match.group(1))
        for match in re.finditer(r'(?<!environment\[)"(SCEPTER_[A-Z0-9_]+)"', text):
            file_capable.add(match.group(1))
        for match in re.finditer(r'"SCEPTER_(PROFILE|ISSUER)_\\\([^"]*?\)_([A-Z0-9_]+)"', text):
            families[match.group(1)].add(match.group(2))
        # Suffixes: `prefix + "X"` and the lists iterated as `prefix + variable`.
        scope, depth = [], 0
        for index, char in enumerate(text):
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                while scope and scope[-1][1] > depth:
                    scope.pop()
            elif text.startswith("let prefix = \"SCEPTER_", index):
                family = "ISSUER" if text.startswith("let prefix = \"SCEPTER_ISSUER_", index) else "PROFILE"
                scope.append((family, depth))
            elif text.startswith("prefix + \"", index):
                suffix = re.match(r'prefix \+ "([A-Z0-9_]+)"', text[index:]).group(1)
                families[scope[-1][0] if scope else "PROFILE"].add(suffix)
            elif text.startswith("for variable in [", index):
                block = text[index:text.index("]", index)]
                following = text[index:index + 600]
                if "prefix + variable" in following:
                    family = scope[-1][0] if scope else "PROFILE"
                    families[family].update(re.findall(r'"([A-Z0-9_]+)"', block))
    raw_only = raw_only_candidates - file_capable
    return names, families, raw_only


def routes(directory):
    found = set()
    for _, text in swift_sources(directory):
        found.update(re.findall(r'router\.get\("(/[^"]*)"', text))
    return found


def metric_names():
    """scepter_<name>_<unit> of every MetricNameDescriptor in Sources/."""
    found = set()
    for _, text in swift_sources(SOURCES):
        for metric, unit in re.findall(r'named\("([a-z_]+)", "([a-z_]*)"', text):
            found.add("scepter_" + metric + ("_" + unit if unit else ""))
        for metric, unit in re.findall(r'metricName: "([a-z_]+)", unitName: "([a-z_]*)"', text):
            found.add("scepter_" + metric + ("_" + unit if unit else ""))
    return found


class Rendering(unittest.TestCase):
    def test_every_overlay_rendered(self):
        self.assertEqual(sorted(OVERLAYS), ["dev", "production"])
        for overlay, objs in OVERLAYS.items():
            kinds = {o["kind"] for o in objs}
            for kind in ["Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
                         "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"]:
                self.assertIn(kind, kinds, f"{overlay} renders no {kind}")
            namespaces = {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"}
            self.assertEqual(len(namespaces), 1, f"{overlay}: everything in one namespace, got {namespaces}")
            self.assertNotIn(None, namespaces)

    def test_namespace_enforces_restricted(self):
        for overlay in OVERLAYS:
            namespace = objects(overlay, "Namespace")[0]
            self.assertEqual(namespace["metadata"]["labels"].get("pod-security.kubernetes.io/enforce"), "restricted")

    def test_no_secret_object_in_the_manifests(self):
        # Secrets are created by the operator (docs/kubernetes.md §3), never committed.
        for overlay in OVERLAYS:
            self.assertEqual(objects(overlay, "Secret"), [], overlay)

    def test_checkov_skips_give_a_reason(self):
        for overlay in OVERLAYS:
            for obj in OVERLAYS[overlay]:
                for key, value in (obj["metadata"].get("annotations") or {}).items():
                    if key.startswith("checkov.io/skip"):
                        check, _, reason = value.partition("=")
                        self.assertRegex(check, r"^CKV2?_K8S_\d+$", f"{obj['metadata']['name']}: {key}")
                        self.assertGreater(len(reason.split()), 8, f"{obj['metadata']['name']}: {key} needs a reason")


class SecurityContext(unittest.TestCase):
    def test_every_container_restricted_at_container_level(self):
        checked = 0
        for overlay in OVERLAYS:
            for workload in workloads(overlay):
                spec = pod_spec(workload)
                where = f"{overlay} {workload['kind']} {workload['metadata']['name']}"
                for flag in ["hostNetwork", "hostPID", "hostIPC"]:
                    self.assertFalse(spec.get(flag, False), f"{where}: {flag}")
                self.assertIs(spec.get("automountServiceAccountToken"), False, f"{where}: automountServiceAccountToken")
                for kind, container in all_containers(spec):
                    name = f"{where} {kind} {container['name']}"
                    context = container.get("securityContext") or {}
                    self.assertIs(context.get("runAsNonRoot"), True, f"{name}: runAsNonRoot")
                    self.assertIs(context.get("allowPrivilegeEscalation"), False, f"{name}: allowPrivilegeEscalation")
                    self.assertIs(context.get("readOnlyRootFilesystem"), True, f"{name}: readOnlyRootFilesystem")
                    self.assertNotEqual(context.get("privileged"), True, f"{name}: privileged")
                    capabilities = context.get("capabilities") or {}
                    self.assertEqual(capabilities.get("drop"), ["ALL"], f"{name}: capabilities.drop")
                    self.assertFalse(capabilities.get("add"), f"{name}: capabilities.add")
                    self.assertEqual((context.get("seccompProfile") or {}).get("type"), "RuntimeDefault", f"{name}: seccomp")
                    self.assertGreaterEqual(context.get("runAsUser", 10000), 10000, f"{name}: runAsUser")
                    resources = container.get("resources") or {}
                    for part in ["requests", "limits"]:
                        for resource in ["cpu", "memory"]:
                            self.assertIn(resource, resources.get(part) or {}, f"{name}: {part}.{resource}")
                    checked += 1
        self.assertGreaterEqual(checked, 10)

    def test_scepter_runs_as_the_image_user(self):
        for overlay in OVERLAYS:
            for role in ["edge", "control"]:
                for _, container in all_containers(pod_spec(scepter_workload(overlay, role))):
                    self.assertEqual(container["securityContext"]["runAsUser"], 10001)


class Secrets(unittest.TestCase):
    def test_secret_volumes_are_0400(self):
        found = 0
        for overlay in OVERLAYS:
            for workload in workloads(overlay):
                for volume in pod_spec(workload).get("volumes", []):
                    where = f"{overlay} {workload['metadata']['name']} volume {volume['name']}"
                    if "secret" in volume:
                        found += 1
                        self.assertEqual(volume["secret"].get("defaultMode"), SECRET_MODE, where)
                        for item in volume["secret"].get("items", []):
                            self.assertEqual(item.get("mode", SECRET_MODE), SECRET_MODE, where)
                    if "projected" in volume:
                        sources = volume["projected"]["sources"]
                        if any("secret" in s for s in sources):
                            found += 1
                            self.assertEqual(volume["projected"].get("defaultMode"), SECRET_MODE, where)
                        for source in sources:
                            for item in (source.get("secret") or {}).get("items", []):
                                self.assertEqual(item.get("mode", SECRET_MODE), SECRET_MODE, where)
                    if "configMap" in volume:
                        self.fail(f"{where}: secrets and bundles come from Secrets here, not ConfigMaps")
        self.assertGreaterEqual(found, 6)

    def test_no_environment_variable_carries_a_secret(self):
        for overlay in OVERLAYS:
            data = configmap(overlay)["data"]
            for key, value in data.items():
                base = key[:-len("_FILE")] if key.endswith("_FILE") else key
                suffix_secret = any(base.endswith("_" + s) for s in SECRET_PROFILE_SUFFIXES)
                if base in SECRET_VARIABLES or suffix_secret:
                    self.assertTrue(key.endswith("_FILE"), f"{overlay}: {key} holds a secret; use {key}_FILE")
                self.assertNotRegex(value, r"://[^/@\s]*:[^/@\s]*@", f"{overlay}: {key} holds credentials")
                self.assertNotIn("BEGIN", value, f"{overlay}: {key} holds PEM")
            for workload in workloads(overlay):
                for _, container in all_containers(pod_spec(workload)):
                    where = f"{overlay} {workload['metadata']['name']} {container['name']}"
                    for source in container.get("envFrom", []):
                        self.assertNotIn("secretRef", source, f"{where}: envFrom a Secret")
                    for variable in container.get("env", []):
                        self.assertNotIn("secretKeyRef", variable.get("valueFrom") or {}, f"{where}: {variable['name']}")
                        if re.search(r"PASSWORD|TOKEN|SECRET|_URL$|_KEY$", variable["name"]):
                            self.assertTrue(variable["name"].endswith("_FILE"), f"{where}: {variable['name']}")

    def test_secret_files_are_owner_only_copies(self):
        """Scepter refuses a secret file group can read, and the kubelet makes
        Secret files group-readable (fsGroup): every secret _FILE and key path
        a role reads must be a copy the init container makes with mode 0400."""
        for overlay in OVERLAYS:
            data = configmap(overlay)["data"]
            profiles = [p.strip().upper().replace("-", "_") for p in data["SCEPTER_PROFILES"].split(",")]
            issuers = [i.strip().upper().replace("-", "_") for i in data.get("SCEPTER_ISSUERS", "").split(",") if i]
            checked = 0
            wanted = {
                "edge": set(EDGE_SECRETS) | {f"SCEPTER_PROFILE_{p}_{s}" for p in profiles
                                             for s in ["RA_KEY_PATH", "CHALLENGE_PASSWORD_FILE"]},
                "control": set(CONTROL_SECRETS) | {f"SCEPTER_ISSUER_{i}_CA_KEY_PATH" for i in issuers}
                | {f"SCEPTER_PROFILE_{p}_{s}" for p in profiles
                   for s in ["INTUNE_CLIENT_SECRET_FILE", "INTUNE_CLIENT_KEY_PATH"]},
            }
            for role, variables in wanted.items():
                spec = pod_spec(scepter_workload(overlay, role))
                init = next(c for c in spec["initContainers"] if c["name"] == "secrets")
                self.assertEqual(init["command"][:3], ["install", "-m", "0400"], f"{overlay} {role}")
                copied = copied_files(overlay, role)
                env = environment(overlay, role)
                for variable in variables:
                    if variable in env:
                        checked += 1
                        self.assertIn(env[variable], copied, f"{overlay} {role}: {variable} is not an owner-only copy")
                self.assertIs(spec["securityContext"].get("fsGroup") is not None, True)
            self.assertGreaterEqual(checked, 8, f"{overlay}: too few secret files found to check")


class Scaling(unittest.TestCase):
    def test_edge_has_hpa_and_pdb(self):
        for overlay in OVERLAYS:
            hpa = named(overlay, "HorizontalPodAutoscaler", "scepter-edge")
            self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
            self.assertEqual(hpa["spec"]["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scepter-edge"})
            self.assertEqual(hpa["spec"]["metrics"][0]["resource"]["name"], "cpu")
            self.assertGreater(hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 0)
            self.assertGreaterEqual(hpa["spec"]["maxReplicas"], hpa["spec"]["minReplicas"])
            self.assertNotIn("replicas", scepter_workload(overlay, "edge")["spec"], "the HPA owns the edge count")
            for role in ["edge", "control"]:
                pdb = named(overlay, "PodDisruptionBudget", f"scepter-{role}")
                labels = scepter_workload(overlay, role)["spec"]["template"]["metadata"]["labels"]
                for key, value in pdb["spec"]["selector"]["matchLabels"].items():
                    self.assertEqual(labels.get(key), value, f"{overlay}: PDB scepter-{role} selects its pods")
        production = named("production", "HorizontalPodAutoscaler", "scepter-edge")["spec"]
        self.assertGreaterEqual(production["minReplicas"], 3)
        self.assertEqual(production["maxReplicas"], 50)
        self.assertGreaterEqual(scepter_workload("production", "control")["spec"]["replicas"], 2)

    def test_topology_spread_across_zones_and_nodes(self):
        for overlay in OVERLAYS:
            for role in ["edge", "control"]:
                template = scepter_workload(overlay, role)["spec"]["template"]
                constraints = template["spec"]["topologySpreadConstraints"]
                self.assertEqual({c["topologyKey"] for c in constraints}, {"topology.kubernetes.io/zone", "kubernetes.io/hostname"})
                for constraint in constraints:
                    for key, value in constraint["labelSelector"]["matchLabels"].items():
                        self.assertEqual(template["metadata"]["labels"].get(key), value)

    def test_termination_outlasts_prestop_and_shutdown_grace(self):
        for overlay in OVERLAYS:
            grace = duration_seconds(configmap(overlay)["data"].get("SCEPTER_SHUTDOWN_GRACE", "25s"))
            for role in ["edge", "control"]:
                spec = pod_spec(scepter_workload(overlay, role))
                container = main_container(overlay, role)
                pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
                # The kubelet counts preStop in the grace period; Scepter cancels 5 s after its grace.
                self.assertGreater(spec["terminationGracePeriodSeconds"], pre_stop + grace + 5, f"{overlay} {role}")
            self.assertGreaterEqual(main_container(overlay, "edge")["lifecycle"]["preStop"]["sleep"]["seconds"], 5)


class Network(unittest.TestCase):
    def policies(self, overlay):
        return objects(overlay, "NetworkPolicy")

    def selects(self, policy, labels):
        selector = policy["spec"]["podSelector"].get("matchLabels") or {}
        return all(labels.get(k) == v for k, v in selector.items())

    def test_network_policies(self):
        for overlay in OVERLAYS:
            policies = self.policies(overlay)
            deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")
                    and not p["spec"].get("egress") and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}]
            self.assertEqual(len(deny), 1, f"{overlay}: one default-deny policy")
            edge_labels = scepter_workload(overlay, "edge")["spec"]["template"]["metadata"]["labels"]
            control_labels = scepter_workload(overlay, "control")["spec"]["template"]["metadata"]["labels"]
            edge_in = [rule for p in policies if self.selects(p, edge_labels) for rule in p["spec"].get("ingress", [])]
            self.assertIn(8080, [port["port"] for rule in edge_in for port in rule.get("ports", [])])
            edge_out = [rule for p in policies if self.selects(p, edge_labels) for rule in p["spec"].get("egress", [])]
            control_out = [rule for p in policies if self.selects(p, control_labels) for rule in p["spec"].get("egress", [])]
            self.assertTrue(any(
                any((peer.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "control"
                    for peer in rule.get("to", []))
                and 9000 in [port["port"] for port in rule.get("ports", [])] for rule in edge_out), f"{overlay}: edge -> control")
            for rules, port, what in [(edge_out, 6379, "edge -> Redis"), (control_out, 6379, "control -> Redis"),
                                      (control_out, 5432, "control -> PostgreSQL"), (control_out, 443, "control -> HTTPS"),
                                      (edge_out, 53, "edge -> DNS"), (control_out, 53, "control -> DNS")]:
                self.assertIn(port, [p["port"] for rule in rules for p in rule.get("ports", [])], f"{overlay}: {what}")
            control_in = [rule for p in policies if self.selects(p, control_labels) for rule in p["spec"].get("ingress", [])]
            sources = [peer for rule in control_in for peer in rule.get("from", [])]
            self.assertIn({"podSelector": {"matchLabels": {k: edge_labels[k] for k in ["app.kubernetes.io/name", "app.kubernetes.io/component"]}}},
                          sources, f"{overlay}: edges reach the control plane")
            self.assertIn("monitoring", [(peer.get("namespaceSelector") or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                                         for peer in sources], f"{overlay}: Prometheus scrapes the control plane")
            # Every workload is selected by a policy that lets something in or out.
            for workload in workloads(overlay):
                labels = workload["spec"]["template"]["metadata"]["labels"]
                allowing = [p for p in policies if p["spec"]["podSelector"].get("matchLabels") and self.selects(p, labels)]
                self.assertTrue(allowing, f"{overlay}: no policy for {workload['metadata']['name']}")


class Probes(unittest.TestCase):
    def test_probe_paths_exist_on_the_server(self):
        served = {"edge": routes(SOURCES / "Edge" / "HTTP"), "control": routes(SOURCES / "Control")}
        self.assertTrue({"/healthz", "/readyz", "/metrics"} <= served["edge"], served["edge"])
        self.assertTrue({"/healthz", "/readyz", "/metrics"} <= served["control"], served["control"])
        for overlay in OVERLAYS:
            for role in ["edge", "control"]:
                container = main_container(overlay, role)
                ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                listen = configmap(overlay)["data"][f"SCEPTER_{role.upper()}_LISTEN"]
                self.assertEqual(int(listen.rsplit(":", 1)[1]), ports["http"], f"{overlay} {role}: the port it listens on")
                for probe, path in [("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
                    get = container[probe]["httpGet"]
                    self.assertEqual(get["path"], path, f"{overlay} {role} {probe}")
                    self.assertIn(get["path"], served[role])
                    self.assertIn(get["port"], ports)
                annotations = scepter_workload(overlay, role)["spec"]["template"]["metadata"]["annotations"]
                self.assertIn(annotations["prometheus.io/path"], served[role])
                self.assertEqual(int(annotations["prometheus.io/port"]), ports["http"])
                # The control plane may take 60 s of migration retries before it listens.
                startup = container["startupProbe"]
                if role == "control":
                    self.assertGreater(startup["periodSeconds"] * startup["failureThreshold"], 60)

    def test_services_reach_their_pods(self):
        for overlay in OVERLAYS:
            for service in objects(overlay, "Service"):
                selector = service["spec"]["selector"]
                matches = [w for w in workloads(overlay)
                           if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())]
                self.assertEqual(len(matches), 1, f"{overlay}: Service {service['metadata']['name']}")
                names = {p.get("name") for c in pod_spec(matches[0])["containers"] for p in c.get("ports", [])}
                for port in service["spec"]["ports"]:
                    self.assertIn(port["targetPort"], names)
            control_url = environment(overlay, "edge")["SCEPTER_CONTROL_URL"]
            service = named(overlay, "Service", "scepter-control")
            self.assertRegex(control_url, rf"^https?://scepter-control:{service['spec']['ports'][0]['port']}$")


class Configuration(unittest.TestCase):
    def test_every_configmap_variable_is_read_by_the_binary(self):
        names, families, raw_only = variables_the_binary_reads()
        self.assertIn("SCEPTER_EDGE_TOKEN", names)
        self.assertIn("RA_KEY_PATH", families["PROFILE"])
        self.assertIn("CA_KEY_PATH", families["ISSUER"])
        self.assertNotIn("CA_KEY_PATH", families["PROFILE"])
        for overlay in OVERLAYS:
            data = dict(configmap(overlay)["data"])
            for workload in [scepter_workload(overlay, r) for r in ["edge", "control"]]:
                for variable in main_container(overlay, workload["metadata"]["name"].split("-")[1]).get("env", []):
                    data[variable["name"]] = "(from the pod)"
            profiles = [p.strip().upper().replace("-", "_") for p in data["SCEPTER_PROFILES"].split(",")]
            issuers = [i.strip().upper().replace("-", "_") for i in data.get("SCEPTER_ISSUERS", "").split(",") if i]
            for key in data:
                self.assertTrue(key.startswith("SCEPTER_"), f"{overlay}: {key} is not a Scepter variable")
                base = key
                if key.endswith("_FILE"):
                    base = key[:-len("_FILE")]
                    self.assertNotIn(base, raw_only, f"{overlay}: {base} has no _FILE variant")
                if base in names:
                    continue
                match = re.match(r"SCEPTER_(PROFILE|ISSUER)_(.+)$", base)
                self.assertIsNotNone(match, f"{overlay}: the binary does not read {key}")
                family, rest = match.groups()
                known = profiles if family == "PROFILE" else issuers
                owner = next((n for n in known if rest.startswith(n + "_")), None)
                self.assertIsNotNone(owner, f"{overlay}: {key} names no {family.lower()} of SCEPTER_{family}S")
                self.assertIn(rest[len(owner) + 1:], families[family], f"{overlay}: the binary does not read {key}")

    def test_secret_file_paths_are_mounted(self):
        for overlay in OVERLAYS:
            data = configmap(overlay)["data"]
            for role in ["edge", "control"]:
                spec = pod_spec(scepter_workload(overlay, role))
                mounts = [m["mountPath"] for m in main_container(overlay, role)["volumeMounts"]]
                volumes = {v["name"] for v in spec["volumes"]}
                for _, container in all_containers(spec):
                    for mount in container.get("volumeMounts", []):
                        self.assertIn(mount["name"], volumes)
                for key, value in data.items():
                    if value.startswith("/etc/scepter/") or value.startswith("/run/scepter/"):
                        self.assertTrue(any(value.startswith(m + "/") for m in mounts) or role not in self.readers(key),
                                        f"{overlay} {role}: {key}={value} is on no mount")

    @staticmethod
    def readers(key):
        if key.startswith("SCEPTER_ISSUER_") or key in CONTROL_SECRETS - EDGE_SECRETS:
            return {"control"}
        if key.endswith("_RA_CERT_PATH") or key.endswith("_RA_KEY_PATH") or "CONNECTOR" in key or "CHALLENGE_PASSWORD" in key:
            return {"edge"}
        return {"edge", "control"}

    def test_images_pinned(self):
        for overlay in OVERLAYS:
            images = set()
            for role in ["edge", "control"]:
                for _, container in all_containers(pod_spec(scepter_workload(overlay, role))):
                    images.add(container["image"])
            self.assertEqual(len(images), 1, f"{overlay}: one Scepter image for every role, got {images}")
            for workload in workloads(overlay):
                for _, container in all_containers(pod_spec(workload)):
                    image = container["image"]
                    self.assertRegex(image, r"(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$", image)
                    self.assertFalse(image.endswith(":latest"), image)


class ImagePinning(unittest.TestCase):
    def test_digest_in_the_overlay_reaches_every_scepter_container(self):
        """docs/kubernetes.md §3: the overlay's `images:` entry set to a digest
        (what `kustomize edit set image scepter=…@sha256:…` writes there) is
        the image of every Scepter container. While the base renamed the
        image, the overlay's entry matched nothing and the tag stayed."""
        digest = "sha256:" + "ab" * 32
        for overlay in ["dev", "production"]:
            with tempfile.TemporaryDirectory() as work:
                copy = Path(work) / "k8s"
                shutil.copytree(ROOT / "deploy" / "k8s", copy)
                path = copy / "overlays" / overlay / "kustomization.yaml"
                document = yaml.safe_load(path.read_text())
                entries = [entry for entry in document.get("images", []) if entry["name"] == "scepter"]
                self.assertEqual(len(entries), 1, f"{overlay}: one images entry named scepter")
                entries[0].pop("newTag", None)
                entries[0]["digest"] = digest
                path.write_text(yaml.safe_dump(document, sort_keys=False))
                done = subprocess.run(["kubectl", "kustomize", str(copy / "overlays" / overlay)],
                                      capture_output=True, text=True, timeout=120)
                self.assertEqual(done.returncode, 0, done.stderr)
                rendered = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
                images = {container["image"]
                          for workload in rendered if workload.get("kind") in WORKLOAD_KINDS
                          for _, container in all_containers(pod_spec(workload))
                          if "scepter" in container["image"]}
                self.assertEqual(images, {"registry.example.com/scepter@" + digest}, overlay)


class TLS(unittest.TestCase):
    """What the edges expect of the control plane's listener is what it
    serves, every TLS file a role reads reaches it, and the probes, the
    scrape and the publication Ingress speak the listener's scheme."""

    def test_edges_and_control_plane_agree(self):
        for overlay in OVERLAYS:
            edge, control = environment(overlay, "edge"), environment(overlay, "control")
            https = edge["SCEPTER_CONTROL_URL"].startswith("https://")
            serves_tls = "SCEPTER_CONTROL_TLS_CERT_PATH" in control
            self.assertEqual(https, serves_tls, f"{overlay}: the edges' URL scheme and the control plane's listener")
            self.assertEqual(serves_tls, "SCEPTER_CONTROL_TLS_KEY_PATH" in control, f"{overlay}: certificate and key")
            if not https:
                self.assertFalse({"SCEPTER_CONTROL_CA_PATH", "SCEPTER_EDGE_CLIENT_CERT_PATH"} & set(edge),
                                 f"{overlay}: client TLS settings without https stop the edge")
                self.assertNotIn("SCEPTER_CONTROL_CLIENT_CA_PATH", control, f"{overlay}: mutual TLS without TLS")
            mutual = "SCEPTER_CONTROL_CLIENT_CA_PATH" in control
            self.assertEqual(mutual, "SCEPTER_EDGE_CLIENT_CERT_PATH" in edge, f"{overlay}: mutual TLS on one side only")
            self.assertEqual(mutual, "SCEPTER_EDGE_CLIENT_KEY_PATH" in edge, f"{overlay}: client certificate and key")
            container = main_container(overlay, "control")
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
                self.assertEqual(container[probe]["httpGet"].get("scheme", "HTTP"), "HTTPS" if serves_tls else "HTTP",
                                 f"{overlay} control {probe}")
            annotations = scepter_workload(overlay, "control")["spec"]["template"]["metadata"]["annotations"]
            self.assertEqual(annotations.get("prometheus.io/scheme", "http"), "https" if serves_tls else "http", overlay)
            for ingress in objects(overlay, "Ingress"):
                backends = {path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"]
                            for path in rule["http"]["paths"]}
                if "scepter-control" in backends:
                    protocol = (ingress["metadata"].get("annotations") or {}).get(
                        "nginx.ingress.kubernetes.io/backend-protocol", "HTTP")
                    self.assertEqual(protocol, "HTTPS" if serves_tls else "HTTP", f"{overlay}: {ingress['metadata']['name']}")

    def test_tls_files_reach_the_role_that_reads_them(self):
        for overlay in OVERLAYS:
            for role, variables in [("edge", EDGE_TLS), ("control", CONTROL_TLS)]:
                env = environment(overlay, role)
                items = projected_item_paths(overlay, role)
                copied = copied_files(overlay, role)
                for variable in variables & set(env):
                    path = env[variable]
                    self.assertIn(Path(path).name, items, f"{overlay} {role}: {variable}={path} comes from no Secret key")
                    if variable.endswith("_CERT_PATH"):
                        # Copied with its key, so the pair read at a container restart matches.
                        key = env.get(variable.replace("_CERT_PATH", "_KEY_PATH"))
                        self.assertIsNotNone(key, f"{overlay} {role}: {variable} without its key")
                        self.assertEqual(path in copied, key in copied, f"{overlay} {role}: {variable} and its key")

    def test_production_settings(self):
        """The settings docs/security.md's checklist asks of production."""
        control, edge = environment("production", "control"), environment("production", "edge")
        self.assertTrue(edge["SCEPTER_CONTROL_URL"].startswith("https://"))
        self.assertIn("SCEPTER_CONTROL_CLIENT_CA_PATH", control)
        self.assertIn("SCEPTER_EDGE_TOKENS_FILE", control)
        self.assertNotIn("SCEPTER_EDGE_TOKEN_FILE", control, "the control plane takes the list, so tokens rotate")
        self.assertIn("SCEPTER_TRUSTED_PROXIES", edge)
        self.assertIn("SCEPTER_REDIS_CA_PATH", edge)
        self.assertIn("SCEPTER_PUBLIC_URL", control)
        self.assertEqual(control["SCEPTER_LOG_FORMAT"], "json")
        # Only named namespaces reach the edges, so only they can write the X-Forwarded-For that is believed.
        policy = named("production", "NetworkPolicy", "scepter-edge")
        for rule in policy["spec"]["ingress"]:
            self.assertTrue(rule.get("from"), "production edges admit only the ingress controller and Prometheus")
            for peer in rule["from"]:
                self.assertIn("namespaceSelector", peer)


class HAProxy(unittest.TestCase):
    def test_forwards_the_client_address(self):
        config = (ROOT / "deploy/haproxy/haproxy.cfg").read_text()
        frontend = config.split("frontend scep", 1)[1].split("\nbackend ", 1)[0]
        self.assertRegex(frontend, r"(?m)^\s+option forwardfor\b", "edges need X-Forwarded-For for SCEPTER_TRUSTED_PROXIES")


class Monitoring(unittest.TestCase):
    def test_alerts_use_metrics_the_binary_exports(self):
        exported = metric_names()
        self.assertIn("scepter_enrollments_total", exported)
        rule = yaml.safe_load((ROOT / "deploy/k8s/monitoring/prometheusrule.yaml").read_text())
        alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
        for required in ["ScepterTrustAnchorExpiresSoon", "ScepterAuditEventsLost", "ScepterEdgeNotReady",
                         "ScepterIntuneBreakerOpen", "ScepterEnrollmentErrorRatio"]:
            self.assertIn(required, alerts)
        # As the console's amber badge.
        self.assertIn("30 * 86400", alerts["ScepterTrustAnchorExpiresSoon"])
        for name, expr in alerts.items():
            for metric in re.findall(r"\bscepter_[a-z_]+", expr):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                self.assertIn(base, exported, f"{name}: {metric} is not a metric Scepter exports")

    def test_alerts_name_outcome_labels_that_exist(self):
        source = (ROOT / "Sources/Protocol/Outcome/Outcome.swift").read_text().split("enum FailInfo", 1)[0]
        labels = {quoted or bare for bare, quoted in re.findall(r'(?m)^\s+case (\w+)(?: = "(\w+)")?$', source)}
        self.assertIn("signature_invalid", labels)
        rule = yaml.safe_load((ROOT / "deploy/k8s/monitoring/prometheusrule.yaml").read_text())
        for group in rule["spec"]["groups"]:
            for alert in group["rules"]:
                for matcher in re.findall(r'outcome(?:=|!)~?"([^"]+)"', alert["expr"]):
                    for label in matcher.split("|"):
                        self.assertIn(label, labels, f"{alert['alert']}: outcome {label} is not a label Scepter records")


if __name__ == "__main__":
    unittest.main()
