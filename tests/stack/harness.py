"""Running-stack harness: real PostgreSQL, MinIO, MLflow and NGINX on 127.0.0.1.

The stack is started from what the playbooks applied to the test cluster: the pod specs
of the Deployments (command, args, env resolved from ConfigMaps/Secrets like the kubelet
does, `$(VAR)` expansion included), the volumes they mount (ConfigMaps and Secrets
written to temp dirs), the NGINX config and the htpasswd content. Nothing of that
configuration is written down a second time here.

The ONLY changes made to it are addresses, ports and paths, all in `Substitutions`:
in-cluster Service names -> 127.0.0.1:<local port>, the pod's fixed ports -> free ports,
volume mount paths -> temp dirs.

Every server binds 127.0.0.1, writes a PID file under `<state>/pids/` and is stopped by
PID (its own process group).

CLI (used by `make demo`):
    python tests/stack/harness.py up --namespace NS [--app mlflow] --state DIR
    python tests/stack/harness.py down --state DIR
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CSC_MLFLOW_CACHE", Path.home() / ".cache" / "csc-mlflow"))
PG_BIN = Path("/usr/lib/postgresql/15/bin")


# --------------------------------------------------------------------------- tools
def _versions() -> dict[str, str]:
    out = {}
    for line in (REPO / "tests/stack/versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def minio_version() -> str:
    defaults = REPO / "roles/mlflow_minio/defaults/main.yml"
    if defaults.exists():
        m = re.search(r"^mlflow_minio_version:\s*[\"']?(v0\.0\.0-[^\"'\s]+)", defaults.read_text(), re.M)
        if m:
            return m.group(1)
    return _versions()["MINIO_MODULE_VERSION"]


def _req_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@dataclass
class Tools:
    minio: Path
    mlflow_venv: Path
    mlflow_old_venv: Path
    nginx: Path = Path("/usr/sbin/nginx")
    pg_bin: Path = PG_BIN
    chromium: Path = Path("/usr/bin/chromium")

    @classmethod
    def find(cls) -> "Tools":
        return cls(
            minio=CACHE / "bin" / f"minio-{minio_version()}" / "minio",
            mlflow_venv=CACHE / "venv" / f"mlflow-{_req_sha(REPO / 'images/mlflow/requirements.txt')}",
            mlflow_old_venv=CACHE / "venv" / f"mlflow-old-{_req_sha(REPO / 'tests/stack/requirements-old.txt')}",
        )

    def missing(self) -> list[str]:
        miss = [str(p) for p in (self.minio, self.nginx, self.pg_bin / "postgres") if not p.exists()]
        miss += [str(v) for v in (self.mlflow_venv, self.mlflow_old_venv) if not (v / ".installed").exists()]
        return miss

    def python(self, old: bool = False) -> str:
        return str((self.mlflow_old_venv if old else self.mlflow_venv) / "bin" / "python")


def allow_traverse(path: Path, user: str) -> None:
    """Let an unprivileged `user` reach `path`: add o+x to temp parents (not read)."""
    for parent in path.resolve().parents:
        if parent == Path("/") or str(parent) in ("/tmp", "/var/tmp"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, (mode & 0o7777) | 0o001)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60, ok: Callable[[int], bool] = lambda c: c < 500, proc=None) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}; see {getattr(proc, 'log', '')}")
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if ok(r.status):
                    return
        except urllib.error.HTTPError as e:
            if ok(e.code):
                return
            last = e
        except OSError as e:
            last = e
        time.sleep(0.25)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


# ------------------------------------------------------------------------ processes
class Procs:
    """Starts processes in their own process group; PID files in <state>/pids."""

    def __init__(self, state: Path):
        self.state = state
        (state / "pids").mkdir(parents=True, exist_ok=True)
        (state / "logs").mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, user: str | None = None,
              cwd: Path | None = None) -> subprocess.Popen:
        log = self.state / "logs" / f"{name}.log"
        fh = open(log, "ab")
        if user:  # the process may reopen /dev/stdout or /dev/stderr (nginx does)
            shutil.chown(log, user)
        p = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, user=user, group=_group_of(user) if user else None,
                             extra_groups=[] if user else None,
                             cwd=cwd)
        fh.close()
        p.log = log  # type: ignore[attr-defined]
        (self.state / "pids" / f"{name}.pid").write_text(str(p.pid))
        self.procs[name] = p
        return p

    def stop(self, name: str, timeout: float = 20) -> None:
        pidfile = self.state / "pids" / f"{name}.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text())
        stop_pid(pid, timeout)
        pidfile.unlink(missing_ok=True)
        p = self.procs.pop(name, None)
        if p is not None:
            try:
                p.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass

    def stop_all(self) -> None:
        # reverse start order: clients of a service stop before the service
        for pidfile in sorted((self.state / "pids").glob("*.pid"), key=lambda p: p.stat().st_mtime, reverse=True):
            self.stop(pidfile.stem)


def stop_pid(pid: int, timeout: float = 20) -> None:
    """SIGTERM the process group led by `pid` (a process we started), then SIGKILL."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        try:  # reap if it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ----------------------------------------------------------- reading the cluster
def _group_of(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


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

    def job_specs(self) -> list[tuple[str, dict]]:
        jobs = self.batch.list_namespaced_job(self.ns).items
        jobs.sort(key=lambda j: j.metadata.creation_timestamp)
        return [(j.metadata.name, self.api.sanitize_for_serialization(j.spec.template.spec)) for j in jobs]

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

    def materialise_volumes(self, spec: dict, container: dict, root: Path) -> dict[str, str]:
        """Write the container's ConfigMap/Secret volumes to `root`; emptyDir/PVC -> dirs.

        Returns {mountPath: local path}.
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


# ------------------------------------------------------------- the substitutions
@dataclass
class Substitutions:
    """The one place where cluster addresses, ports and paths become local ones."""

    namespace: str
    services: dict[str, int] = field(default_factory=dict)     # service name -> local port (any svc port)
    ports: dict[int, int] = field(default_factory=dict)         # pod-local fixed port -> local port
    paths: dict[str, str] = field(default_factory=dict)         # mount path -> local path

    def __call__(self, s: str) -> str:
        for svc, port in self.services.items():
            names = [f"{svc}.{self.namespace}.svc.cluster.local", f"{svc}.{self.namespace}.svc",
                     f"{svc}.{self.namespace}", svc]
            for n in names:
                s = re.sub(rf"(?<![\w.-]){re.escape(n)}:\d+(?![\w.-])", f"127.0.0.1:{port}", s)
                s = re.sub(rf"(//)({re.escape(n)})(?=[/\"'\s]|$)", rf"\g<1>127.0.0.1:{port}", s)
                # `-h <svc>` (pg_dump/psql): the host only; the port comes from PGPORT
                s = re.sub(rf"(-h\s+|--host[= ])['\"]?{re.escape(n)}['\"]?(?![\w.:-])", r"\g<1>127.0.0.1", s)
        for fixed, port in self.ports.items():
            s = re.sub(rf"(127\.0\.0\.1|localhost|0\.0\.0\.0):{fixed}(?!\d)", rf"\g<1>:{port}", s)
            s = re.sub(rf"(--port[= ]|-p )(?:(?:127\.0\.0\.1|0\.0\.0\.0|\[::\]):)?{fixed}(?!\d)", rf"\g<1>{port}", s)
            s = re.sub(rf"(listen\s+)(?:(?:127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]):)?{fixed}(?!\d)",
                       rf"\g<1>127.0.0.1:{port}", s)
        if self.paths:  # one pass: a replaced path is not matched again (e.g. /tmp inside it)
            mounts = sorted(self.paths, key=len, reverse=True)
            alt = "|".join(re.escape(m) for m in mounts)
            s = re.sub(rf"(?<![\w/.-])({alt})(?=[/\s;\"':]|$)", lambda m: self.paths[m.group(1)], s)
        # every server binds loopback only
        s = s.replace("0.0.0.0", "127.0.0.1")
        return s

    def argv(self, argv: list[str]) -> list[str]:
        out = [self(a) for a in argv]
        for i in range(1, len(out)):
            if out[i - 1] in ("-p", "--port") and out[i].isdigit() and int(out[i]) in self.ports:
                out[i] = str(self.ports[int(out[i])])
        return out

    def env(self, env: dict[str, str]) -> dict[str, str]:
        out = {k: self(v) for k, v in env.items()}
        for k in ("MLFLOW_PORT",):
            if k in out and out[k].isdigit() and int(out[k]) in self.ports:
                out[k] = str(self.ports[int(out[k])])
        return out


def _cmd(container: dict, env: dict[str, str]) -> list[str]:
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    return [expand(a, env) for a in argv]


def local_env(extra: dict[str, str], venv: Path | None = None, home: Path | None = None) -> dict[str, str]:
    base = {k: os.environ[k] for k in ("LANG", "LC_ALL", "TZ") if k in os.environ}
    path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    if venv:
        path = f"{venv}/bin:{path}"
    base.update({"PATH": path, "HOME": str(home or tempfile.gettempdir())})
    base.update(extra)
    if venv:
        base["PATH"] = f"{venv}/bin:" + base.get("PATH", path).replace(f"{venv}/bin:", "")
    return base


# ----------------------------------------------------------------------- services
@dataclass
class Postgres:
    procs: Procs
    root: Path
    user: str
    password: str
    database: str
    tools: Tools
    port: int = 0

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        allow_traverse(self.root, "postgres")
        data = self.root / "data"
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            shutil.chown(data, "postgres", "postgres")
            pwfile = self.root / "pw"
            pwfile.write_text(self.password + "\n")
            shutil.chown(pwfile, "postgres", "postgres")
            os.chmod(pwfile, 0o600)
            subprocess.run([str(self.tools.pg_bin / "initdb"), "-D", str(data), "-U", self.user,
                            f"--pwfile={pwfile}", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                            "-E", "UTF8", "--locale=C.UTF-8"], check=True, user="postgres", group=_group_of("postgres"),
                           extra_groups=[], capture_output=True, cwd="/")
            pwfile.unlink()
        (self.root / "sock").mkdir(exist_ok=True)
        shutil.chown(self.root / "sock", "postgres", "postgres")

    def start(self) -> None:
        self.port = self.port or free_port()
        argv = [str(self.tools.pg_bin / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root / 'sock'}",
                "-c", "fsync=off", "-c", "full_page_writes=off"]
        p = self.procs.start("postgresql", argv, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                             user="postgres", cwd=Path("/"))
        self.wait(p)
        if not self._db_exists():
            self.psql("postgres", f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')

    def wait(self, p=None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p is not None and p.poll() is not None:
                raise RuntimeError(f"postgres exited; see {p.log}")
            r = subprocess.run([str(self.tools.pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], check=False,
                               capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError("postgres not ready")

    def psql(self, db: str, sql: str) -> str:
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True,
                           env={**os.environ, "PGPASSWORD": self.password}, check=True)
        return r.stdout

    def _db_exists(self) -> bool:
        return self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname='{self.database}'").strip() == "1"

    def stop(self) -> None:
        self.procs.stop("postgresql")

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"


@dataclass
class MinIO:
    procs: Procs
    name: str
    root: Path
    access_key: str
    secret_key: str
    tools: Tools
    port: int = 0

    def start(self) -> None:
        self.port = self.port or free_port()
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        env = local_env({"MINIO_ROOT_USER": self.access_key, "MINIO_ROOT_PASSWORD": self.secret_key,
                         "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"}, home=self.root)
        argv = [str(self.tools.minio), "server", "--quiet", "--address", f"127.0.0.1:{self.port}",
                "--console-address", f"127.0.0.1:{free_port()}", str(self.root / "data")]
        p = self.procs.start(self.name, argv, env=env)
        wait_http(f"{self.endpoint}/minio/health/ready", 60, ok=lambda c: c == 200, proc=p)

    def stop(self) -> None:
        self.procs.stop(self.name)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def s3(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1",
                            config=Config(retries={"max_attempts": 3}))


# ------------------------------------------------------------------------ the stack
@dataclass
class Stack:
    """The stack deployed to `namespace`, running on this machine."""

    deployed: Deployed
    state: Path
    tools: Tools = field(default_factory=Tools.find)
    old: bool = False          # run the tracking/model servers with the old MLflow venv

    def __post_init__(self):
        self.state.mkdir(parents=True, exist_ok=True)
        self.procs = Procs(self.state)
        self.app = self.deployed.app
        self.subs = Substitutions(self.deployed.ns)
        self.pg: Postgres | None = None
        self.minio: MinIO | None = None
        self.mlflow_port = 0
        self.nginx_port = 0
        self.models_port = 0
        self.models_nginx_port = 0

    # ---- services -------------------------------------------------------------
    def start_postgresql(self) -> None:
        spec = self.deployed.pod_spec(f"{self.app}-postgresql")
        env = self.deployed.env(spec["containers"][0])
        user = env.get("POSTGRESQL_USER") or env.get("POSTGRES_USER")
        password = env.get("POSTGRESQL_PASSWORD") or env.get("POSTGRES_PASSWORD")
        database = env.get("POSTGRESQL_DATABASE") or env.get("POSTGRES_DB")
        self.pg = Postgres(self.procs, self.state / "postgresql", user, password, database, self.tools)
        self.pg.init()
        self.pg.start()
        self.subs.services[f"{self.app}-postgresql"] = self.pg.port

    def start_minio(self) -> None:
        spec = self.deployed.pod_spec(f"{self.app}-minio")
        env = self.deployed.env(spec["containers"][0])
        self.minio = MinIO(self.procs, "minio", self.state / "minio", env["MINIO_ROOT_USER"],
                           env["MINIO_ROOT_PASSWORD"], self.tools)
        self.minio.start()
        self.subs.services[f"{self.app}-minio"] = self.minio.port

    def run_container_once(self, spec: dict, container: dict, name: str, venv: Path | None = None,
                           timeout: float = 300) -> subprocess.CompletedProcess:
        """Run an init container / Job container's command locally (same argv and env)."""
        root = self.state / "run" / name
        root.mkdir(parents=True, exist_ok=True)
        subs = self.local_subs(self.deployed.materialise_volumes(spec, container, root))
        env = subs.env(self.deployed.env(container))
        if self.pg is not None:  # `-h <postgresql service>` without a port: the local port
            env["PGPORT"] = str(self.pg.port)
        argv = subs.argv(_cmd(container, env))
        return subprocess.run(argv, check=False, env=local_env(env, venv or self.tools.mlflow_venv, home=root),
                              capture_output=True, text=True, timeout=timeout, cwd=root)

    def local_subs(self, paths: dict[str, str] | None = None, ports: dict[int, int] | None = None) -> Substitutions:
        """The stack's substitutions plus one container's mount paths / ports."""
        return Substitutions(self.subs.namespace, dict(self.subs.services), {**self.subs.ports, **(ports or {})},
                             {**self.subs.paths, **(paths or {})})

    def setup_bucket(self) -> None:
        """Run the deployment's own bucket set-up (init container that talks to MinIO)."""
        for dep in (self.app, f"{self.app}-minio"):
            spec = self.deployed.pod_spec(dep)
            for c in spec.get("initContainers") or []:
                if "bucket" in json.dumps(c).lower():
                    r = self.run_container_once(spec, c, f"{dep}-{c['name']}")
                    if r.returncode != 0:
                        raise RuntimeError(f"bucket set-up {c['name']} failed: {r.stdout}\n{r.stderr}")
                    return
        raise RuntimeError("no bucket set-up init container found in the deployed pods")

    def mlflow_container(self) -> tuple[dict, dict]:
        spec = self.deployed.pod_spec(self.app)
        return spec, self.deployed.container(spec, "mlflow")

    def start_mlflow(self) -> None:
        spec, c = self.mlflow_container()
        self.mlflow_port = self.mlflow_port or free_port()
        self.subs.ports[5000] = self.mlflow_port
        root = self.state / "mlflow"
        root.mkdir(parents=True, exist_ok=True)
        subs = self.local_subs(self.deployed.materialise_volumes(spec, c, root))
        env = subs.env(self.deployed.env(c))
        argv = subs.argv(_cmd(c, env))
        venv = self.tools.mlflow_old_venv if self.old else self.tools.mlflow_venv
        # the image's HOME/TMPDIR are the pod's writable paths; here: temp dirs
        tmp = root / "tmp"
        tmp.mkdir(exist_ok=True)
        env.setdefault("TMPDIR", str(tmp))
        env["TMPDIR"] = subs(env["TMPDIR"])
        p = self.procs.start("mlflow", argv, env=local_env(env, venv, home=root), cwd=root)
        wait_http(f"http://127.0.0.1:{self.mlflow_port}/health", 180, ok=lambda c: c == 200, proc=p)

    def start_nginx(self, deployment: str | None = None, name: str = "nginx", upstream_fixed: int = 5000,
                    upstream_local: int | None = None) -> int:
        deployment = deployment or self.app
        spec = self.deployed.pod_spec(deployment)
        c = self.deployed.container(spec, "nginx")
        root = self.state / name
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o1777)  # nginx runs as an unprivileged user, like in the pod
        allow_traverse(root, "nobody")
        os.chmod(root / "tmp", 0o1777)
        mounts = self.deployed.materialise_volumes(spec, c, root)
        port = free_port()
        listen = [p["containerPort"] for p in c.get("ports") or []] or [8080]
        # the container's stdout/stderr -> files (an unprivileged nginx cannot reopen our pipes)
        logs = {"/dev/stdout": str(root / "access.log"), "/dev/stderr": str(root / "error.log")}
        upstream = upstream_local or self.subs.ports.get(upstream_fixed, upstream_fixed)
        subs = self.local_subs({**mounts, **logs}, {listen[0]: port, upstream_fixed: upstream})
        for path in (Path(p) for p in mounts.values()):
            for f in ([path] if path.is_file() else path.rglob("*.conf")):
                if f.is_file() and f.suffix == ".conf":
                    f.write_text(subs(f.read_text()))
        main = root / "nginx.conf"
        main.write_text(self._nginx_main(mounts, root))
        argv = [str(self.tools.nginx), "-e", str(root / "error.log"), "-p", str(root), "-c", str(main)]
        test = subprocess.run(argv + ["-t"], check=False, capture_output=True, text=True, user="nobody", group=_group_of("nobody"),
                              extra_groups=[])
        if test.returncode != 0:
            raise RuntimeError(f"nginx config rejected: {test.stderr}")
        p = self.procs.start(name, argv, env={"PATH": "/usr/sbin:/usr/bin:/bin"}, user="nobody", cwd=root)
        wait_http(f"http://127.0.0.1:{port}/health", 30, ok=lambda c: c < 500, proc=p)
        return port

    def _nginx_main(self, mounts: dict[str, str], root: Path) -> str:
        """A main nginx.conf like the image's: include the deployed config files.

        If the deployed config is a full nginx.conf (it has an `http {` block) it is used
        as is, minus the directives that name files of the image (pid, error_log, user).
        """
        full = None
        for m, p in mounts.items():
            pp = Path(p)
            for f in ([pp] if pp.is_file() else pp.rglob("*")):
                if f.is_file() and re.search(r"^\s*http\s*\{", f.read_text(), re.M):
                    full = f
        common = (f"pid {root}/nginx.pid;\ndaemon off;\n")
        if full is not None:
            text = full.read_text()
            text = re.sub(r"^\s*(pid|user|daemon|error_log)\s[^;]*;\s*$", "", text, flags=re.M)
            return common + text
        includes = []
        for m, p in mounts.items():
            pp = Path(p)
            for f in ([pp] if pp.is_file() else sorted(pp.rglob("*.conf"))):
                if f.is_file() and f.suffix == ".conf":
                    includes.append(f"    include {f};")
        return (common + "worker_processes 2;\nevents { worker_connections 1024; }\nhttp {\n"
                "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
                f"    access_log {root}/access.log;\n    client_body_temp_path {root}/tmp/body;\n"
                f"    proxy_temp_path {root}/tmp/proxy;\n" + "\n".join(includes) + "\n}\n")

    # ---- whole stack ----------------------------------------------------------
    def up(self) -> "Stack":
        missing = self.tools.missing()
        if missing:
            raise RuntimeError(f"stack tools missing (run `make stack-tools`): {missing}")
        self.start_postgresql()
        self.start_minio()
        self.setup_bucket()
        self.start_mlflow()
        self.nginx_port = self.start_nginx()
        self.subs.services[self.app] = self.nginx_port
        self.save()
        return self

    def down(self) -> None:
        self.procs.stop_all()

    def save(self) -> None:
        (self.state / "stack.json").write_text(json.dumps({
            "namespace": self.deployed.ns, "app": self.app, "tracking_uri": self.tracking_uri,
            "mlflow_port": self.mlflow_port, "nginx_port": self.nginx_port,
            "minio_endpoint": self.minio.endpoint if self.minio else None,
            "postgresql_port": self.pg.port if self.pg else None,
        }, indent=2))

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def direct_uri(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    # ---- users ---------------------------------------------------------------
    def users(self) -> dict[str, str]:
        return self.deployed.secret(f"{self.app}-users")

    def client_env(self, user: str | None = None, password: str | None = None, direct: bool = False) -> dict[str, str]:
        users = self.users()
        user = user or next(iter(users))
        env = {"MLFLOW_TRACKING_URI": self.direct_uri if direct else self.tracking_uri,
               "MLFLOW_TRACKING_USERNAME": user,
               "MLFLOW_TRACKING_PASSWORD": password if password is not None else users[user]}
        return env

    def run_client(self, code: str, env: dict[str, str] | None = None, timeout: float = 600, old: bool = False,
                   check: bool = True) -> subprocess.CompletedProcess:
        """Run Python client code in the MLflow venv (a user's training script)."""
        root = self.state / "client"
        root.mkdir(exist_ok=True)
        venv = self.tools.mlflow_old_venv if old else self.tools.mlflow_venv
        r = subprocess.run([str(venv / "bin" / "python"), "-c", code], check=False,
                           env=local_env(env or self.client_env(), venv, home=root), cwd=root,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"client failed rc={r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}")
        return r

    # ---- models ---------------------------------------------------------------
    def start_models(self) -> str:
        """Start the Models deployment's server (and its auth sidecar when it has one)."""
        spec = self.deployed.pod_spec(f"{self.app}-models")
        c = self.deployed.container(spec, match="models")
        self.models_port = free_port()
        root = self.state / "models"
        root.mkdir(parents=True, exist_ok=True)
        ports = [p["containerPort"] for p in c.get("ports") or []] or [5001]
        subs = self.local_subs(self.deployed.materialise_volumes(spec, c, root), {ports[0]: self.models_port})
        env = subs.env(self.deployed.env(c))
        argv = subs.argv(_cmd(c, env))
        p = self.procs.start("models", argv, env=local_env(env, self.tools.mlflow_venv, home=root), cwd=root)
        wait_http(f"http://127.0.0.1:{self.models_port}/ping", 300, ok=lambda c: c == 200, proc=p)
        try:
            self.deployed.container(spec, "nginx")
        except KeyError:
            return f"http://127.0.0.1:{self.models_port}"
        self.models_nginx_port = self.start_nginx(f"{self.app}-models", "models-nginx", ports[0], self.models_port)
        return f"http://127.0.0.1:{self.models_nginx_port}"


# ------------------------------------------------------------------ playbooks
@dataclass
class Deployment:
    namespace: str
    app: str
    extra_vars: dict
    printed: dict            # NAME=value lines the playbook printed (export lines)
    stdout: str


EXPORT_RE = re.compile(r"(?:export\s+)?(MLFLOW_[A-Z_]+|AWS_[A-Z_]+)=([^\s\"'\\]+)")


def playbook(cluster, name: str, extra_vars: dict):
    """cluster.run_playbook with the cluster's own kubeconfig also for inventories/local."""
    return cluster.run_playbook(name, extra_vars=extra_vars, env={"K8S_AUTH_KUBECONFIG": cluster.kubeconfig})


def deploy(cluster, namespace: str, **extra) -> Deployment:
    extra_vars = {"mlflow_namespace": namespace, "mlflow_route_allow_all": True, "mlflow_wait_timeout": 300, **extra}
    r = playbook(cluster, "deploy.yml", extra_vars)
    assert r.rc == 0, str(r)
    printed = dict(EXPORT_RE.findall(r.stdout))
    return Deployment(namespace, extra_vars.get("mlflow_app_name", "mlflow"), extra_vars, printed, r.stdout)


# ----------------------------------------------------------------------------- CLI
def _api(kubeconfig: str):
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("action", choices=["up", "down"])
    ap.add_argument("--state", required=True, type=Path)
    ap.add_argument("--namespace")
    ap.add_argument("--app", default="mlflow")
    ap.add_argument("--kubeconfig", default=str(REPO / ".cluster" / "kubeconfig"))
    a = ap.parse_args(argv)
    if a.action == "down":
        Procs(a.state).stop_all()
        return 0
    stack = Stack(Deployed(_api(a.kubeconfig), a.namespace, a.app), a.state)
    try:
        stack.up()
    except Exception:
        stack.down()
        raise
    print(json.dumps(json.loads((a.state / "stack.json").read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
