"""The handle on the local test cluster (its clients, kubectl) and the way a session starts and stops it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from harness.namespaces import Namespaces
from harness.paths import BUILD_SH, CLUSTER_SH, PROFILE, REPO, STATE, kubectl_path, read_file
from harness.playbooks import PlaybookRuns
from harness.snapshots import Snapshots


class Cluster(PlaybookRuns, Snapshots, Namespaces):
    """Handle on the local test cluster; see the module docstring."""

    def __init__(self, state: Path = STATE):
        self.state = state
        self.kubeconfig = str(state / "kubeconfig")
        self.ca_file = str(state / "ca.crt")
        self.token = read_file(state / "token")
        self.server = read_file(state / "server")
        self.kubectl = str(kubectl_path())
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

    def allowlist_condition(self, namespace: str, route: str, timeout: float = 30) -> dict:
        """The router stand-in's condition AllowlistEnforced of a Route (tests/cluster/standins.py): does every
        router generation admit only the listed addresses? Waits until the stand-in wrote one."""
        end = time.monotonic() + timeout
        while True:
            obj = self.get_json(f"/apis/route.openshift.io/v1/namespaces/{namespace}/routes/{route}")
            for ingress in obj.get("status", {}).get("ingress") or []:
                for cond in ingress.get("conditions") or []:
                    if cond["type"] == "AllowlistEnforced":
                        return cond
            if time.monotonic() > end:
                raise TimeoutError(f"no AllowlistEnforced condition on Route {namespace}/{route} after {timeout} s")
            time.sleep(0.2)


def start_cluster() -> None:
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
