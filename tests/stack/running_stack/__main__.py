"""Running-stack harness: real PostgreSQL, MinIO, MLflow and NGINX on 127.0.0.1.

CLI (used by `make demo`; tests/stack on the module path):
    python -m running_stack up --namespace NS [--app mlflow] --state DIR [--kubeconfig FILE]
    python -m running_stack down --state DIR
`up` prints the settings of the running stack (JSON, also in DIR/stack.json); `down` stops
every process whose PID file is under DIR/pids/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .deployed import Deployed
from .processes import Procs
from .stack import Stack
from .tools import REPO


def _api(kubeconfig: str):
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m running_stack", description=__doc__.split("\n", maxsplit=1)[0])
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
