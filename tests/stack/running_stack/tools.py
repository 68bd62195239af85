"""Where the stack's built tools are: the Versity S3 gateway, MinIO, the MLflow venvs, checkov's venv (cached under $CSC_MLFLOW_CACHE,
keyed by version, by tests/stack/install.sh), Debian's PostgreSQL, NGINX and Chromium."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("CSC_MLFLOW_CACHE", Path.home() / ".cache" / "csc-mlflow"))
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def versions() -> dict[str, str]:
    """tests/stack/versions.env: the pinned versions of the stack's tools (NAME=value lines)."""
    out = {}
    for line in (REPO / "tests/stack/versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def minio_version() -> str:
    """The MinIO source version the role pins (mlflow_minio_version), else versions.env's."""
    defaults = REPO / "roles/mlflow_minio/defaults/main.yml"
    if defaults.exists():
        m = re.search(r"^mlflow_minio_version:\s*[\"']?(v0\.0\.0-[^\"'\s]+)", defaults.read_text(), re.M)
        if m:
            return m.group(1)
    return versions()["MINIO_MODULE_VERSION"]


def _req_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def versitygw_version() -> str:
    """The Versity S3 gateway release the role pins (mlflow_versitygw_version)."""
    defaults = (REPO / "roles/mlflow_versitygw/defaults/main.yml").read_text()
    return re.search(r"^mlflow_versitygw_version:\s*[\"']?(v[0-9][^\"'\s]*)", defaults, re.M).group(1)


@dataclass
class Tools:
    minio: Path
    versitygw: Path
    mlflow_venv: Path
    mlflow_old_venv: Path
    checkov_venv: Path
    nginx: Path = Path("/usr/sbin/nginx")
    pg_bin: Path = PG_BIN
    chromium: Path = Path("/usr/bin/chromium")

    @classmethod
    def find(cls) -> "Tools":
        return cls(
            minio=CACHE / "bin" / f"minio-{minio_version()}" / "minio",
            versitygw=CACHE / "bin" / f"versitygw-{versitygw_version()}" / "versitygw",
            mlflow_venv=CACHE / "venv" / f"mlflow-{_req_sha(REPO / 'images/mlflow/requirements.txt')}",
            mlflow_old_venv=CACHE / "venv" / f"mlflow-old-{_req_sha(REPO / 'tests/stack/requirements-old.txt')}",
            checkov_venv=CACHE / "venv" / f"checkov-{_req_sha(REPO / 'tests/security/requirements-checkov.txt')}",
        )

    def missing(self) -> list[str]:
        miss = [str(p) for p in (self.minio, self.versitygw, self.nginx, self.pg_bin / "postgres") if not p.exists()]
        miss += [str(v) for v in (self.mlflow_venv, self.mlflow_old_venv, self.checkov_venv)
                 if not (v / ".installed").exists()]
        return miss

    def python(self, old: bool = False) -> str:
        return str((self.mlflow_old_venv if old else self.mlflow_venv) / "bin" / "python")
