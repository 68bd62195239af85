"""Small stack benchmark (`make bench`): MLflow on SQLite under many writers, where such stacks break ("database is
locked").

BENCH_SQLITE_CLIENTS (16) client processes, each with its own run and HTTP connection, post log-batch calls
(BENCH_SQLITE_METRICS metrics and BENCH_SQLITE_PARAMS new params each) as fast as the server answers for
BENCH_SQLITE_SECONDS (60), against a local `mlflow server --backend-store-uri sqlite:////<path> --workers N` (uvicorn,
MLflow's default) for each journal mode of BENCH_SQLITE_JOURNALS ("delete,wal": SQLite's default rollback journal,
and write-ahead logging, set once in the file with PRAGMA journal_mode=WAL after `mlflow db upgrade`) and each N of
BENCH_SQLITE_WORKERS ("1,2,4"); then, for comparison, the same load on PostgreSQL (BENCH_SQLITE_POSTGRES=0: not) with
BENCH_SQLITE_PG_WORKERS (2, mlflow_workers' default). MLflow itself sets busy_timeout=20000 (ms) and foreign_keys=ON
on every SQLite session (mlflow/store/db/utils.py), nothing else.

Prints one row per configuration: calls answered 200 and not, calls/s, metric rows/s, p50/p99 latency, and the
"database is locked" lines in the server's log; then the first errors of each configuration that had any.
Servers, clients and PostgreSQL run on this machine's shared cores, with the MLflow venv of the stack tests.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "stack"))

from running_stack.net import free_port, wait_http  # noqa: E402
from running_stack.postgresql import Postgres  # noqa: E402
from running_stack.processes import Procs, local_env  # noqa: E402
from running_stack.tools import Tools  # noqa: E402

sys.path.insert(0, str(REPO / "tests" / "bench"))
from log_batch_load import error_kinds, load, p50, pct  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_SQLITE_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_SQLITE_SECONDS", "60"))
METRICS = int(os.environ.get("BENCH_SQLITE_METRICS", "100"))
PARAMS = int(os.environ.get("BENCH_SQLITE_PARAMS", "2"))
JOURNALS = [j for j in os.environ.get("BENCH_SQLITE_JOURNALS", "delete,wal").split(",") if j]
WORKERS = [int(w) for w in os.environ.get("BENCH_SQLITE_WORKERS", "1,2,4").split(",") if w]
POSTGRES = os.environ.get("BENCH_SQLITE_POSTGRES", "1") != "0"
PG_WORKERS = int(os.environ.get("BENCH_SQLITE_PG_WORKERS", "2"))


def serve(procs, tools, name, backend, root, workers):
    port = free_port()
    argv = [str(tools.mlflow_venv / "bin" / "mlflow"), "server", "--backend-store-uri", backend,
            "--serve-artifacts", "--artifacts-destination", str(root / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    p = procs.start(name, argv, env=local_env({"MLFLOW_DISABLE_TELEMETRY": "true"}, tools.mlflow_venv, root),
                    cwd=root)
    wait_http(f"http://127.0.0.1:{port}/health", 180, ok=lambda c: c == 200, proc=p)
    return port, p.log


def measure(procs, tools, label, backend, root, workers):
    port, log = serve(procs, tools, label, backend, root, workers)
    try:
        out = load(f"http://127.0.0.1:{port}", CLIENTS, SECONDS, METRICS, PARAMS)
    finally:
        procs.stop(label)
    out["locked"] = log.read_text(errors="replace").count("database is locked")
    out["label"], out["workers"] = label, workers
    return out


def row(r):
    calls = r["ok"] + len(r["errors"])
    print(f"  {r['label']:<22} {r['workers']:>7} {r['ok']:>8} {len(r['errors']):>7} {calls / SECONDS:>8.1f}"
          f" {r['ok'] * METRICS / SECONDS:>9.0f} {p50(r['latencies']):>8.0f}"
          f" {pct(r['latencies'], 99):>8.0f} {r['locked']:>7}", flush=True)


def main() -> int:
    tools = Tools.find()
    missing = [m for m in tools.missing() if "checkov" not in m and "old" not in m]
    if missing:
        raise SystemExit(f"stack tools missing, run `make stack-tools`: {missing}")
    root = Path(tempfile.mkdtemp(prefix="csc-sqlite-bench-"))
    root.chmod(0o755)
    procs = Procs(root / "state")
    print(f"{CLIENTS} clients x log-batch ({METRICS} metrics, {PARAMS} params a call) for {SECONDS:.0f} s a"
          f" configuration; MLflow on SQLite (uvicorn workers) vs PostgreSQL")
    print(f"  {'store / journal':<22} {'workers':>7} {'200':>8} {'errors':>7} {'calls/s':>8} {'metrics/s':>9}"
          f" {'p50 ms':>8} {'p99 ms':>8} {'locked':>7}")
    results = []
    try:
        template = root / "template.db"
        subprocess.run([str(tools.mlflow_venv / "bin" / "mlflow"), "db", "upgrade", f"sqlite:///{template}"],
                       check=True, capture_output=True, env=local_env({}, tools.mlflow_venv, root))
        for journal in JOURNALS:
            for workers in WORKERS:
                d = root / f"sqlite-{journal}-{workers}"
                d.mkdir()
                shutil.copy(template, d / "mlflow.db")
                with sqlite3.connect(d / "mlflow.db") as db:
                    mode = db.execute(f"PRAGMA journal_mode={journal}").fetchone()[0]
                assert mode == journal, mode
                results.append(measure(procs, tools, f"sqlite {journal}", f"sqlite:///{d / 'mlflow.db'}", d, workers))
                row(results[-1])
        if POSTGRES:
            pg = Postgres(procs, root / "pg", "mlflow", "bench-password", "mlflow", tools)
            pg.init()
            pg.start()
            d = root / "postgresql"
            d.mkdir()
            results.append(measure(procs, tools, "postgresql", pg.uri, d, PG_WORKERS))
            row(results[-1])
    finally:
        procs.stop_all()
        if not os.environ.get("CSC_MLFLOW_KEEP_TMP"):
            shutil.rmtree(root, ignore_errors=True)
    for r in results:
        if r["errors"]:
            print(f"  {r['label']} workers={r['workers']}: {error_kinds(r['errors'])}")
    clean = [r for r in results if r["label"].startswith("sqlite") and not r["errors"]]
    if clean:
        best = max(clean, key=lambda r: r["ok"])
        print(f"  best SQLite configuration without errors: {best['label']}, --workers {best['workers']}:"
              f" {best['ok'] / SECONDS:.1f} calls/s")
    else:
        print("  no SQLite configuration ran without errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
