"""MinIO (built from the source version the role pins) with the deployed root credentials;
also a second MinIO standing in for an external S3 store (Allas)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .net import free_port, wait_http
from .processes import Procs, local_env
from .tools import Tools


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
