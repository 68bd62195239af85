"""Where the test cluster and the tools live, and which platform profile the tests use."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / ".cluster"
VENV_BIN = REPO / ".venv" / "bin"
CLUSTER_SH = REPO / "tests" / "cluster" / "cluster.sh"
BUILD_SH = REPO / "tests" / "cluster" / "build.sh"
PROFILE_RAHTI = REPO / "tests" / "cluster" / "manifests" / "profile-rahti.yaml"

# The collection's default MLflow release (roles/mlflow/defaults/main.yml): what the tests that upgrade to "the
# default" or read its version expect, so a release (make mlflow-release) needs no edit of them.
DEFAULT_MLFLOW_VERSION = re.search(r'^mlflow_version:\s*"([^"]+)"', (REPO / "roles/mlflow/defaults/main.yml").read_text(),
                                   re.M).group(1)

PROFILES = ("rahti", "kubernetes")
PROFILE = os.environ.get("CSC_MLFLOW_PROFILE", "rahti").strip() or "rahti"
if PROFILE not in PROFILES:
    raise RuntimeError(f"CSC_MLFLOW_PROFILE={PROFILE!r}: must be one of {', '.join(PROFILES)}")


def read_file(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def kubeconfig_answers(kubeconfig: Path) -> bool:
    if not kubeconfig.exists():
        return False
    try:
        out = subprocess.run(
            [str(kubectl_path()), "--kubeconfig", str(kubeconfig), "--request-timeout=3s", "get", "--raw", "/readyz"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "ok"


def kubectl_path() -> Path:
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
