"""Small stack vs full stack benchmark (`make bench`, after stack_bench.py; issue 27).

Deploys two stacks with playbooks/deploy.yml into fresh namespaces of the running test cluster (Rahti profile): the
small one (`mlflow_stack_size=small`: the tracking pod alone, MLflow on SQLite in the journal mode and with the worker
count it is deployed with, artifacts proxied by MLflow to the volume) and the full one (PostgreSQL, the Versity S3
gateway, pre-signed transfers). Both run at once on this machine, started from their deployed pods by
tests/stack/running_stack/ (the small stack's init container prepares its volume, a local directory). Then, from one
run, the two sides in turn (the order alternates each round: the machine drifts by +-20 % within minutes):

  * BENCH_SMALL_CLIENTS (16) client processes posting log-batch calls (100 metrics + 2 params each, as
    sqlite_concurrency.py does: tests/bench/log_batch_load.py) through NGINX with a user's credentials, for
    BENCH_SMALL_SECONDS (20) a round, BENCH_SMALL_ROUNDS (3) rounds a side (a minute of load a side): calls/s, p50,
    p99, errors, and "database is locked" lines in the small stack's server log;
  * a BENCH_BIG_MIB (1024) MiB artifact uploaded and downloaded by the MLflow client with only the printed exports
    (log_artifact / download_artifacts: on the small stack through NGINX -> MLflow -> the volume directory, on the
    full stack on pre-signed URLs through its pre-signed path: stack_bench.py's TRANSFER), BENCH_SMALL_TRANSFER_ROUNDS
    (3) rounds a side: MB/s medians and spread, and the peak size of the tracking server's spool directory (TMPDIR:
    on the small stack /mlflow/tmp on the volume, so an upload needs its size free there besides the artifact).

Regime: every server process under the CPU limit of its deployed container (running_stack/cpu_limits.py, a CFS quota
as the kubelet sets it: the small stack's MLflow 750m and NGINX 250m, the full stack's MLflow 1000m, PostgreSQL and the
gateway 500m each) where the cgroup hierarchy is writable, else (or with BENCH_SMALL_LIMITS=0) on the machine's shared
cores. The clients are never limited: they are the users' machines.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "stack"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from log_batch_load import error_kinds, load, p50, pct  # noqa: E402
from running_stack import cpu_limits  # noqa: E402
from running_stack.deployed import Deployed  # noqa: E402
from running_stack.playbooks import deploy  # noqa: E402
from running_stack.stack import Stack  # noqa: E402
from running_stack.tools import Tools  # noqa: E402
from stack_bench import TRANSFER, Peaks, make_big, run_py, server_env, tree_bytes  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_SMALL_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_SMALL_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_SMALL_ROUNDS", "3"))
TRANSFER_ROUNDS = int(os.environ.get("BENCH_SMALL_TRANSFER_ROUNDS", "3"))
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))
LIMITS = os.environ.get("BENCH_SMALL_LIMITS", "1") != "0"
SIDES = ("small", "full")
MIB = 1 << 20


def start(cluster, size: str) -> tuple[Stack, float, float]:
    """Deploy a stack of `size` into a fresh namespace and start it here: (stack, deploy s, start s)."""
    ns = cluster.fresh_namespace(f"bench-{size}")
    t0 = time.perf_counter()
    deploy(cluster, ns, mlflow_stack_size=size)
    deployed_s = time.perf_counter() - t0
    stack = Stack(Deployed(cluster.api, ns), Path(tempfile.mkdtemp(prefix=f"bench-{size}-")), Tools.find())
    t0 = time.perf_counter()
    stack.up()
    return stack, deployed_s, time.perf_counter() - t0


def sqlite_file(stack: Stack) -> Path:
    """The small stack's database file: MLFLOW_BACKEND_STORE_URI of the running server, as the harness mapped it."""
    return Path(server_env(stack)["MLFLOW_BACKEND_STORE_URI"][len("sqlite:///"):])


def locked_lines(stack: Stack) -> int:
    log = stack.state / "logs" / "mlflow.log"
    return log.read_text(errors="replace").count("database is locked") if log.exists() else 0


class Limits:
    """Both stacks' processes under their containers' CPU limits (one cgroup tree per stack)."""

    def __init__(self, stacks: dict[str, Stack]):
        self.limits = {}
        for side, stack in stacks.items():
            lim = cpu_limits.PodCpuLimits(stack)
            lim.root = cpu_limits.CPU_ROOT / f"csc-mlflow-{os.getpid()}-{side}"   # the two stacks' "mlflow" apart
            self.limits[side] = lim

    def apply(self) -> str:
        applied = {side: lim.apply() for side, lim in self.limits.items()}
        return "; ".join(f"{side}: " + ", ".join(f"{k} {v}m" for k, v in sorted(a.items()))
                         for side, a in applied.items())

    def release(self) -> None:
        for lim in self.limits.values():
            lim.release()


def concurrency(stacks: dict[str, Stack]) -> dict[str, list[dict]]:
    """ROUNDS rounds a side of CLIENTS clients for SECONDS through each stack's NGINX, the order alternating."""
    out: dict[str, list[dict]] = {side: [] for side in SIDES}
    for r in range(ROUNDS):
        for side in SIDES if r % 2 == 0 else SIDES[::-1]:
            stack = stacks[side]
            user, password = next(iter(stack.users().items()))
            before = locked_lines(stack)
            res = load(stack.tracking_uri, CLIENTS, SECONDS, 100, 2, auth=(user, password))
            res["locked"] = locked_lines(stack) - before
            out[side].append(res)
            print(f"    round {r + 1} {side:<5}: {res['calls_per_s']:.1f} calls/s, p50 {p50(res['latencies']):.0f} ms,"
                  f" p99 {pct(res['latencies'], 99):.0f} ms, errors {len(res['errors'])}", flush=True)
    return out


def transfers(stacks: dict[str, Stack], big: Path) -> dict[str, list[dict]]:
    """TRANSFER_ROUNDS rounds a side of the MLflow client's upload and download of `big`, the order alternating;
    each with the peak of the server's spool directory and RSS."""
    out: dict[str, list[dict]] = {side: [] for side in SIDES}
    for r in range(TRANSFER_ROUNDS):
        for side in SIDES if r % 2 == 0 else SIDES[::-1]:
            stack = stacks[side]
            os.sync()   # neither side pays for the other's writeback
            volume = sqlite_file(stack).parent if side == "small" else None   # the PVC <app>-data, as mounted
            before = tree_bytes(volume) if volume else 0
            with Peaks(stack, volume) as peaks:
                res = run_py(stack, TRANSFER, [str(big)], stack.client_env())
            res.update(peaks.peak)
            # on the volume beyond what stays there (the artifact): what the upload needed free in addition
            res["volume_transient"] = max(0, res["volume"] - tree_bytes(volume)) if volume else 0
            res["volume_growth"] = tree_bytes(volume) - before if volume else 0
            out[side].append(res)
            print(f"    round {r + 1} {side:<5}: upload {res['upload_MBps']:.0f} MB/s, download "
                  f"{res['download_MBps']:.0f} MB/s, spool peak {res['mlflow_tmp'] / MIB:.0f} MiB, server RSS peak "
                  f"{res['mlflow_rss'] / MIB:.0f} MiB"
                  + (f", volume +{res['volume_growth'] / MIB:.0f} MiB kept, peak {res['volume_transient'] / MIB:.0f} MiB"
                     " above that" if volume else ""), flush=True)
    return out


def spread(xs, fmt="{:.0f}") -> str:
    """median (min-max)"""
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def table(labels: dict[str, str], columns: list[str], cells) -> None:
    """A row a side: its label, then `cells(side)` under `columns`."""
    print(f"  {'':<24}" + "".join(f" {c:>17}" for c in columns))
    for side in SIDES:
        print(f"  {labels[side]:<24}" + "".join(f" {c:>17}" for c in cells(side)))


def report(setup: dict, par: dict[str, list[dict]], xfer: dict[str, list[dict]]) -> None:
    print(f"\nSmall stack vs full stack, one run ({setup['regime']}; {setup['small']})")
    print(f"  {CLIENTS} clients x log_batch (100 metrics + 2 params) through NGINX, {ROUNDS} rounds x {SECONDS:.0f} s a "
          f"side alternating; median (min-max) of the rounds")
    table(setup["label"], ["calls/s", "p50 ms", "p99 ms", "errors", "locked"], lambda side: [
        spread([r["calls_per_s"] for r in par[side]], "{:.1f}"), spread([p50(r["latencies"]) for r in par[side]]),
        spread([pct(r["latencies"], 99) for r in par[side]]), sum(len(r["errors"]) for r in par[side]),
        sum(r["locked"] for r in par[side]) if side == "small" else "-"])
    for side in SIDES:
        errors = [e for r in par[side] for e in r["errors"]]
        if errors:
            print(f"  {side} errors: {error_kinds(errors)}")
    ratio = statistics.median(r["calls_per_s"] for r in par["small"]) / statistics.median(
        r["calls_per_s"] for r in par["full"])
    print(f"  small / full calls/s (medians): {ratio:.2f}")
    print(f"  {BIG_MIB} MiB, the MLflow client with only the printed exports, {TRANSFER_ROUNDS} rounds a side "
          f"alternating; MB/s median (min-max)")
    table(setup["label"], ["upload MB/s", "download MB/s", "spool peak MiB", "server RSS MiB"], lambda side: [
        spread([r["upload_MBps"] for r in xfer[side]]), spread([r["download_MBps"] for r in xfer[side]]),
        f"{max(r['mlflow_tmp'] for r in xfer[side]) / MIB:.0f}", f"{max(r['mlflow_rss'] for r in xfer[side]) / MIB:.0f}"])
    print(f"  small stack's volume during the upload: +{max(r['volume_growth'] for r in xfer['small']) / MIB:.0f} MiB"
          f" kept (the artifact), at most {max(r['volume_transient'] for r in xfer['small']) / MIB:.0f} MiB more at"
          f" the peak (spool and staging copies)")
    for kind in ("upload", "download"):
        key = f"{kind}_MBps"
        print(f"  {kind}s, each round (small/full MB/s): "
              + ", ".join(f"{s[key]:.0f}/{f[key]:.0f}" for s, f in zip(xfer["small"], xfer["full"])))
    print(f"  target: 16 clients through the small stack end with 0 errors: "
          f"{sum(len(r['errors']) for r in par['small'])} {'OK' if not any(r['errors'] for r in par['small']) else 'MISSED'}")


def main() -> int:
    from harness.cluster import Cluster  # the test suite's handle: namespaces of the Rahti profile

    cluster = Cluster(Path(os.environ.get("CSC_MLFLOW_CLUSTER_DIR", REPO / ".cluster")))
    stacks: dict[str, Stack] = {}
    limits = None
    work = Path(tempfile.mkdtemp(prefix="small-bench-"))
    t_start = time.perf_counter()
    try:
        for side in SIDES:
            stacks[side], deployed_s, up_s = start(cluster, side)
            print(f"{side} stack: deploy.yml {deployed_s:.1f} s into {stacks[side].deployed.ns}, started here in "
                  f"{up_s:.1f} s", flush=True)
        small = stacks["small"]
        env = small.deployed.env(small.mlflow_container()[1])
        with sqlite3.connect(sqlite_file(small)) as db:
            journal = db.execute("PRAGMA journal_mode").fetchone()[0]
        setup = {"small": f"small stack: SQLite journal {journal}, {env.get('MLFLOW_WORKERS')} uvicorn workers",
                 "label": {"small": "small (SQLite, proxy)", "full": "full (PostgreSQL)"}, "regime": "shared cores"}
        full_env = stacks["full"].deployed.env(stacks["full"].mlflow_container()[1])
        setup["label"]["full"] = f"full ({full_env.get('MLFLOW_WORKERS')}w, PostgreSQL)"
        setup["label"]["small"] = f"small ({env.get('MLFLOW_WORKERS')}w, SQLite {journal})"
        if LIMITS and cpu_limits.available():
            limits = Limits(stacks)
            setup["regime"] = "pods' CPU limits: " + limits.apply()
        print(f"  regime: {setup['regime']}")
        big = work / "big.bin"
        make_big(big, BIG_MIB)
        print(f"  {CLIENTS} clients, {ROUNDS} rounds x {SECONDS:.0f} s a side:", flush=True)
        par = concurrency(stacks)
        print(f"  {BIG_MIB} MiB transfers, {TRANSFER_ROUNDS} rounds a side:", flush=True)
        xfer = transfers(stacks, big)
    finally:
        if limits is not None:
            limits.release()
        for stack in stacks.values():
            stack.down()
            subprocess.run(["rm", "-rf", str(stack.state)], check=False)
        subprocess.run(["rm", "-rf", str(work)], check=False)
        cluster.cleanup()
    report(setup, par, xfer)
    print(f"  (this bench's wall time: {time.perf_counter() - t_start:.0f} s)")
    out = REPO / "tests" / "output"
    out.mkdir(exist_ok=True)
    slim = {side: [{"calls_per_s": r["calls_per_s"], "ok": r["ok"], "errors": len(r["errors"]), "locked": r["locked"],
                    "p50_ms": p50(r["latencies"]), "p99_ms": pct(r["latencies"], 99),
                    "error_kinds": error_kinds(r["errors"])} for r in rs] for side, rs in par.items()}
    (out / "small_stack_bench.json").write_text(json.dumps({"setup": setup, "concurrency": slim, "transfers": xfer},
                                                           indent=2))
    return 0 if not any(r["errors"] for r in par["small"]) else 1


if __name__ == "__main__":
    sys.exit(main())
