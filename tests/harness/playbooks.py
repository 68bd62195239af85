"""ansible-playbook runs against the test cluster: as a Rahti project's admin, with AWX-style credentials, or
from another tree of the collection; their outcome (PlaybookResult)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from harness.paths import REPO, VENV_BIN

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


class PlaybookRuns:
    """Running playbooks (a part of Cluster)."""

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
