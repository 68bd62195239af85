"""Shared pytest fixtures: the local test cluster.

Session fixture ``cluster`` (see docs/DESIGN.md, "Tooling conventions"):

* reuses a cluster started by ``make cluster-up`` when ``.cluster/kubeconfig``
  answers, otherwise builds/starts one with ``tests/cluster/build.sh`` and
  ``tests/cluster/cluster.sh up`` and stops it at the end of the session (also
  when tests fail);
* attributes ``kubeconfig``, ``server``, ``token``, ``ca_file``, ``api`` (a
  ``kubernetes.client.ApiClient`` with admin rights) and ``dynamic`` (a
  ``kubernetes.dynamic.DynamicClient`` over it);
* ``run_playbook(playbook, extra_vars=None, env=None, inventory="inventories/local",
  check=False, diff=False, collection=None)`` -> ``PlaybookResult`` (``rc``, ``stdout``,
  ``stderr``, ``recap``); ``collection``: another tree of this collection (e.g. an old
  commit's, ``stackutil.collection_at``) whose playbooks run instead of this checkout's;
  into a ``rahti`` namespace it runs as that project's admin (``as_cluster_admin=True``: not);
* ``project_admin_kubeconfig(namespace)`` -> the kubeconfig of a ``rahti`` namespace's admin;
* ``snapshot(namespace)`` -> ``{"Kind/name": (written, generation, hash)}``;
* ``fresh_namespace(prefix, labels=None, profile=None)`` -> a new namespace name, deleted at
  session end, set up as the platform ``profile`` has it (None: ``cluster.profile``);
* ``profile`` (``$CSC_MLFLOW_PROFILE``: ``rahti``, the default, or ``kubernetes``) and
  ``other_profile``.

Profiles (tests/cluster/manifests/profile-rahti.yaml; docs/DESIGN.md "Tooling conventions"):

* ``rahti``: the namespace carries OpenShift's ``openshift.io/sa.scc.*`` annotations (a UID
  block of its own), so the cluster's restricted-v2 SCC stand-in assigns runAsUser/fsGroup and
  refuses other IDs; it has Rahti's LimitRange ``limits``, the default CSC project quota as an
  enforcing ResourceQuota ``crq-<csc project>`` (a CSC project of its own) and the same quota as an
  AppliedClusterResourceQuota whose status follows the ResourceQuota's;
* ``kubernetes``: a plain namespace: nothing assigned, no quota, no LimitRange.

Pod Security ``restricted`` and the image contracts (images/contracts.yml +
tests/cluster/test-images.yml, refreshed when the fixture starts) apply in both.

Function fixtures: ``namespace`` (a fresh namespace of the default profile for one test) and
``make_namespace`` (``make_namespace(prefix="t", profile=None, labels=None)``, any number,
any profile, all deleted after the test).

Markers (registered in pytest.ini): ``cluster`` (needs the test cluster),
``stack`` (needs the running-stack harness), ``slow``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import sys

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
# The running-stack harness (tests/stack/running_stack) and its fixtures, for tests/stack and tests/security.
if str(REPO / "tests" / "stack") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "stack"))
pytest_plugins = ["running_stack.fixtures"]
STATE = REPO / ".cluster"
VENV_BIN = REPO / ".venv" / "bin"
CLUSTER_SH = REPO / "tests" / "cluster" / "cluster.sh"
BUILD_SH = REPO / "tests" / "cluster" / "build.sh"
PROFILE_RAHTI = REPO / "tests" / "cluster" / "manifests" / "profile-rahti.yaml"

PROFILES = ("rahti", "kubernetes")
PROFILE = os.environ.get("CSC_MLFLOW_PROFILE", "rahti").strip() or "rahti"
if PROFILE not in PROFILES:
    raise RuntimeError(f"CSC_MLFLOW_PROFILE={PROFILE!r}: must be one of {', '.join(PROFILES)}")
# The CSC computing project a rahti-profile namespace bills to (csc_project: label/description):
# one of its own per namespace (CSC_PROJECT_BASE + its UID block), so that the project's quota,
# which Rahti shares among all projects of a CSC project, is exactly the namespace's quota.
CSC_PROJECT_BASE = 2000000
# OpenShift hands each namespace a block of 10000 UIDs/GIDs from 1000000000 on; the next free
# block is counted in this ConfigMap (kube-system), so sessions sharing the cluster differ too.
UID_BASE, UID_BLOCK = 1000000000, 10000
UID_COUNTER = "csc-mlflow-scc-uid-blocks"

# Kinds that churn on their own (or mirror other objects) and say nothing about
# what a playbook changed; left out of snapshots.
_SNAPSHOT_SKIP = {
    ("", "events"),
    ("events.k8s.io", "events"),
    ("", "bindings"),
    ("coordination.k8s.io", "leases"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
}
_VOLATILE_META = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")

_RECAP_RE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$", re.M)


@dataclass
class PlaybookResult:
    """Outcome of one ansible-playbook run."""

    rc: int
    stdout: str
    stderr: str
    recap: dict[str, int] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return self.recap.get("changed", 0)

    @property
    def failed(self) -> int:
        return self.recap.get("failed", 0)

    def __str__(self) -> str:  # handy in assertion messages
        return (
            f"rc={self.rc} recap={self.recap} ({self.seconds:.1f}s)\n"
            f"--- stdout (tail) ---\n{self.stdout[-6000:]}\n--- stderr (tail) ---\n{self.stderr[-3000:]}"
        )


def parse_recap(stdout: str, host: str = "localhost") -> dict[str, int]:
    """Counts of the PLAY RECAP line of ``host`` (last one wins); {} when absent."""
    recap: dict[str, int] = {}
    tail = stdout.rsplit("PLAY RECAP", 1)
    if len(tail) < 2:
        return recap
    for m in _RECAP_RE.finditer(tail[1]):
        if m.group("host") == host:
            recap = {k: int(v) for k, v in (kv.split("=") for kv in m.group("counts").split())}
    return recap


def object_hash(obj: Mapping[str, Any]) -> str:
    """sha256 (16 hex) of an object without status and server-set metadata."""
    o = dict(obj)
    o.pop("status", None)
    meta = dict(o.get("metadata") or {})
    for k in _VOLATILE_META:
        meta.pop(k, None)
    o["metadata"] = meta
    return hashlib.sha256(json.dumps(o, sort_keys=True, default=str).encode()).hexdigest()[:16]


def written_stamp(obj: Mapping[str, Any], content_hash: str) -> str:
    """What changes with every write to ``obj`` except writes to its status subresource."""
    writes = sorted(
        (f.get("manager", ""), f.get("operation", ""), f.get("time", ""), json.dumps(f.get("fieldsV1"), sort_keys=True))
        for f in (obj.get("metadata") or {}).get("managedFields") or [] if f.get("subresource") != "status")
    return hashlib.sha256(json.dumps([content_hash, writes]).encode()).hexdigest()[:16]


def _read(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def _kubeconfig_answers(kubeconfig: Path) -> bool:
    if not kubeconfig.exists():
        return False
    try:
        out = subprocess.run(
            [str(_kubectl()), "--kubeconfig", str(kubeconfig), "--request-timeout=3s", "get", "--raw", "/readyz"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "ok"


def _kubectl() -> Path:
    """kubectl of the test cluster (cached build), else whatever is on PATH."""
    env_file = STATE / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("KUBECTL="):
                return Path(line.split("=", 1)[1].strip().strip("'\""))
    try:
        out = subprocess.run([str(BUILD_SH), "--print-env"], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            if line.startswith("K8S_BIN="):
                return Path(line.split("=", 1)[1].strip("'\"")) / "kubectl"
    except (OSError, subprocess.CalledProcessError):
        pass
    return Path("kubectl")


class Cluster:
    """Handle on the local test cluster; see the module docstring."""

    def __init__(self, state: Path = STATE):
        self.state = state
        self.kubeconfig = str(state / "kubeconfig")
        self.ca_file = str(state / "ca.crt")
        self.token = _read(state / "token")
        self.server = _read(state / "server")
        self.kubectl = str(_kubectl())
        self._namespaces: list[str] = []
        # Namespaces of the `rahti` profile -> the kubeconfig of their ServiceAccount project-admin.
        self._project_admins: dict[str, Path | None] = {}
        self.profile = PROFILE
        self._api = None
        self._dynamic = None

    # ------------------------------------------------------------------ clients
    @property
    def api(self):
        """kubernetes.client.ApiClient for the admin kubeconfig."""
        if self._api is None:
            from kubernetes import config

            self._api = config.new_client_from_config(config_file=self.kubeconfig)
        return self._api

    @property
    def dynamic(self):
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            self._dynamic = DynamicClient(self.api)
        return self._dynamic

    def get_json(self, path: str) -> dict:
        """GET a raw API path (e.g. ``/api/v1/namespaces``) and return the decoded JSON."""
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if not hasattr(self.api, "param_serialize"):
            # kubernetes <= 35 and >= 36.0.3 (older generator): raises ApiException itself
            resp = self.api.call_api(
                path, "GET", header_params=headers, auth_settings=["BearerToken"],
                _preload_content=False, _return_http_data_only=True,
            )
            return json.loads(resp.data)
        # kubernetes 36.0.0-36.0.2 and 37 (newer generator)
        req = self.api.param_serialize("GET", path, header_params=headers, auth_settings=["BearerToken"])
        resp = self.api.call_api(*req)
        resp.read()
        if not 200 <= resp.status < 300:
            raise ApiException(status=resp.status, reason=resp.reason, body=resp.data)
        return json.loads(resp.data)

    def kubectl_run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run kubectl with the admin kubeconfig."""
        return subprocess.run(
            [self.kubectl, "--kubeconfig", self.kubeconfig, *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
        )

    # ------------------------------------------------------------------ playbooks
    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["KUBECONFIG"] = self.kubeconfig
        env["ANSIBLE_NOCOLOR"] = "1"
        env["ANSIBLE_FORCE_COLOR"] = "0"
        env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
        env["ANSIBLE_LOCAL_TEMP"] = str(self.state / "ansible-tmp")
        env.pop("ANSIBLE_STDOUT_CALLBACK", None)
        # Nothing of the caller's Kubernetes credentials leaks into a run.
        for k in list(env):
            if k.startswith("K8S_AUTH_"):
                del env[k]
        return env

    def project_admin_kubeconfig(self, namespace: str) -> Path:
        """A kubeconfig (0600) of ServiceAccount ``project-admin`` of a ``rahti`` namespace: admin there only."""
        path = self._project_admins.get(namespace)
        if path is None:
            if namespace not in self._project_admins:
                raise KeyError(f"{namespace}: not a namespace of the rahti profile made by fresh_namespace")
            token = self.kubectl_run("-n", namespace, "create", "token", "project-admin", "--duration=6h").stdout.strip()
            users = self.state / "users"
            users.mkdir(mode=0o700, exist_ok=True)
            path = users / f"{namespace}.kubeconfig"
            config = {"apiVersion": "v1", "kind": "Config", "current-context": "project-admin",
                      "clusters": [{"name": "kwok", "cluster": {"server": self.server, "certificate-authority": self.ca_file}}],
                      "users": [{"name": "project-admin", "user": {"token": token}}],
                      "contexts": [{"name": "project-admin",
                                    "context": {"cluster": "kwok", "user": "project-admin", "namespace": namespace}}]}
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(config, f)
            self._project_admins[namespace] = path
        return path

    def auth_env(self, verify_ssl: bool = True) -> dict[str, str | None]:
        """Environment for a run with credentials only from K8S_AUTH_* (AWX style).

        Pass as ``run_playbook(..., env=cluster.auth_env(), inventory=None)``;
        KUBECONFIG is removed (a value of None removes a variable).
        """
        env: dict[str, str | None] = {
            "KUBECONFIG": None,
            "K8S_AUTH_HOST": self.server,
            "K8S_AUTH_API_KEY": self.token,
            # kubernetes.core falls back to ~/.kube/config: point HOME elsewhere.
            "HOME": str(self.state / "home-empty"),
        }
        (self.state / "home-empty").mkdir(exist_ok=True)
        if verify_ssl:
            env["K8S_AUTH_SSL_CA_CERT"] = self.ca_file
            env["K8S_AUTH_VERIFY_SSL"] = "true"
        else:
            env["K8S_AUTH_VERIFY_SSL"] = "false"
        return env

    def run_playbook(
        self,
        playbook: str,
        extra_vars: Mapping[str, Any] | None = None,
        env: Mapping[str, str | None] | None = None,
        inventory: str | None = "inventories/local",
        check: bool = False,
        diff: bool = False,
        args: list[str] | None = None,
        timeout: float = 900,
        collection: Path | None = None,
        as_cluster_admin: bool = False,
    ) -> PlaybookResult:
        """Run ``.venv/bin/ansible-playbook`` from the repo root.

        A run into a namespace of the ``rahti`` profile (``mlflow_namespace``) runs as that
        project's admin, as a Rahti user does (``project_admin_kubeconfig``), unless
        ``as_cluster_admin`` or ``env`` names the credentials (``KUBECONFIG``, ``K8S_AUTH_*``).

        ``playbook``: ``deploy.yml``, ``playbooks/deploy.yml`` or a path.
        ``extra_vars`` are handed over in a 0600 temp file (never on the command line).
        ``env`` entries override the environment; a value of None removes a variable.
        ``inventory=None`` runs without ``-i`` (implicit localhost, as in AWX).
        ``collection``: run another tree of this collection instead of the checkout, a directory
        ``<dir>/ansible_collections/csc/mlflow`` (``stackutil.collection_at``): the playbook and
        ansible.cfg are that tree's, it is the working directory, and ANSIBLE_COLLECTIONS_PATH is
        ``<dir>`` only, so that ``csc.mlflow.*`` is that tree's (kubernetes.core still comes from
        the venv's site-packages). The inventory stays the checkout's, as an operator keeps theirs
        across versions of the collection (inventories/local finds the test cluster from its path).
        """
        root = Path(collection) if collection is not None else REPO
        if root != REPO and root.parts[-3:-2] != ("ansible_collections",):
            raise ValueError(f"collection={root}: not a directory <dir>/ansible_collections/<namespace>/<name>")
        pb = Path(playbook)
        if not pb.is_absolute():
            for cand in (root / pb, root / "playbooks" / pb, root / "playbooks" / f"{playbook}.yml"):
                if cand.exists():
                    pb = cand
                    break
            else:
                pb = root / "playbooks" / pb
        cmd = [str(VENV_BIN / "ansible-playbook"), str(pb)]
        if inventory:
            cmd += ["-i", str(REPO / inventory)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(args or [])
        run_env = self.base_env()
        target = (extra_vars or {}).get("mlflow_namespace")
        if (not as_cluster_admin and target in self._project_admins
                and not any(k == "KUBECONFIG" or k.startswith("K8S_AUTH_") for k in env or {})):
            run_env["KUBECONFIG"] = run_env["K8S_AUTH_KUBECONFIG"] = str(self.project_admin_kubeconfig(target))
        if root != REPO:
            run_env["ANSIBLE_CONFIG"] = str(root / "ansible.cfg")
            run_env["ANSIBLE_COLLECTIONS_PATH"] = str(root.parents[2])
        for k, v in (env or {}).items():
            if v is None:
                run_env.pop(k, None)
            else:
                run_env[k] = str(v)
        (self.state / "ansible-tmp").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=self.state, delete=True) as ev:
            os.chmod(ev.name, 0o600)
            if extra_vars:
                json.dump(dict(extra_vars), ev)
                ev.flush()
                cmd += ["-e", f"@{ev.name}"]
            start = time.monotonic()
            proc = subprocess.run(cmd, cwd=root, env=run_env, capture_output=True, text=True, timeout=timeout,
                                  check=False)
            seconds = time.monotonic() - start
        return PlaybookResult(
            rc=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            recap=parse_recap(proc.stdout),
            args=cmd,
            seconds=seconds,
        )

    # ------------------------------------------------------------------ snapshots
    def _namespaced_list_paths(self) -> list[tuple[str, str, str]]:
        """(group, resource, list path template) for every listable namespaced resource."""
        out: list[tuple[str, str, str]] = []
        core = self.get_json("/api/v1")
        for r in core.get("resources", []):
            if r.get("namespaced") and "/" not in r["name"] and "list" in r.get("verbs", []):
                out.append(("", r["name"], "/api/v1/namespaces/{ns}/" + r["name"]))
        groups = self.get_json("/apis")
        for g in groups.get("groups", []):
            gv = g["preferredVersion"]["groupVersion"]
            try:
                res = self.get_json(f"/apis/{gv}")
            except Exception:  # an aggregated API that is down
                continue
            for r in res.get("resources", []):
                if r.get("namespaced") and "/" not in r["name"] and "list" in r.get("verbs", []):
                    out.append((g["name"], r["name"], f"/apis/{gv}/namespaces/{{ns}}/" + r["name"]))
        return [t for t in out if (t[0], t[1]) not in _SNAPSHOT_SKIP]

    def snapshot(self, namespace: str) -> dict[str, tuple[str, int | None, str]]:
        """Every object in ``namespace``: ``{"Kind/name": (written, generation, hash)}``.

        The hash covers the whole object except status and server-set metadata, so
        two snapshots differ exactly where an object was written with other content.
        ``written`` also changes when a write with equal content changed who manages a
        field; the status writes of the cluster's controllers (an autoscaler's
        conditions, a Deployment's ready count) change neither.
        """
        snap: dict[str, tuple[str, int | None, str]] = {}
        for group, _resource, tmpl in self._namespaced_list_paths():
            lst = self.get_json(tmpl.format(ns=namespace))
            kind = (lst.get("kind") or "").removesuffix("List")
            for item in lst.get("items", []):
                meta = item.get("metadata", {})
                key = f"{kind}/{meta.get('name')}"
                if key in snap and group:
                    key = f"{kind}.{group}/{meta.get('name')}"
                content = object_hash(item)
                snap[key] = (written_stamp(item, content), meta.get("generation"), content)
        return snap

    # ------------------------------------------------------------------ namespaces
    @property
    def other_profile(self) -> str:
        """The profile that is not the default one (to test both)."""
        return next(p for p in PROFILES if p != self.profile)

    def _next_uid_block(self) -> int:
        """Index of a UID block no other namespace of this cluster has (optimistic counter)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        core = client.CoreV1Api(self.api)
        for _attempt in range(50):
            try:
                cm = core.read_namespaced_config_map(UID_COUNTER, "kube-system")
            except ApiException as e:
                if e.status != 404:
                    raise
                body = {"metadata": {"name": UID_COUNTER}, "data": {"next": "2"}}
                try:
                    core.create_namespaced_config_map("kube-system", body)
                    return 1  # block 0 is the cluster's SCC probe (cluster.sh)
                except ApiException as e2:
                    if e2.status != 409:
                        raise
                    continue
            n = int((cm.data or {}).get("next", "1"))
            cm.data = {"next": str(n + 1)}
            try:
                core.replace_namespaced_config_map(UID_COUNTER, "kube-system", cm)  # 409 if someone was faster
                return n
            except ApiException as e:
                if e.status != 409:
                    raise
        raise RuntimeError("could not allocate a UID block")

    def profile_objects(self, name: str, profile: str) -> list[dict]:
        """The Namespace and what the platform `profile` puts into it."""
        if profile == "kubernetes":
            return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {
                "csc-mlflow.test/profile": "kubernetes"}}}]
        n = self._next_uid_block()
        # MCS categories: a distinct pair per block, as OpenShift's allocator gives (c<a>,c<b>, a > b).
        a = 1
        while a * (a + 1) // 2 <= n:
            a += 1
        b = n - a * (a - 1) // 2
        text = (PROFILE_RAHTI.read_text().replace("@NAMESPACE@", name).replace("@CSC_PROJECT@", str(CSC_PROJECT_BASE + n))
                .replace("@UID_START@", str(UID_BASE + UID_BLOCK * n)).replace("@MCS@", f"s0:c{a},c{b}"))
        return [i for d in load_yaml_all(text) for i in (d["items"] if d.get("kind") == "List" else [d])]

    def fresh_namespace(self, prefix: str = "t", labels: Mapping[str, str] | None = None,
                        profile: str | None = None) -> str:
        """Create a uniquely named namespace of `profile` (deleted when the session ends)."""
        profile = profile or self.profile
        if profile not in PROFILES:
            raise ValueError(f"profile {profile!r}: must be one of {', '.join(PROFILES)}")
        prefix = re.sub(r"[^a-z0-9-]", "-", prefix.lower()).strip("-")[:40] or "t"
        name = f"{prefix}-{secrets.token_hex(3)}"
        objs = self.profile_objects(name, profile)
        objs[0]["metadata"].setdefault("labels", {}).update(labels or {})
        self.kubectl_run("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
        self._namespaces.append(name)
        if profile == "rahti":
            self._project_admins[name] = None
        # The controllers add a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap
        # to every new namespace; wait for them so before/after snapshots do not race them.
        # A new ResourceQuota refuses pods until kube-controller-manager has computed its
        # status; the AppliedClusterResourceQuota's status follows (tests/cluster/standins.py).
        # On Rahti, a project has all of this long before anyone deploys into it.
        checks = [("serviceaccount", "default", "{.metadata.name}"), ("configmap", "kube-root-ca.crt", "{.metadata.name}")]
        checks += [(f"{o['kind'].lower()}.{o['apiVersion'].split('/', maxsplit=1)[0]}" if "/" in o["apiVersion"] else o["kind"].lower(),
                    o["metadata"]["name"], "{.status.used.pods}" if o["kind"] == "ResourceQuota" else "{.status.total.used.pods}")
                   for o in objs if o["kind"] in ("ResourceQuota", "AppliedClusterResourceQuota")]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = [self.kubectl_run("get", kind, obj, "-n", name, "--ignore-not-found", "-o", f"jsonpath={path}",
                                      check=False).stdout.strip()
                     for kind, obj, path in checks]
            if all(found):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"namespace {name} ({profile}) not ready in 30 s: {list(zip(checks, found))}")
        return name

    def delete_namespace(self, name: str, wait: bool = False) -> None:
        self.kubectl_run("delete", "namespace", name, "--ignore-not-found", f"--wait={str(wait).lower()}", check=False)
        if name in self._namespaces:
            self._namespaces.remove(name)
        path = self._project_admins.pop(name, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def cleanup(self) -> None:
        for ns in list(self._namespaces):
            self.delete_namespace(ns)


def _start_cluster() -> None:
    subprocess.run([str(BUILD_SH)], cwd=REPO, check=True)
    subprocess.run([str(CLUSTER_SH), "up"], cwd=REPO, check=True)


def refresh_contracts() -> None:
    """Regenerate the cluster's image-contracts ConfigMap from the files (no restart needed)."""
    subprocess.run([str(CLUSTER_SH), "contracts"], cwd=REPO, check=True)


def serve_cluster(state: Path = STATE, stop: bool = True, env: dict[str, str] | None = None):
    """Yield a Cluster on `state`; afterwards delete its test namespaces and, with `stop`, stop it."""
    c = Cluster(state=state)
    try:
        yield c
    finally:
        try:
            c.cleanup()
        finally:
            if stop:
                subprocess.run([str(CLUSTER_SH), "down"], cwd=REPO, check=False, env=env)


@pytest.fixture(scope="session")
def cluster():
    """The local test cluster (reused if running, else started and stopped here)."""
    started = False
    if not _kubeconfig_answers(STATE / "kubeconfig"):
        if not CLUSTER_SH.exists():
            pytest.skip("tests/cluster/cluster.sh not present")
        _start_cluster()
        started = True
    else:
        refresh_contracts()  # a running cluster: images/contracts.yml may have changed since `up`
    yield from serve_cluster(stop=started)


@pytest.fixture
def namespace(cluster, request):
    """A fresh namespace for one test, deleted after it."""
    ns = cluster.fresh_namespace(request.node.name[:30])
    yield ns
    cluster.delete_namespace(ns)


@pytest.fixture
def make_namespace(cluster):
    """``make_namespace(prefix="t", profile=None, labels=None)`` -> a fresh namespace; all deleted after the test."""
    made: list[str] = []

    def make(prefix: str = "t", profile: str | None = None, labels: Mapping[str, str] | None = None) -> str:
        made.append(cluster.fresh_namespace(prefix, labels=labels, profile=profile))
        return made[-1]

    yield make
    for ns in made:
        cluster.delete_namespace(ns)


def pytest_collection_modifyitems(config, items):
    # Anything using the cluster fixture is marked `cluster`, so `-m "not cluster"` works.
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


def load_yaml_all(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]
