"""The Kubernetes overlays, rendered with kustomize and read as the cluster would.

Every object is checked against the Kubernetes API's own schemas (kubernetes-validate,
strict: no field the API does not know) for the oldest and the newest release the
overlays are meant for; the custom resources (CloudNativePG, KEDA) against their
CRDs' schemas (tests/deploy/schemas, README there). Then what the deployment promises:
hardened pods, probes on /health, only the API reachable, default-deny network
policies, the migrations before the rollout, a KEDA trigger for every Dramatiq queue.
"""

import base64
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hub.config import Settings
from hub.jobs.actors import ACTORS
from tests.deploy.support import (
    KUBERNETES,
    OVERLAYS,
    ROOT,
    SCHEMAS,
    WORKLOADS,
    containers,
    find,
    is_hub,
    module,
    pod_spec,
    rendered,
    run,
)

kubernetes_validate = module("kubernetes_validate")
kubernetes_validate_utils = module("kubernetes_validate.utils")

#: The Kubernetes releases the overlays are checked against: the oldest meant to be
#: supported and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate_utils.latest_version())

#: Custom resources and the CRD schema each is checked against.
CUSTOM = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh-v1alpha1-ScaledObject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh-v1alpha1-TriggerAuthentication.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io-v1-Cluster.json",
}


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _unknown_fields(instance: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields of ``instance`` a CRD's structural schema does not declare (the API server
    would drop them without a word)."""
    found: list[str] = []
    if isinstance(instance, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if properties is not None:
            for key, value in instance.items():
                if key in properties:
                    found += _unknown_fields(value, properties[key], f"{path}.{key}")
                elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                    found.append(f"{path}.{key}")
        elif isinstance(additional, dict):
            for key, value in instance.items():
                found += _unknown_fields(value, additional, f"{path}.{key}")
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(instance):
            found += _unknown_fields(value, schema["items"], f"{path}[{index}]")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_matches_the_kubernetes_schemas(overlay: str) -> None:
    problems = []
    docs = rendered(overlay)
    assert docs, f"{overlay} rendered nothing"
    for doc in docs:
        custom = CUSTOM.get((doc["apiVersion"], doc["kind"]))
        if custom is not None:
            schema = json.loads((SCHEMAS / custom).read_text())
            validator = jsonschema.Draft7Validator(schema)
            problems += [
                f"{_name(doc)}: {e.json_path}: {e.message}" for e in validator.iter_errors(doc)
            ]
            problems += [f"{_name(doc)}: unknown field {f}" for f in _unknown_fields(doc, schema)]
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate_utils.ValidationError as error:
                problems.append(f"{_name(doc)} (Kubernetes {version}): {error.message}")
            except kubernetes_validate_utils.SchemaNotFoundError:
                problems.append(f"{_name(doc)}: no schema for {doc['apiVersion']} {doc['kind']}")
    assert not problems, "\n".join(problems)


def test_the_components_for_other_clusters_match_the_schemas() -> None:
    """The worker HPA for clusters without KEDA (components/worker-hpa) is not in an
    overlay as committed; it must be valid all the same."""
    for doc in yaml.safe_load_all(
        (KUBERNETES / "components/worker-hpa/worker-hpa.yaml").read_text()
    ):
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
        assert doc["spec"]["scaleTargetRef"]["name"] == "hub-worker"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_hardened(overlay: str) -> None:
    problems = []
    for doc in rendered(overlay):
        if doc["kind"] not in WORKLOADS:
            continue
        spec, name = pod_spec(doc), _name(doc)
        pod = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken is not false")
        if pod.get("runAsNonRoot") is not True or pod.get("runAsUser", 0) < 10000:
            problems.append(f"{name}: not runAsNonRoot with a user ≥ 10000")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(doc):
            where = f"{name} {container['name']}"
            context = container.get("securityContext", {})
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem not read-only")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities not dropped")
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                if set(resources.get(bound, {})) != {"cpu", "memory"}:
                    problems.append(f"{where}: {bound} lack cpu or memory")
            image = container["image"]
            if not re.fullmatch(r"[^:@\s]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?", image) or (
                ":" not in image.rsplit("/", 1)[-1]
            ):
                problems.append(f"{where}: image {image} has no tag")
            if image.endswith(":latest"):
                problems.append(f"{where}: image {image} is latest")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):
                problems.append(f"{where}: /tmp is not an emptyDir")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_hub_image_is_set_by_kustomize_and_never_latest(overlay: str) -> None:
    images = {
        c["image"]
        for d in rendered(overlay)
        if d["kind"] in WORKLOADS and is_hub(d)
        for c in containers(d)
    }
    assert len(images) == 1, images
    (image,) = images
    assert image.startswith("registry.example.invalid/so-gddt/hub:"), image
    assert not image.endswith(":latest")
    for path in KUBERNETES.rglob("*.yaml"):
        assert not re.search(r"image:\s*\S+:latest\b", path.read_text()), path


def test_the_api_is_probed_on_health() -> None:
    app = (ROOT / "hub/web/app.py").read_text()
    assert 'Route("/health", health)' in app, "hub/web/app.py no longer serves /health"
    for overlay in OVERLAYS:
        (api,) = containers(find(rendered(overlay), "Deployment", "hub-api"))
        ports = {p["name"]: p["containerPort"] for p in api["ports"]}
        assert ports == {"http": 8000}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert api[probe]["httpGet"] == {"path": "/health", "port": "http"}, (overlay, probe)


def test_production_runs_hub_serve_and_hub_worker_with_autoscaling_and_budgets() -> None:
    docs = rendered("production")
    api = find(docs, "Deployment", "hub-api")
    worker = find(docs, "Deployment", "hub-worker")
    assert containers(api)[0]["command"] == ["hub", "serve"]
    assert containers(worker)[0]["command"][:2] == ["hub", "worker"]
    # The autoscalers own the replica counts: an apply must not reset them.
    assert "replicas" not in api["spec"] and "replicas" not in worker["spec"]
    hpa = find(docs, "HorizontalPodAutoscaler", "hub-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "hub-api"
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert hpa["spec"]["minReplicas"] >= 2
    for name, component in (("hub-api", "api"), ("hub-worker", "worker")):
        pdb = find(docs, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler" and "worker" in _name(d)]


def test_keda_scales_the_workers_on_every_dramatiq_queue() -> None:
    """Dramatiq's Redis broker keeps a queue's waiting messages in the list
    ``<namespace>:<queue>``; the namespace is HUB_JOBS_NAMESPACE."""
    docs = rendered("production")
    settings = next(d for d in docs if d["kind"] == "ConfigMap" and "HUB_MODE" in d["data"])
    namespace = settings["data"]["HUB_JOBS_NAMESPACE"]
    scaled = find(docs, "ScaledObject", "hub-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "hub-worker"
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"redis"}
    lists = {t["metadata"]["listName"] for t in triggers}
    assert lists == {f"{namespace}:{actor.queue}" for actor in ACTORS}
    auth = find(docs, "TriggerAuthentication", triggers[0]["authenticationRef"]["name"])
    assert auth["spec"]["secretTargetRef"][0]["name"] == "hub-secrets"
    redis = find(docs, "Service", "hub-redis")
    for trigger in triggers:
        host, port = trigger["metadata"]["address"].rsplit(":", 1)
        assert host == f"hub-redis.{redis['metadata']['namespace']}.svc.cluster.local"
        assert int(port) == redis["spec"]["ports"][0]["port"]
        assert int(trigger["metadata"]["listLength"]) > 0


def test_production_database_is_a_cloudnativepg_cluster_the_hub_reaches() -> None:
    docs = rendered("production")
    cluster = find(docs, "Cluster", "hub-db")
    assert cluster["spec"]["instances"] >= 2
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "hub", "owner": "hub"}
    for doc in docs:
        if doc["kind"] in WORKLOADS and is_hub(doc):
            env = containers(doc)[0]["env"]
            names = [e["name"] for e in env]
            # $(VAR) expansion needs the variables it names defined before it.
            assert names[:3] == ["DATABASE_USER", "DATABASE_PASSWORD", "HUB_DATABASE_URL"]
            url = env[2]["value"]
            assert url.startswith("postgresql+psycopg://$(DATABASE_USER):$(DATABASE_PASSWORD)@")
            assert f"@{cluster['metadata']['name']}-rw:5432/hub" in url
            refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env[:2]}
            assert refs == {f"{cluster['metadata']['name']}-app"}


def test_no_secret_is_committed() -> None:
    """Production renders no Secret (hub-secrets is made by the operator); the demo's
    generated one holds placeholders that say what they are."""
    assert not [d for d in rendered("production") if d["kind"] == "Secret"]
    (secret,) = [d for d in rendered("demo") if d["kind"] == "Secret"]
    assert secret["metadata"]["name"].startswith("hub-secrets-")
    for value in secret["data"].values():
        assert "demo-only" in base64.b64decode(value).decode()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_settings_the_hub_knows(overlay: str) -> None:
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    for doc in rendered(overlay):
        variables = []
        if doc["kind"] == "ConfigMap":
            variables = list(doc["data"])
        elif doc["kind"] in WORKLOADS and is_hub(doc):
            variables = [e["name"] for c in containers(doc) for e in c.get("env", [])]
        unknown = {v for v in variables if v.startswith("HUB_")} - known
        assert not unknown, f"{_name(doc)}: {unknown} are not in hub/config.py"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_admit_only_what_the_hub_needs(
    overlay: str,
) -> None:
    docs = rendered(overlay)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = find(docs, "NetworkPolicy", "hub-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    hub_pods = {
        c: {"app.kubernetes.io/name": "hub", "app.kubernetes.io/component": c}
        for c in ("api", "worker", "migrate")
    }
    # Only the API admits connections from any source.
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from", [])
            if not sources or any("ipBlock" in s for s in sources):
                assert _selects(policy["spec"]["podSelector"], hub_pods["api"]), _name(policy)
                assert not _selects(policy["spec"]["podSelector"], hub_pods["worker"])
    # PostgreSQL and Redis admit the hub's pods (and their own operators), nothing else.
    datastores = [
        d
        for d in docs
        if d["kind"] in ("StatefulSet", "Cluster")
        and d["metadata"]["name"] in ("hub-postgres", "hub-redis", "hub-db")
    ]
    assert len(datastores) == (1 if overlay == "demo" else 2)
    for store in datastores:
        if store["kind"] == "Cluster":
            labels = {"cnpg.io/cluster": store["metadata"]["name"]}
        else:
            labels = store["spec"]["template"]["metadata"]["labels"]
        # The hub's side lets its pods out to this datastore's pods…
        pod_labels = (
            store["spec"]["inheritedMetadata"]["labels"]
            if store["kind"] == "Cluster"
            else store["spec"]["template"]["metadata"]["labels"]
        )
        outbound = find(docs, "NetworkPolicy", "hub-to-datastores")["spec"]["egress"]
        assert any(
            _selects(t["podSelector"], pod_labels) for rule in outbound for t in rule["to"]
        ), f"hub-to-datastores lets no hub pod out to {_name(store)}"
        # …and the datastore's side lets them in, and only them.
        guarding = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        sources = [
            s for p in guarding for rule in p["spec"].get("ingress", []) for s in rule["from"]
        ]
        assert sources, f"nothing admits anyone to {_name(store)}"
        for source in sources:
            assert "ipBlock" not in source, (_name(store), source)
            if "namespaceSelector" in source:  # the operators: CloudNativePG's, KEDA's
                namespace = source["namespaceSelector"]["matchLabels"][
                    "kubernetes.io/metadata.name"
                ]
                assert namespace in ("cnpg-system", "keda"), source
            else:
                selected = source["podSelector"]
                assert _selects(selected, hub_pods["api"]) or selected == {
                    "matchLabels": {"cnpg.io/cluster": "hub-db"}
                }, (_name(store), source)
                assert not _selects(selected, {"app.kubernetes.io/name": "other"})
    # The workers reach the signing providers; the migrations only the database.
    egress = [p for p in policies if "Egress" in p["spec"]["policyTypes"]]
    outside = [
        p
        for p in egress
        if any("ipBlock" in t for r in p["spec"].get("egress", []) for t in r.get("to", []))
        and _selects(p["spec"]["podSelector"], hub_pods["worker"])
    ]
    assert bool(outside) == (overlay == "production"), [_name(p) for p in outside]
    assert not [
        p
        for p in egress
        if any("ipBlock" in t for r in p["spec"].get("egress", []) for t in r.get("to", []))
        and _selects(p["spec"]["podSelector"], hub_pods["migrate"])
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_api_is_reachable_from_outside(overlay: str) -> None:
    docs = rendered(overlay)
    for service in (d for d in docs if d["kind"] == "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", _name(service)
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    backends = {
        p["backend"]["service"]["name"]
        for i in ingresses
        for r in i["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert backends == {"hub-api"}


def test_migrations_run_before_the_rollout() -> None:
    for overlay in OVERLAYS:
        job = find(rendered(overlay), "Job", "hub-migrate")
        assert containers(job)[0]["command"] == ["hub", "db", "upgrade"]
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    script = KUBERNETES / "deploy.sh"
    assert script.stat().st_mode & 0o111, "deploy.sh is not executable"
    assert run("bash", "-n", str(script)).returncode == 0
    text = script.read_text()
    steps = [
        text.index("-l 'app.kubernetes.io/component notin (api,worker,migrate)'"),
        text.index("-l app.kubernetes.io/component=migrate"),
        text.index("--for=condition=complete job/hub-migrate"),
        text.index('kubectl apply "${dry_run[@]}" -f "$rendered"\n'),
    ]
    assert steps == sorted(steps), "deploy.sh must apply the Job, wait, then the Deployments"


def test_the_demo_runs_hub_demo_alone_with_its_simulators() -> None:
    docs = rendered("demo")
    api = find(docs, "Deployment", "hub-api")
    assert api["spec"]["replicas"] == 1
    assert containers(api)[0]["command"] == ["hub", "demo"]
    kinds = {_name(d) for d in docs}
    assert "Deployment/hub-worker" not in kinds and "HorizontalPodAutoscaler/hub-api" not in kinds
    settings = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert settings["HUB_MODE"] == "demo"
    # Demo mode writes its token signing key on first use: in the pod's var/ emptyDir.
    assert Path(settings["HUB_TOKEN_KEY_FILE"]).parent == Path("/app/var")
    mounts = {m["mountPath"] for m in containers(api)[0]["volumeMounts"]}
    assert "/app/var" in mounts
