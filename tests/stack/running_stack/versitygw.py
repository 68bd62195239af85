"""The Versity S3 gateway (built from the Go module the role pins), started from the deployed pod's container: its
command, args and env, with the admin and S3 ports and the PVC's path made local (`Substitutions`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .deployed import Deployed, container_argv
from .net import free_port, wait_http
from .processes import Procs, local_env
from .substitutions import Substitutions
from .tools import Tools

S3_PORT, ADMIN_PORT = 7070, 7071


@dataclass
class VersityGW:
    procs: Procs
    deployed: Deployed
    subs: Substitutions
    root: Path
    tools: Tools
    name: str = "versitygw"
    ports: dict[int, int] = field(default_factory=dict)

    def __post_init__(self):
        self.deployment = f"{self.deployed.app}-versitygw"
        env = self.deployed.env(self.deployed.container(self.deployed.pod_spec(self.deployment), "versitygw"))
        # The gateway's admin key (its pod's ROOT_* variables); tests use it as "the store's own key".
        self.access_key, self.secret_key = env["ROOT_ACCESS_KEY"], env["ROOT_SECRET_KEY"]

    def start(self) -> None:
        spec = self.deployed.pod_spec(self.deployment)
        c = self.deployed.container(spec, "versitygw")
        self.ports = self.ports or {S3_PORT: free_port(), ADMIN_PORT: free_port()}
        mounts = self.deployed.materialise_volumes(spec, c, self.root)
        subs = Substitutions(self.subs.namespace, dict(self.subs.services), dict(self.ports), mounts)
        env = subs.env(self.deployed.env(c))
        env["PATH"] = f"{self.tools.versitygw.parent}:/usr/bin:/bin"
        argv = subs.argv(container_argv(c, env))
        p = self.procs.start(self.name, argv, env=local_env(env, home=self.root), cwd=self.root)
        wait_http(f"{self.endpoint}/health", 60, ok=lambda code: code == 200, proc=p)

    def stop(self) -> None:
        self.procs.stop(self.name)

    @property
    def port(self) -> int:
        return self.ports[S3_PORT]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def s3(self, access_key: str | None = None, secret_key: str | None = None):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret_key or self.secret_key, region_name="us-east-1",
                            config=Config(retries={"max_attempts": 3}))
