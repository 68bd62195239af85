"""The stack deployed to a namespace of the test cluster, running on this machine: PostgreSQL,
the in-cluster store (the Versity S3 gateway; MinIO in stacks that still run it), the deployment's own bucket
set-up, MLflow and NGINX (and, on demand, the Models server),
each started from the deployed pod's container (command, args, env, volumes) through the
`Substitutions`. The small stack (mlflow_stack_size=small: no PostgreSQL, no store): the tracking pod's init
containers (prepare-database), then MLflow and NGINX. A PersistentVolumeClaim is one directory per claim
(`claim_dir`), shared by every pod and Job run here that mounts it, as the cluster shares the volume."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import nginx
from .deployed import Deployed, container_argv, copy_job_env, with_env
from .minio import MinIO
from .net import free_port, wait_http
from .postgresql import Postgres
from .processes import Procs, local_env
from .substitutions import Substitutions
from .tools import Tools
from .versitygw import ADMIN_PORT, S3_PORT, VersityGW


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
        self.gateway: VersityGW | None = None
        self.mlflow_port = 0
        self.mlflow_replica_ports: list[int] = []   # the further tracking replicas' MLflow (up(replicas=...))
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

    @property
    def store(self) -> VersityGW | MinIO:
        """The in-cluster store the stack uses (ARTIFACT_STORE of its configuration)."""
        engine = self.deployed.configmap(f"{self.app}-config").get("ARTIFACT_STORE")
        store = self.minio if engine == "minio" else self.gateway
        if store is None:
            raise RuntimeError(f"the stack's store {engine!r} is not running here")
        return store

    @property
    def small(self) -> bool:
        """The small stack: SQLite and artifacts on the tracking pod's volume (ARTIFACT_STORE pvc), no PostgreSQL."""
        return self.deployed.configmap(f"{self.app}-config").get("ARTIFACT_STORE") == "pvc"

    def claim_dir(self, claim: str) -> Path:
        """The local directory that stands for PersistentVolumeClaim `claim` (every pod run here mounts this one)."""
        return self.state / "pvc" / claim

    def has_deployment(self, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self.deployed.pod_spec(name)
        except ApiException as e:
            if e.status != 404:
                raise
            return False
        return True

    def start_stores(self) -> None:
        """The in-cluster stores the stack deploys: the gateway, and MinIO where it still runs."""
        if self.has_deployment(f"{self.app}-versitygw"):
            self.start_versitygw()
        if self.has_deployment(f"{self.app}-minio"):
            self.start_minio()

    def start_versitygw(self) -> None:
        self.gateway = VersityGW(self.procs, self.deployed, self.subs, self.state / "versitygw", self.tools)
        self.gateway.start()
        self.subs.services[f"{self.app}-versitygw"] = {S3_PORT: self.gateway.ports[S3_PORT],
                                                       ADMIN_PORT: self.gateway.ports[ADMIN_PORT]}

    def run_store_user_job(self) -> None:
        """The gateway's user Job (the newest): MLflow's signing key and its bucket."""
        jobs = [(name, spec) for name, spec in self.deployed.job_specs()
                if any(c["name"] == "versitygw-user" for c in spec.get("containers") or [])]
        if not jobs:
            raise RuntimeError("no versitygw-user Job deployed")
        name, spec = jobs[-1]
        r = self.run_container_once(spec, self.deployed.container(spec, "versitygw-user"), name, venv=None,
                                    path=f"{self.tools.versitygw.parent}:/usr/bin:/bin")
        if r.returncode != 0:
            raise RuntimeError(f"store user Job {name} failed: {r.stdout}\n{r.stderr}")

    def run_copy_job(self, tracking_env_before: dict) -> dict:
        """The artifact copy Job of the newest store switch, run here (kwok runs no pod): its JSON report.
        `tracking_env_before`: the tracking container's env before the switch (the role deletes the Job's own
        Secret once the Job is done; its settings are then the tracking pod's before and after)."""
        from kubernetes.client.exceptions import ApiException

        self.deployed.refresh()
        jobs = [(n, s) for n, s in self.deployed.job_specs() if "migrate" in json.dumps(s)]
        if not jobs:
            raise AssertionError("the store switch created no artifact copy Job")
        name, spec = jobs[-1]
        container = spec["containers"][0]
        try:
            self.deployed.env(container)
        except ApiException as e:
            if e.status != 404:
                raise
            after = self.deployed.env(self.mlflow_container()[1])
            container = with_env(container, copy_job_env(tracking_env_before, after))
        res = self.run_container_once(spec, container, name)
        if res.returncode != 0:
            raise AssertionError(res.stdout + res.stderr)
        return json.loads(res.stdout.strip().splitlines()[-1])

    def start_minio(self) -> None:
        spec = self.deployed.pod_spec(f"{self.app}-minio")
        env = self.deployed.env(spec["containers"][0])
        self.minio = MinIO(self.procs, "minio", self.state / "minio", env["MINIO_ROOT_USER"],
                           env["MINIO_ROOT_PASSWORD"], self.tools)
        self.minio.start()
        self.subs.services[f"{self.app}-minio"] = self.minio.port

    def run_container_once(self, spec: dict, container: dict, name: str, venv: Path | None = None,
                           timeout: float = 300, path: str | None = None) -> subprocess.CompletedProcess:
        """Run an init container / Job container's command locally (same argv and env; `path`: its PATH when the
        image's tools are not MLflow's)."""
        root = self.state / "run" / name
        root.mkdir(parents=True, exist_ok=True)
        subs = self.local_subs(self.deployed.materialise_volumes(spec, container, root, self.state / "pvc"))
        env = subs.env(self.deployed.env(container))
        if path:
            env["PATH"] = path
            return subprocess.run(subs.argv(container_argv(container, env)), check=False,
                                  env=local_env(env, home=root), capture_output=True, text=True, timeout=timeout,
                                  cwd=root)
        if self.pg is not None:  # `-h <postgresql service>` without a port: the local port
            env["PGPORT"] = str(self.pg.port)
        argv = subs.argv(container_argv(container, env))
        return subprocess.run(argv, check=False, env=local_env(env, venv or self.tools.mlflow_venv, home=root),
                              capture_output=True, text=True, timeout=timeout, cwd=root)

    def local_subs(self, paths: dict[str, str] | None = None, ports: dict[int, int] | None = None) -> Substitutions:
        """The stack's substitutions plus one container's mount paths / ports."""
        return Substitutions(self.subs.namespace, dict(self.subs.services), {**self.subs.ports, **(ports or {})},
                             {**self.subs.paths, **(paths or {})}, dict(self.subs.routes))

    def setup_bucket(self) -> None:
        """Run the deployment's own bucket set-up: the gateway's user Job, then the tracking pod's init container."""
        if self.gateway is not None:
            self.run_store_user_job()
        for dep in (self.app, f"{self.app}-minio"):
            spec = self.deployed.pod_spec(dep)
            for c in spec.get("initContainers") or []:
                if "bucket" in json.dumps(c).lower():
                    r = self.run_container_once(spec, c, f"{dep}-{c['name']}")
                    if r.returncode != 0:
                        raise RuntimeError(f"bucket set-up {c['name']} failed: {r.stdout}\n{r.stderr}")
                    return
        raise RuntimeError("no bucket set-up init container found in the deployed pods")

    def run_init_containers(self, deployment: str | None = None) -> list[subprocess.CompletedProcess]:
        """The deployment's init containers, one after the other as the kubelet runs them (the small stack's
        prepare-database: its volume's directories and database); raises when one fails."""
        deployment = deployment or self.app
        spec = self.deployed.pod_spec(deployment)
        out = []
        for c in spec.get("initContainers") or []:
            r = self.run_container_once(spec, c, f"{deployment}-{c['name']}")
            if r.returncode != 0:
                raise RuntimeError(f"init container {c['name']} of {deployment} failed: {r.stdout}\n{r.stderr}")
            out.append(r)
        return out

    def mlflow_container(self) -> tuple[dict, dict]:
        spec = self.deployed.pod_spec(self.app)
        return spec, self.deployed.container(spec, "mlflow")

    def start_mlflow(self, name: str = "mlflow") -> int:
        """The tracking pod's MLflow container; `name` other than "mlflow": one more replica, on a port of its own."""
        spec, c = self.mlflow_container()
        if name == "mlflow":
            self.mlflow_port = self.mlflow_port or free_port()
            self.subs.ports[5000] = port = self.mlflow_port
        else:
            port = free_port()
        root = self.state / name
        root.mkdir(parents=True, exist_ok=True)
        subs = self.local_subs(self.deployed.materialise_volumes(spec, c, root, self.state / "pvc"), {5000: port})
        env = subs.env(self.deployed.env(c))
        argv = subs.argv(container_argv(c, env))
        venv = self.tools.mlflow_old_venv if self.old else self.tools.mlflow_venv
        # the image's HOME/TMPDIR are the pod's writable paths; here: temp dirs
        tmp = root / "tmp"
        tmp.mkdir(exist_ok=True)
        env.setdefault("TMPDIR", str(tmp))
        env["TMPDIR"] = subs(env["TMPDIR"])
        p = self.procs.start(name, argv, env=local_env(env, venv, home=root), cwd=root)
        wait_http(f"http://127.0.0.1:{port}/health", 180, ok=lambda c: c == 200, proc=p)
        return port

    def start_nginx(self, deployment: str | None = None, name: str = "nginx", upstream_fixed: int = 5000,
                    upstream_local: int | None = None, upstream_more: list[int] | None = None) -> int:
        """The deployment's nginx container (its config, proxying to `upstream_fixed` -> the local port, and
        to the `upstream_more` local ports as well: the other replicas behind the Service)."""
        deployment = deployment or self.app
        spec = self.deployed.pod_spec(deployment)
        c = self.deployed.container(spec, "nginx")
        root = self.state / name
        nginx.prepare_root(root)
        mounts = self.deployed.materialise_volumes(spec, c, root, self.state / "pvc")
        port = free_port()
        listen = [p["containerPort"] for p in c.get("ports") or []] or [8080]
        upstream = upstream_local or self.subs.ports.get(upstream_fixed, upstream_fixed)
        # The config's further servers (pre-signed transfers, metrics) on free ports too, and the Routes that reach
        # them: their public URLs in the config -> those ports.
        for fixed in nginx.listen_ports(mounts):
            if fixed != listen[0] and fixed not in self.subs.ports:
                self.subs.ports[fixed] = free_port()
        for host, target in self.deployed.routes().values():
            if host and isinstance(target, int) and target != listen[0] and target in self.subs.ports:
                self.subs.routes[host] = self.subs.ports[target]
        subs = self.local_subs({**mounts, **nginx.log_files(root)}, {listen[0]: port, upstream_fixed: upstream})
        nginx.substitute_configs(mounts, subs)
        if upstream_more:
            nginx.add_upstream_servers(mounts, upstream, list(upstream_more))
        nginx.start(self.procs, self.tools, name, root, mounts, port)
        return port

    # ---- whole stack ----------------------------------------------------------
    def up(self, replicas: int = 1) -> "Stack":
        """Start the stack; with `replicas` > 1 one MLflow per tracking replica (`mlflow`, `mlflow-2`, ...),
        all behind the one NGINX, as the Service spreads clients over the replicas. The small stack: no PostgreSQL
        and no store (their Deployments are absent); the tracking pod's init containers prepare its volume."""
        missing = self.tools.missing()
        if missing:
            raise RuntimeError(f"stack tools missing (run `make stack-tools`): {missing}")
        if self.has_deployment(f"{self.app}-postgresql"):
            self.start_postgresql()
        self.start_stores()
        if self.small:
            self.run_init_containers()
        else:
            self.setup_bucket()
        self.start_mlflow()
        self.mlflow_replica_ports = [self.start_mlflow(f"mlflow-{i}") for i in range(2, replicas + 1)]
        self.nginx_port = self.start_nginx(upstream_more=self.mlflow_replica_ports)
        self.subs.services[self.app] = self.nginx_port
        self.save()
        return self

    def down(self) -> None:
        self.procs.stop_all()

    def save(self) -> None:
        (self.state / "stack.json").write_text(json.dumps({
            "namespace": self.deployed.ns, "app": self.app, "tracking_uri": self.tracking_uri,
            "mlflow_port": self.mlflow_port, "nginx_port": self.nginx_port,
            "store_endpoint": None if self.small else self.store.endpoint,
            "postgresql_port": self.pg.port if self.pg else None,
        }, indent=2))

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def presigned_uri(self) -> str:
        """The pre-signed transfer path (the tracking NGINX's port 8081, as the Route reaches it)."""
        return f"http://127.0.0.1:{self.subs.ports[8081]}"

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
        subs = self.local_subs(self.deployed.materialise_volumes(spec, c, root, self.state / "pvc"),
                               {ports[0]: self.models_port})
        env = subs.env(self.deployed.env(c))
        argv = subs.argv(container_argv(c, env))
        p = self.procs.start("models", argv, env=local_env(env, self.tools.mlflow_venv, home=root), cwd=root)
        wait_http(f"http://127.0.0.1:{self.models_port}/ping", 300, ok=lambda c: c == 200, proc=p)
        try:
            self.deployed.container(spec, "nginx")
        except KeyError:
            return f"http://127.0.0.1:{self.models_port}"
        self.models_nginx_port = self.start_nginx(f"{self.app}-models", "models-nginx", ports[0], self.models_port)
        return f"http://127.0.0.1:{self.models_nginx_port}"
