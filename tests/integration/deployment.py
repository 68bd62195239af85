"""The playbook integration tests' side of a deployment on the test cluster.

The variables the tests deploy with (`default_vars`; they run the playbooks with the
`cluster` fixture's `run_playbook`), and what the playbooks applied, read back through the
API: objects by kind (`get`), Secret values, pods, readiness, snapshot diffs, the pod
templates checked against images/contracts.yml. Starting the deployed services for real is
the stack suite's (tests/stack/running_stack/).
"""

from __future__ import annotations

import base64
import importlib.util
import re
import subprocess
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

REPO = Path(__file__).resolve().parents[2]

WHITELIST = ["192.0.2.0/24", "198.51.100.7"]
WHITELIST_ANNOTATION = "haproxy.router.openshift.io/ip_whitelist"
ROUTER_DOMAIN = "apps.kwok.test"
LABEL_KEYS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)

# API paths of the kinds the stack consists of.
PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Service": "/api/v1/namespaces/{ns}/services",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "PersistentVolumeClaim": "/api/v1/namespaces/{ns}/persistentvolumeclaims",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    "Route": "/apis/route.openshift.io/v1/namespaces/{ns}/routes",
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs",
    "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets",
    "ResourceQuota": "/api/v1/namespaces/{ns}/resourcequotas",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
    "ServiceMonitor": "/apis/monitoring.coreos.com/v1/namespaces/{ns}/servicemonitors",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "HTTPRoute": "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes",
    "SecurityPolicy": "/apis/gateway.envoyproxy.io/v1alpha1/namespaces/{ns}/securitypolicies",
    "AuthorizationPolicy": "/apis/security.istio.io/v1/namespaces/{ns}/authorizationpolicies",
}

# Snapshot keys that move on their own while pods roll or get scheduled (the platform's quota
# objects count the pods: their status moves with them).
DERIVED_KINDS = ("Pod/", "ReplicaSet/", "Endpoints/", "EndpointSlice/", "Event/",
                 "ResourceQuota/", "AppliedClusterResourceQuota/")


def default_vars(namespace: str, app: str = "mlflow", **extra: Any) -> dict:
    v = {
        "mlflow_namespace": namespace,
        "mlflow_app_name": app,
        "mlflow_route_whitelist": list(WHITELIST),
        "mlflow_users": [{"name": "alice", "password": "alice-Passw0rd-123"}, {"name": "bob"}],
    }
    v.update(extra)
    return v


def _load_module(name: str, path: Path):
    """A Python file of the checkout as a module (without putting its directory on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def image_contracts():
    """(check_pod_against_contracts, the records of images/contracts.yml) from tests/cluster/contracts.py."""
    mod = _load_module("csc_mlflow_contracts", REPO / "tests" / "cluster" / "contracts.py")
    return mod.check_pod_against_contracts, mod.load_contracts(REPO / "images" / "contracts.yml")


def htpasswd_utils():
    """The collection's plugins/module_utils/htpasswd.py (parse_htpasswd, verify_password, ...)."""
    return _load_module("csc_mlflow_htpasswd", REPO / "plugins" / "module_utils" / "htpasswd.py")


def contract_problems(cluster, ns: str) -> list[str]:
    """Every pod template of the namespace's Deployments, Jobs and CronJobs checked against its images' records."""
    check, records = image_contracts()
    out = []
    for kind in ("Deployment", "Job", "CronJob"):
        for o in get(cluster, kind, ns):
            spec = (o["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else o["spec"])["template"]["spec"]
            out += [f"{kind}/{o['metadata']['name']}: {p}" for p in check(spec, records)]
    return out


def role_defaults() -> dict:
    """The defaults of every role of the collection, merged (each variable belongs to one role)."""
    out: dict = {}
    for p in sorted((REPO / "roles").glob("*/defaults/main.yml")):
        out.update(yaml.safe_load(p.read_text()) or {})
    return out


def get(cluster, kind: str, ns: str, name: str | None = None) -> Any:
    """One object (None when absent) or, without name, the list of items."""
    from kubernetes.client.exceptions import ApiException

    path = PATHS[kind].format(ns=ns)
    try:
        if name is None:
            return cluster.get_json(path).get("items", [])
        return cluster.get_json(f"{path}/{name}")
    except ApiException as e:
        if e.status == 404:
            return None if name else []
        raise


def job_condition(cluster, ns: str, name_part: str, ctype: str) -> float | None:
    """When the newest Job whose name holds `name_part` got condition `ctype` (Complete, Failed), as a Unix time;
    None when it has not."""
    job = max((j for j in get(cluster, "Job", ns) if name_part in j["metadata"]["name"]),
              key=lambda j: j["metadata"]["creationTimestamp"])
    for cond in job.get("status", {}).get("conditions", []):
        if cond["type"] == ctype and cond["status"] == "True":
            return datetime.strptime(cond["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc).timestamp()
    return None


def secret_values(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.get("data") or {}).items()}


def wait_until(pred: Callable[[], Any], timeout: float = 60, step: float = 0.5, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def diff(before: dict, after: dict, ignore: Iterable[str] = DERIVED_KINDS) -> dict[str, list[str]]:
    """Keys added, removed and written between two snapshots."""
    ign = tuple(ignore)
    b = {k: v for k, v in before.items() if not k.startswith(ign)}
    a = {k: v for k, v in after.items() if not k.startswith(ign)}
    return {
        "added": sorted(set(a) - set(b)),
        "removed": sorted(set(b) - set(a)),
        "changed": sorted(k for k in set(a) & set(b) if a[k][0] != b[k][0]),
    }


def pod_names(cluster, ns: str, component: str | None = None) -> set[str]:
    out = set()
    for p in get(cluster, "Pod", ns):
        labels = p["metadata"].get("labels", {})
        if component is None or labels.get("app.kubernetes.io/component") == component:
            if not p["metadata"].get("deletionTimestamp"):
                out.add(p["metadata"]["name"])
    return out


def deployment_ready(cluster, ns: str, name: str) -> bool:
    d = get(cluster, "Deployment", ns, name)
    if not d:
        return False
    want = d["spec"].get("replicas", 1)
    st = d.get("status", {})
    return (
        st.get("observedGeneration") == d["metadata"]["generation"]
        and st.get("updatedReplicas", 0) == want
        and st.get("readyReplicas", 0) == want
        and st.get("replicas", 0) == want
    )


def unchanged(before: dict, after: dict) -> tuple[bool, dict[str, list[str]]]:
    """(True when nothing was added, removed or written between two snapshots, the diff)."""
    d = diff(before, after)
    return not d["added"] and not d["removed"] and not d["changed"], d


def rerun_changes_nothing(cluster, ns: str, extra_vars: dict) -> None:
    """A re-run of deploy.yml reports changed=0 and writes nothing."""
    before = cluster.snapshot(ns)
    r = cluster.run_playbook("deploy.yml", extra_vars)
    assert r.rc == 0 and r.changed == 0, str(r)
    ok, d = unchanged(before, cluster.snapshot(ns))
    assert ok, d


def commit_missing(commit: str) -> str | None:
    """Why `commit` cannot be read from this checkout's git repository (None when it can)."""
    try:
        p = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"],
                           capture_output=True, text=True, check=False)
    except OSError as e:
        return f"git is not available: {e}"
    if p.returncode != 0:
        return (f"commit {commit} is not in the git repository of {REPO} ({p.stderr.strip() or 'git cat-file -e failed'}); "
                "the test needs a full clone (not shallow): git fetch --unshallow")
    return None


def collection_at(commit: str, parent: Path) -> Path:
    """The collection's files at `commit` (git archive), as <parent>/ansible_collections/csc/mlflow.

    Pass the result as ``cluster.run_playbook(..., collection=...)`` to run that commit's playbooks.
    """
    dest = Path(parent) / "ansible_collections" / "csc" / "mlflow"
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit],
                             capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, capture_output=True, check=True)
    return dest


# A task result the default callback prints as YAML below its status line ("ok: [localhost] => ").
_RESULT_LINE = re.compile(r"^(?:ok|changed): \[[^\]]+\] =>\s*$")


def summary_lines(stdout: str) -> list[str]:
    """The ``summary`` list the role's summary task printed (the last one of the run; [] if none).

    The callback prints results as YAML that wraps long lines: each result is parsed, not grepped.
    """
    lines = stdout.splitlines()
    found: list[str] = []
    for i, line in enumerate(lines):
        if not _RESULT_LINE.match(line):
            continue
        block = []
        for nxt in lines[i + 1:]:
            if not nxt.startswith(" "):
                break
            block.append(nxt)
        try:
            result = yaml.safe_load(textwrap.dedent("\n".join(block)))
        except yaml.YAMLError:
            continue
        msg = result.get("msg") if isinstance(result, dict) else None
        if isinstance(msg, dict) and isinstance(msg.get("summary"), list):
            found = [str(x) for x in msg["summary"]]
    return found


def summary_changes(stdout: str) -> dict[str, list[str]]:
    """The summary's ``Changed objects: ...`` and ``Changed Secrets: ...`` lines of a run, as lists.

    ``{"objects": ["Deployment/x", ...], "secrets": ["x-users", ...]}``; "none" is an empty list;
    a line the summary does not have is not in the result.
    """
    out: dict[str, list[str]] = {}
    for line in summary_lines(stdout):
        for key, label in (("objects", "Changed objects:"), ("secrets", "Changed Secrets:")):
            if line.startswith(label):
                items = [i.strip() for i in line[len(label):].split(",") if i.strip()]
                out[key] = [] if items == ["none"] else items
    return out
