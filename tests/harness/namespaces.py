"""Fresh namespaces set up as a platform profile has them (Rahti's SCC annotations, LimitRange and quotas, or a
plain Kubernetes namespace), and their removal."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Mapping

import yaml

from harness.paths import PROFILE_RAHTI, PROFILES

# The CSC computing project a rahti-profile namespace bills to (csc_project: label/description):
# one of its own per namespace (CSC_PROJECT_BASE + its UID block), so that the project's quota,
# which Rahti shares among all projects of a CSC project, is exactly the namespace's quota.
CSC_PROJECT_BASE = 2000000
# OpenShift hands each namespace a block of 10000 UIDs/GIDs from 1000000000 on; the next free
# block is counted in this ConfigMap (kube-system), so sessions sharing the cluster differ too.
UID_BASE, UID_BLOCK = 1000000000, 10000
UID_COUNTER = "csc-mlflow-scc-uid-blocks"


def load_yaml_all(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


class Namespaces:
    """Namespaces of the test cluster (a part of Cluster)."""

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


def module_namespace(prefix: str):
    """A module-scoped fixture ``ns``: one fresh namespace for the tests of a module that tell one story in file
    order, deleted after the module. In the module: ``ns = module_namespace("it-story")``."""
    import pytest

    @pytest.fixture(scope="module")
    def ns(cluster):
        name = cluster.fresh_namespace(prefix)
        yield name
        cluster.delete_namespace(name)

    return ns
