"""The Helm chart (deploy/helm/kaigo-bridge), rendered without helm, holds together.

helm is not installed here, so tests/support/helm_template.py renders the chart (it knows exactly
the template subset the chart uses and refuses anything else). With the default values this test
checks that every manifest parses; the kinds; that the probes are gRPC health probes on the port
of server.health_listen (the gRPC listener itself requires client certificates); resources and the
pod's security settings; that every ConfigMap and Secret the Deployment mounts is rendered here or
named in values as existing; that the default configuration is the hosted example; and, with the
engine built (KAIGO_BUILD_DIR, as ctest sets it), that /etc/kaigo-bridge laid out from the
projected volume — ConfigMap files, Secret keys as stand-ins — passes `kaigo-bridge check-config
--root`, and that a Secret key the chart did not mount is named by check-config.

Not checked here: real helm rendering (anything outside the subset), the Kubernetes API's own
validation, a real cluster, the probes against a live pod, and the container image.

Run: KAIGO_BUILD_DIR=build python3 tests/helm_chart_test.py [-v]
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "support"))
import helm_template  # noqa: E402

SOURCE = os.environ.get("KAIGO_SOURCE_DIR", os.path.dirname(HERE))
CHART = os.path.join(SOURCE, "deploy", "helm", "kaigo-bridge")
HOSTED = os.path.join(SOURCE, "deploy", "offices", "hosted")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def render(values=None):
    """The chart's manifests as parsed documents, by kind (one of each kind here)."""
    chart = helm_template.Chart(CHART)
    docs = {}
    for name, text in chart.render(release="kb", values=values).items():
        for doc in yaml.safe_load_all(text):
            if doc is None:
                continue
            assert doc.get("kind") not in docs, f"{name}: a second {doc.get('kind')}"
            doc["__source__"] = name
            docs[doc["kind"]] = doc
    return chart, docs


def host_port(listen):
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class RenderedChartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chart, cls.docs = render()
        cls.values = cls.chart.values
        cls.deployment = cls.docs["Deployment"]
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        (cls.container,) = cls.pod["containers"]
        cls.config_map = cls.docs["ConfigMap"]
        cls.engine = yaml.safe_load(cls.config_map["data"]["engine.yaml"])

    def test_chart_metadata(self):
        self.assertEqual(self.chart.meta["apiVersion"], "v2")
        self.assertEqual(self.chart.meta["name"], os.path.basename(CHART))
        self.assertRegex(self.chart.meta["version"], r"^\d+\.\d+\.\d+$")

    def test_kinds(self):
        self.assertEqual(sorted(self.docs), ["ConfigMap", "Deployment", "PodDisruptionBudget",
                                             "Service", "ServiceAccount"])
        for doc in self.docs.values():
            self.assertTrue(doc["metadata"]["name"].startswith("kb-kaigo-bridge"), doc["kind"])

    def test_selectors_match_the_pods(self):
        pod_labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for selector in (self.deployment["spec"]["selector"]["matchLabels"],
                         self.docs["Service"]["spec"]["selector"],
                         self.docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]):
            self.assertTrue(selector)
            self.assertLessEqual(selector.items(), pod_labels.items())

    def test_replicas_and_disruption_budget(self):
        self.assertEqual(self.deployment["spec"]["replicas"], 2)
        self.assertEqual(self.docs["PodDisruptionBudget"]["spec"]["minAvailable"], 1)
        self.assertEqual(
            self.deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0)

    def test_ports_agree_with_the_configuration(self):
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        _, grpc_port = host_port(self.engine["server"]["listen"])
        metrics_host, metrics_port = host_port(self.engine["server"]["metrics_listen"])
        health_host, health_port = host_port(self.engine["server"]["health_listen"])
        self.assertEqual(ports, {"grpc": grpc_port, "metrics": metrics_port, "health": health_port})
        self.assertEqual(grpc_port, 50051)
        # The kubelet (and Prometheus) reach the pod's address, not its loopback.
        self.assertNotIn(metrics_host, ("127.0.0.1", "localhost", "::1"))
        self.assertNotIn(health_host, ("127.0.0.1", "localhost", "::1"))
        service_ports = {p["name"]: p["targetPort"] for p in self.docs["Service"]["spec"]["ports"]}
        self.assertEqual(service_ports, {"grpc": "grpc", "metrics": "metrics"})

    def test_probes_ask_grpc_health_on_the_health_listener(self):
        # The gRPC listener is TLS and requires a client certificate, which kubelet's `grpc:` probe
        # cannot present; server.health_listen serves grpc.health.v1 alone in plain text
        # (tests/tls_test.cc shows it answers SERVING and nothing else).
        self.assertTrue(self.engine["server"]["tls"]["require_client_certificate"])
        _, health_port = host_port(self.engine["server"]["health_listen"])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            spec = self.container[probe]
            self.assertNotIn("httpGet", spec, probe)
            # Kubernetes' GRPCAction takes a port number, not a port name.
            self.assertIsInstance(spec["grpc"]["port"], int, probe)
            self.assertEqual(spec["grpc"]["port"], health_port, probe)
            self.assertEqual(spec["grpc"]["port"], self.values["ports"]["health"], probe)

    def test_readiness_follows_the_store_and_liveness_does_not(self):
        # "kaigo.readiness" answers NOT_SERVING while PostgreSQL is unreachable; "" (the engine)
        # does not follow the store, so a database outage never restarts the pods
        # (engine/server/store_readiness.h).
        services = {p: self.container[p]["grpc"].get("service", "")
                    for p in ("startupProbe", "readinessProbe", "livenessProbe")}
        self.assertEqual(services["readinessProbe"], "kaigo.readiness")
        self.assertEqual(services["livenessProbe"], "")
        self.assertEqual(services["startupProbe"], "")
        store = self.engine["store"]["postgres"]
        self.assertEqual(store["sslmode"], "verify-full")
        self.assertTrue(store["ca_file"].startswith("/etc/kaigo-bridge/"))

    def test_resources_and_security(self):
        for kind in ("requests", "limits"):
            self.assertEqual(set(self.container["resources"][kind]), {"cpu", "memory"}, kind)
        context = self.container["securityContext"]
        self.assertTrue(self.pod["securityContext"]["runAsNonRoot"])
        self.assertTrue(context["runAsNonRoot"])
        self.assertTrue(context["readOnlyRootFilesystem"])
        self.assertFalse(context["allowPrivilegeEscalation"])
        self.assertEqual(context["capabilities"]["drop"], ["ALL"])
        self.assertFalse(self.pod["automountServiceAccountToken"])

    def referenced(self):
        """(kind, name, keys or None) for every ConfigMap and Secret the pod uses."""
        refs = []
        for volume in self.pod["volumes"]:
            for source in volume.get("projected", {}).get("sources", []):
                for kind, body in source.items():
                    keys = [i["key"] for i in body.get("items", [])] or None
                    refs.append(({"configMap": "ConfigMap", "secret": "Secret"}[kind],
                                 body["name"], keys))
            if "secret" in volume:
                refs.append(("Secret", volume["secret"]["secretName"], None))
            if "configMap" in volume:
                refs.append(("ConfigMap", volume["configMap"]["name"], None))
        for env in self.container.get("env", []):
            ref = env.get("valueFrom", {})
            if "secretKeyRef" in ref:
                refs.append(("Secret", ref["secretKeyRef"]["name"], [ref["secretKeyRef"]["key"]]))
            if "configMapKeyRef" in ref:
                refs.append(("ConfigMap", ref["configMapKeyRef"]["name"],
                             [ref["configMapKeyRef"]["key"]]))
        for source in self.container.get("envFrom", []):
            for kind, body in source.items():
                refs.append(({"configMapRef": "ConfigMap", "secretRef": "Secret"}[kind],
                             body["name"], None))
        return refs

    def test_every_mounted_object_is_rendered_or_named_in_values(self):
        rendered = {(d["kind"], d["metadata"]["name"]): d for d in self.docs.values()}
        existing = set(v for k, v in self.values["secrets"].items() if k != "officeKeys")
        existing |= {o["secretName"] for o in self.values["offices"]}
        refs = self.referenced()
        self.assertTrue(refs)
        for kind, name, keys in refs:
            if kind == "ConfigMap":
                self.assertIn((kind, name), rendered, f"ConfigMap {name} is not rendered")
                for key in keys or []:
                    self.assertIn(key, rendered[(kind, name)]["data"], f"{name}: key {key}")
            else:
                self.assertNotIn((kind, name), rendered, "the chart must not carry secrets")
                self.assertIn(name, existing, f"Secret {name} is not named in values")
        # Every existing Secret named in values is used.
        self.assertEqual(existing, {name for kind, name, _ in refs if kind == "Secret"})

    def test_every_environment_reference_is_set(self):
        # check-config does not look at the environment: a secret reference {env: NAME} must find
        # NAME in the container, from a Secret.
        def env_refs(node):
            if isinstance(node, dict):
                if set(node) == {"env"} and isinstance(node["env"], str):
                    yield node["env"]
                for child in node.values():
                    yield from env_refs(child)
            elif isinstance(node, list):
                for child in node:
                    yield from env_refs(child)

        configs = [yaml.safe_load(text) for key, text in self.config_map["data"].items()
                   if key == "engine.yaml" or key.startswith("office-")]
        wanted = {name for config in configs for name in env_refs(config)}
        self.assertIn("KAIGO_POSTGRES_CONNINFO", wanted)
        defined = {e["name"]: e for e in self.container["env"]}
        for name in wanted:
            self.assertIn(name, defined)
            self.assertIn("secretKeyRef", defined[name]["valueFrom"], name)

    def test_the_default_configuration_is_the_hosted_example(self):
        data = self.config_map["data"]
        self.assertEqual(data["engine.yaml"], read(os.path.join(HOSTED, "engine.yaml")))
        offices = sorted(f[:-5] for f in os.listdir(os.path.join(HOSTED, "offices")))
        self.assertEqual([o["number"] for o in self.values["offices"]], offices)
        for number in offices:
            self.assertEqual(data[f"office-{number}.yaml"],
                             read(os.path.join(HOSTED, "offices", number + ".yaml")), number)
        self.assertEqual(data["subsidy-rules.yaml"],
                         read(os.path.join(SOURCE, "deploy", "subsidy", "subsidy-rules.yaml")))
        self.assertEqual(self.engine["office_dirs"], ["offices"])

    def test_a_configuration_change_rolls_the_pods(self):
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        values["config"]["engine"] += "# changed\n"
        _, docs = render(values)
        annotation = "checksum/config"
        before = self.deployment["spec"]["template"]["metadata"]["annotations"][annotation]
        after = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"][annotation]
        self.assertNotEqual(before, after)

    def test_a_headless_service_on_request(self):
        self.assertNotIn("clusterIP", self.docs["Service"]["spec"])
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        values["service"]["clusterIP"] = "None"
        _, docs = render(values)
        self.assertEqual(docs["Service"]["spec"]["clusterIP"], "None")


    def test_values_follow_the_schema(self):
        schema = yaml.safe_load(read(os.path.join(CHART, "values.schema.json")))
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        jsonschema.validate(values, schema)
        values["offices"][0]["number"] = 1371000017  # unquoted: YAML reads a number
        with self.assertRaises(jsonschema.ValidationError) as refused:
            jsonschema.validate(values, schema)
        self.assertEqual(list(refused.exception.path), ["offices", 0, "number"])
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        values["replicas"] = 3  # a typo of replicaCount
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(values, schema)

    def test_a_service_account_of_its_own_without_a_token(self):
        account = self.docs["ServiceAccount"]
        self.assertEqual(self.pod["serviceAccountName"], account["metadata"]["name"])
        self.assertFalse(account["automountServiceAccountToken"])
        self.assertFalse(self.pod["automountServiceAccountToken"])
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        values["serviceAccount"]["create"] = False
        _, docs = render(values)
        self.assertNotIn("ServiceAccount", docs)
        self.assertEqual(docs["Deployment"]["spec"]["template"]["spec"]["serviceAccountName"],
                         "default")

    def test_pods_announce_their_metrics_port(self):
        annotations = self.deployment["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(int(annotations["prometheus.io/port"]), self.values["ports"]["metrics"])
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        values["metrics"]["scrapeAnnotations"] = False
        values["podAnnotations"] = {"team": "care"}
        _, docs = render(values)
        annotations = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
        self.assertNotIn("prometheus.io/scrape", annotations)
        self.assertEqual(annotations["team"], "care")

    def test_a_service_monitor_on_request(self):
        self.assertNotIn("ServiceMonitor", self.docs)
        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        values["metrics"]["serviceMonitor"].update(enabled=True, labels={"release": "prom"})
        _, docs = render(values)
        monitor = docs["ServiceMonitor"]
        self.assertEqual(monitor["metadata"]["labels"]["release"], "prom")
        (endpoint,) = monitor["spec"]["endpoints"]
        service_ports = [p["name"] for p in docs["Service"]["spec"]["ports"]]
        self.assertIn(endpoint["port"], service_ports)
        self.assertLessEqual(monitor["spec"]["selector"]["matchLabels"].items(),
                             docs["Service"]["metadata"]["labels"].items())

    def test_notes_name_every_secret_to_create(self):
        (notes,) = self.chart.render(release="kb", notes=True).values()
        for name in ("serverTls", "clientsCa", "platformCa", "postgres", "engineKeys"):
            self.assertIn(self.values["secrets"][name], notes)
        for office in self.values["offices"]:
            self.assertIn(office["secretName"], notes)
        self.assertIn("kubectl rollout status deployment/kb-kaigo-bridge", notes)


class StagedTreeTest(unittest.TestCase):
    """The projected volume, written out like the kubelet would, passes check-config."""

    @classmethod
    def setUpClass(cls):
        build = os.environ.get("KAIGO_BUILD_DIR")
        if not build:
            raise unittest.SkipTest("KAIGO_BUILD_DIR is not set (ctest sets it)")
        cls.engine_binary = os.path.join(build, "engine", "kaigo-bridge")
        cls.plugin_dir = os.environ.get("KAIGO_PLUGIN_DIR", os.path.join(build, "plugins"))
        if not os.access(cls.engine_binary, os.X_OK):
            raise AssertionError(f"{cls.engine_binary} is not built")
        _, docs = render()
        cls.config_map = docs["ConfigMap"]
        cls.pod = docs["Deployment"]["spec"]["template"]["spec"]
        (cls.container,) = cls.pod["containers"]

    def stage(self, root, leave_out=None):
        """Writes every mounted file below root; returns the container's environment."""
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        for mount in self.container["volumeMounts"]:
            volume = volumes[mount["name"]]
            for source in volume.get("projected", {}).get("sources", []):
                for kind, body in source.items():
                    for item in body["items"]:
                        path = os.path.join(root, mount["mountPath"].lstrip("/"), item["path"])
                        if path.endswith(leave_out or "\0"):
                            continue
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        if kind == "configMap":
                            content = self.config_map["data"][item["key"]]
                        elif item["key"] == "sealing-key":
                            content = "a" * 64  # a plugin checks that a sealing key looks like one
                        else:
                            content = "stand-in"
                        with open(path, "w", encoding="utf-8") as f:
                            f.write(content)
                        os.chmod(path, 0o400)
        # The image: the plugins engine.yaml names, as the built ones.
        engine = yaml.safe_load(self.config_map["data"]["engine.yaml"])
        for plugin in engine["plugins"]:
            staged = os.path.join(root, plugin["path"].lstrip("/"))
            os.makedirs(os.path.dirname(staged), exist_ok=True)
            shutil.copy(os.path.join(self.plugin_dir, os.path.basename(plugin["path"])), staged)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGO_POSTGRES")}
        for var in self.container.get("env", []):
            self.assertIn("secretKeyRef", var["valueFrom"], var["name"])
            env[var["name"]] = "host=db.internal dbname=kaigo"
        return env

    def check_config(self, leave_out=None):
        with tempfile.TemporaryDirectory() as root:
            env = self.stage(root, leave_out)
            args = self.container["args"]
            self.assertEqual(args[:2], ["serve", "--config"])
            config = os.path.join(root, args[2].lstrip("/"))
            return subprocess.run([self.engine_binary, "check-config", config, "--root", root],
                                  env=env, capture_output=True, text=True, timeout=120)

    def test_the_mounted_tree_passes_check_config(self):
        r = self.check_config()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("configuration is valid", r.stdout)

    def test_a_secret_key_the_chart_does_not_mount_is_named(self):
        r = self.check_config(leave_out="secrets/1371000025/web-password")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("/etc/kaigo-bridge/secrets/1371000025/web-password", r.stderr)


class RendererTest(unittest.TestCase):
    """The renderer follows Go text/template for the subset (outputs as helm gives them)."""

    def render(self, source, values=None, extra=None):
        with tempfile.TemporaryDirectory() as chart:
            os.makedirs(os.path.join(chart, "templates"))
            with open(os.path.join(chart, "Chart.yaml"), "w") as f:
                f.write("apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: '2'\n")
            with open(os.path.join(chart, "values.yaml"), "w") as f:
                yaml.safe_dump(values or {}, f)
            for name, text in dict(extra or {}, **{"t.yaml": source}).items():
                with open(os.path.join(chart, "templates", name), "w") as f:
                    f.write(text)
            return helm_template.Chart(chart).render(release="r")["c/templates/t.yaml"]

    def test_trim_markers(self):
        self.assertEqual(self.render("a:\n  {{- 1 }}\nb {{ 2 -}}\n  c"), "a:1\nb 2c")

    def test_range_with_variables_and_dollar(self):
        self.assertEqual(
            self.render('{{ range $i, $x := .Values.l }}{{ $i }}={{ $x }}{{ $.Release.Name }};'
                        '{{ end }}', {"l": ["p", "q"]}),
            "0=pr;1=qr;")
        self.assertEqual(self.render("{{ range .Values.m }}{{ . }}{{ end }}",
                                     {"m": {"b": 2, "a": 1}}), "12")

    def test_with_if_else(self):
        self.assertEqual(self.render('{{ with .Values.s }}[{{ . }}]{{ else }}none{{ end }}',
                                     {"s": ""}), "none")
        self.assertEqual(self.render('{{ if .Values.b }}y{{ else }}n{{ end }}', {"b": True}), "y")

    def test_functions(self):
        t = ('{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 3 | trimSuffix "-" }}|'
             '{{ .Values.t | default .Chart.AppVersion | quote }}|'
             '{{ toYaml .Values.m | nindent 2 }}|{{ include "h" . }}')
        self.assertEqual(
            self.render(t, {"t": "", "m": {"k": [1]}}, {"_h.tpl": '{{- define "h" -}}H{{- end }}'}),
            'r-c|"2"|\n  k:\n  - 1|H')

    def test_outside_the_subset_is_refused(self):
        for source in ("{{ tpl .Values.x . }}", "{{ .Values.missing }}", "{{ template \"x\" }}"):
            with self.assertRaises(helm_template.TemplateError, msg=source):
                self.render(source, {"x": "y"})


if __name__ == "__main__":
    unittest.main()
