"""What the playbooks applied to one namespace, read back from the test cluster the way the
kubelet would use it: pod specs, containers' environments (ConfigMaps and Secrets resolved,
`$(VAR)` expanded), their ConfigMap/Secret volumes written to local directories; `run_pod` runs a pod's containers
here as the kubelet would."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path


def _b64(s: str) -> str:
    return base64.b64decode(s).decode()


class Deployed:
    """What the playbooks applied to one namespace, read back from the cluster."""

    def __init__(self, api, namespace: str, app: str = "mlflow"):
        from kubernetes import client

        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.api = api
        self.ns = namespace
        self.app = app
        self._cm: dict[str, dict[str, str]] = {}
        self._sec: dict[str, dict[str, str]] = {}

    def configmap(self, name: str) -> dict[str, str]:
        if name not in self._cm:
            self._cm[name] = dict(self.core.read_namespaced_config_map(name, self.ns).data or {})
        return self._cm[name]

    def secret(self, name: str) -> dict[str, str]:
        if name not in self._sec:
            data = self.core.read_namespaced_secret(name, self.ns).data or {}
            self._sec[name] = {k: _b64(v) for k, v in data.items()}
        return self._sec[name]

    def refresh(self) -> None:
        self._cm.clear()
        self._sec.clear()

    def pod_spec(self, deployment: str) -> dict:
        d = self.apps.read_namespaced_deployment(deployment, self.ns)
        return self.api.sanitize_for_serialization(d.spec.template.spec)

    def routes(self) -> dict[str, tuple[str, object]]:
        """The namespace's Routes: name -> (host, the pod port they reach: a number or a port name). A Route whose
        Service is not there (yet: a run that applied the Routes first and stopped) reaches nothing and is left out."""
        from kubernetes import client

        try:
            items = client.CustomObjectsApi(self.api).list_namespaced_custom_object(
                "route.openshift.io", "v1", self.ns, "routes")["items"]
        except client.ApiException as e:
            if e.status == 404:
                return {}
            raise
        out = {}
        for r in items:
            spec = r.get("spec") or {}
            try:
                svc = self.core.read_namespaced_service(spec["to"]["name"], self.ns)
            except client.ApiException as e:
                if e.status == 404:
                    continue
                raise
            want = (spec.get("port") or {}).get("targetPort")
            for p in svc.spec.ports:
                if want is None or want in (p.name, p.port, p.target_port):
                    out[r["metadata"]["name"]] = (spec.get("host", ""), p.target_port)
                    break
        return out

    def replicas(self, deployment: str) -> int:
        d = self.apps.read_namespaced_deployment(deployment, self.ns)
        return 1 if d.spec.replicas is None else int(d.spec.replicas)

    def job_specs(self) -> list[tuple[str, dict]]:
        jobs = self.batch.list_namespaced_job(self.ns).items
        jobs.sort(key=lambda j: j.metadata.creation_timestamp)
        return [(j.metadata.name, self.api.sanitize_for_serialization(j.spec.template.spec)) for j in jobs]

    def cronjob_spec(self, name: str) -> dict:
        """The pod spec of the Jobs a CronJob creates."""
        cj = self.batch.read_namespaced_cron_job(name, self.ns)
        return self.api.sanitize_for_serialization(cj.spec.job_template.spec.template.spec)

    @staticmethod
    def container(spec: dict, name: str | None = None, init: bool = False, match: str | None = None) -> dict:
        items = spec.get("initContainers" if init else "containers") or []
        for c in items:
            text = json.dumps(c)
            if (name is None or c["name"] == name) and (match is None or match in text):
                return c
        raise KeyError(f"no {'init ' if init else ''}container name={name} match={match}")

    def env(self, container: dict) -> dict[str, str]:
        """The container's environment as the kubelet would compute it."""
        env: dict[str, str] = {}
        for src in container.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if src.get("configMapRef"):
                data = self.configmap(src["configMapRef"]["name"])
            else:
                data = self.secret(src["secretRef"]["name"])
            env.update({prefix + k: v for k, v in data.items()})
        for e in container.get("env") or []:
            if "value" in e and e.get("value") is not None:
                env[e["name"]] = expand(e["value"], env)
            elif e.get("valueFrom"):
                vf = e["valueFrom"]
                if vf.get("secretKeyRef"):
                    ref = vf["secretKeyRef"]
                    val = self.secret(ref["name"]).get(ref["key"])
                elif vf.get("configMapKeyRef"):
                    ref = vf["configMapKeyRef"]
                    val = self.configmap(ref["name"]).get(ref["key"])
                elif vf.get("fieldRef"):
                    val = {"metadata.namespace": self.ns}.get(vf["fieldRef"]["fieldPath"], "")
                else:
                    val = ""
                if val is None and not (vf.get("secretKeyRef") or vf.get("configMapKeyRef") or {}).get("optional"):
                    raise KeyError(f"env {e['name']}: missing {vf}")
                if val is not None:
                    env[e["name"]] = val
            else:
                env[e["name"]] = ""
        return env

    def materialise_volumes(self, spec: dict, container: dict, root: Path, claims: Path | None = None) -> dict[str, str]:
        """Write the container's ConfigMap/Secret volumes to `root`; emptyDir/PVC -> dirs.

        With `claims`, a PersistentVolumeClaim is the one directory `claims/<claim name>` for every pod that mounts
        it (as the cluster gives every pod the same volume: a Job run here sees the tracking server's files), and
        `root/vol/<volume name>` a link to it. Returns {mountPath: local path}.
        """
        vols = {v["name"]: v for v in spec.get("volumes") or []}
        mounts: dict[str, str] = {}
        for m in container.get("volumeMounts") or []:
            v = vols[m["name"]]
            local = root / "vol" / m["name"]
            if v.get("configMap") or v.get("secret"):
                data = (self.configmap(v["configMap"]["name"]) if v.get("configMap")
                        else self.secret(v["secret"]["secretName"]))
                items = (v.get("configMap") or v.get("secret")).get("items")
                local.mkdir(parents=True, exist_ok=True)
                if items:
                    for it in items:
                        (local / it["path"]).parent.mkdir(parents=True, exist_ok=True)
                        (local / it["path"]).write_text(data[it["key"]])
                else:
                    for k, val in data.items():
                        (local / k).write_text(val)
                os.chmod(local, 0o755)
                for f in local.rglob("*"):
                    os.chmod(f, 0o755 if f.is_dir() else 0o644)
            elif claims is not None and v.get("persistentVolumeClaim"):
                claim = claims / v["persistentVolumeClaim"]["claimName"]
                claim.mkdir(parents=True, exist_ok=True)
                os.chmod(claim, 0o1777)
                local.parent.mkdir(parents=True, exist_ok=True)
                if not local.is_symlink():
                    local.symlink_to(claim, target_is_directory=True)
                local = claim
            else:  # emptyDir, PVC: a directory writable by any (arbitrary) UID
                local.mkdir(parents=True, exist_ok=True)
                os.chmod(local, 0o1777)
            target = local / m["subPath"] if m.get("subPath") else local
            if m.get("subPath") and not (v.get("configMap") or v.get("secret")):
                # the kubelet creates a missing subPath of a volume
                target.mkdir(parents=True, exist_ok=True)
                os.chmod(target, 0o1777)
            mounts[m["mountPath"]] = str(target)
        return mounts


_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(s: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion; `$$` is a literal `$`; unknown stays."""
    def rep(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR.sub(rep, s)


def container_argv(container: dict, env: dict[str, str]) -> list[str]:
    """The container's command and args, `$(VAR)`-expanded with `env` as the kubelet does."""
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    return [expand(a, env) for a in argv]


def copy_job_env(old: dict, new: dict) -> dict:
    """SRC_/DST_ settings of the artifact copy Job, from the tracking container's env before/after the switch (the
    role deletes the Job's own Secret once the Job is done)."""
    env = {}
    for side, e in (("SRC", old), ("DST", new)):
        env.update({f"{side}_ENDPOINT_URL": e["MLFLOW_S3_ENDPOINT_URL"], f"{side}_BUCKET": e["S3_BUCKET"],
                    f"{side}_PREFIX": e.get("S3_PREFIX", ""), f"{side}_AWS_ACCESS_KEY_ID": e["AWS_ACCESS_KEY_ID"],
                    f"{side}_AWS_SECRET_ACCESS_KEY": e["AWS_SECRET_ACCESS_KEY"],
                    f"{side}_CHECKSUM_WHEN_REQUIRED":
                        str(e.get("AWS_REQUEST_CHECKSUM_CALCULATION") == "when_required").lower()})
    return env


def run_pod(stack, spec: dict, pod: str, **kwargs) -> list[tuple[str, object]]:
    """The pod's init containers, then its containers, one after the other (as the kubelet does), with
    `stack.run_container_once(spec, container, pod, **kwargs)` (a running_stack Stack); stops at the first that fails.
    Returns [(container name, its CompletedProcess)]."""
    out = []
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        res = stack.run_container_once(spec, c, pod, **kwargs)
        out.append((c["name"], res))
        if res.returncode != 0:
            break
    return out


def with_env(container: dict, env: dict) -> dict:
    """`container` with `env` as its whole environment."""
    c = dict(container)
    c.pop("envFrom", None)
    c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return c
