"""The running stack's processes under the CPU limits of their deployed containers, as the kubelet enforces them
(a CFS quota per container: `limits.cpu` x the 100 ms period). Without it every process here shares the machine's
cores, which no pod on a cluster does. Needs a writable cgroup v1 `cpu` hierarchy (root on this machine)."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

CPU_ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000

# process (PID file name) -> (Deployment name suffix after the app, container name or None for the first)
CONTAINERS = {
    "postgresql": ("-postgresql", None),
    "versitygw": ("-versitygw", None),
    "minio": ("-minio", None),
    "mlflow": ("", "mlflow"),
    "nginx": ("", "nginx"),
}


def millicores(quantity: str) -> int:
    """A Kubernetes CPU quantity ("1", "0.5", "250m") in millicores."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", str(quantity).strip())
    if not m:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    value = Decimal(m.group(1))
    return int(value if m.group(2) else value * 1000)


def available() -> bool:
    return os.access(CPU_ROOT / "cgroup.procs", os.W_OK)


def group_pids(pgid: int) -> list[int]:
    """The processes of process group `pgid`."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = (Path("/proc") / d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(d))
    return pids


class PodCpuLimits:
    """Puts each process group of `stack` in a cgroup whose quota is its container's `limits.cpu`; `release()`
    moves them back and removes the cgroups. `limits` maps process name -> millicores."""

    def __init__(self, stack):
        self.stack = stack
        self.root = CPU_ROOT / f"csc-mlflow-{os.getpid()}"
        self.limits: dict[str, int] = {}

    def container_limit(self, name: str) -> int | None:
        suffix, container = CONTAINERS[name]
        spec = self.stack.deployed.pod_spec(self.stack.app + suffix)
        c = self.stack.deployed.container(spec, container) if container else spec["containers"][0]
        cpu = ((c.get("resources") or {}).get("limits") or {}).get("cpu")
        return millicores(cpu) if cpu else None

    def apply(self) -> dict[str, int]:
        self.root.mkdir(exist_ok=True)
        for pidfile in sorted((self.stack.state / "pids").glob("*.pid")):
            name = pidfile.stem
            limit = self.container_limit(name) if name in CONTAINERS else None
            if limit is None:
                continue
            group = self.root / name
            group.mkdir(exist_ok=True)
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(limit * PERIOD_US // 1000))
            for pid in group_pids(int(pidfile.read_text())):
                try:
                    (group / "cgroup.procs").write_text(str(pid))
                except ProcessLookupError:
                    pass
            self.limits[name] = limit
        return self.limits

    def release(self) -> None:
        if not self.root.exists():
            return
        for group in self.root.iterdir():
            if group.is_dir():
                for pid in (group / "cgroup.procs").read_text().split():
                    try:
                        (CPU_ROOT / "cgroup.procs").write_text(pid)
                    except ProcessLookupError:
                        pass
                group.rmdir()
        self.root.rmdir()
