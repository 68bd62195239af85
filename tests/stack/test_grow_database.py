"""grow_database.py, the database half of growing a small stack (SQLite on a PVC) into the full one (PostgreSQL),
with real servers: a small-stack `mlflow server` on SQLite is written to through the MLflow client (experiments,
runs, metric histories, params, tags, datasets, a registered model with versions and aliases, traces, logged models);
PostgreSQL gets its schema from `mlflow db upgrade` of the same MLflow; the script runs as the Job runs it (the
MLflow image's Python, settings from its environment) while the small stack keeps serving. Then an `mlflow server` on
PostgreSQL reads back everything the small one serves, the same, and new experiments and runs get new ids.
Refused, changing nothing: another alembic revision; a target holding rows the source does not have (until
--reset-target). A copy killed half way leaves the source as it was and the target empty; the retry succeeds."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import textwrap
import time

import pytest

from running_stack.clients import LOG_TRACES
from running_stack.net import free_port, wait_http
from running_stack.postgresql import Postgres
from running_stack.processes import Procs, local_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "mlflow_tracking", "files", "grow_database.py")

WRITE = LOG_TRACES + textwrap.dedent("""
    import json, os, time
    import pandas as pd
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    c = MlflowClient()
    ts = int(time.time() * 1000)
    exps = [c.create_experiment("grow-%d" % i, tags={"team": "t%d" % i}) for i in range(3)]
    runs = []
    for e in exps:
        for j in range(2):
            r = c.create_run(e, run_name="run-%d" % j, tags={"k": "v%d" % j}, start_time=ts + j)
            rid = r.info.run_id
            c.log_batch(rid, metrics=[Metric("loss", 1.0 / (s + 1), ts + s, s) for s in range(50)]
                        + [Metric("acc", s / 7.0, ts + s, s) for s in range(0, 50, 5)],
                        params=[Param("lr", "0.1"), Param("layers", str(j + 2))],
                        tags=[RunTag("stage", "train")])
            c.log_metric(rid, "nan", float("nan"), timestamp=ts, step=0)
            c.log_metric(rid, "inf", float("inf"), timestamp=ts, step=0)
            c.log_metric(rid, "big", 2.0 ** 60, timestamp=ts + 2 ** 40, step=2 ** 40)
            runs.append(rid)
    c.set_terminated(runs[0], "FINISHED", end_time=ts + 1000)
    c.set_terminated(runs[1], "FAILED")
    c.delete_run(runs[2])
    c.delete_experiment(exps[2])
    # a large metric history: the copy is batched, and a kill lands in the middle of it
    for b in range(20):
        c.log_batch(runs[0], metrics=[Metric("hist", float(b * 1000 + s), ts + b * 1000 + s, b * 1000 + s)
                                      for s in range(1000)])
    mlflow.set_experiment(experiment_id=exps[1])
    with mlflow.start_run(run_id=runs[3]):
        mlflow.log_input(mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), name="train-df"), context="training")
    c.create_registered_model("grow-model", tags={"owner": "alice"}, description="grown")
    for rid in runs[:2]:
        c.create_model_version("grow-model", "runs:/%s/model" % rid, rid, tags={"from": rid}, description="v")
    c.set_registered_model_alias("grow-model", "champion", "1")
    c.set_registered_model_alias("grow-model", "challenger", "2")
    c.set_model_version_tag("grow-model", "2", "validated", "true")
    lm = c.create_logged_model(exps[0], name="lm", source_run_id=runs[0], params={"alpha": "0.5"},
                               tags={"kind": "sklearn"})
    c.log_metric(runs[0], "lm_score", 0.93, timestamp=ts, step=1, model_id=lm.model_id)

    log_traces(exps[0], 3)
    print("RESULT " + json.dumps({"experiments": exps, "runs": runs}))
""")

# Everything a client reads back, in a form that compares (sorted, ids and timestamps kept).
READ = textwrap.dedent("""
    import json, math
    import mlflow
    from mlflow import MlflowClient
    c = MlflowClient()
    ViewType = mlflow.entities.ViewType
    def num(v):
        return repr(v) if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
    out = {"experiments": [], "runs": [], "models": [], "versions": [], "traces": [], "logged_models": []}
    exps = c.search_experiments(view_type=ViewType.ALL)
    for e in exps:
        out["experiments"].append([e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.tags,
                                   e.creation_time, e.last_update_time])
        for r in c.search_runs([e.experiment_id], run_view_type=ViewType.ALL, max_results=1000):
            i = r.info
            hist = {k: sorted((m.step, m.timestamp, num(m.value)) for m in c.get_metric_history(i.run_id, k))
                    for k in r.data.metrics}
            out["runs"].append([i.run_id, i.experiment_id, i.run_name, i.status, i.start_time, i.end_time,
                                i.artifact_uri, i.lifecycle_stage, i.user_id, {k: num(v) for k, v in r.data.metrics.items()},
                                r.data.params, r.data.tags, hist,
                                sorted((d.dataset.name, d.dataset.digest, d.dataset.source, sorted((t.key, t.value) for t in d.tags))
                                       for d in (r.inputs.dataset_inputs if r.inputs else []))])
        for t in c.search_traces(experiment_ids=[e.experiment_id], max_results=100):
            ti = t.info
            out["traces"].append([ti.trace_id, ti.request_time, ti.execution_duration, str(ti.state), ti.tags.get("mlflow.traceName"),
                                  sorted((s.name, s.span_type, s.parent_id is None, json.dumps(s.inputs, sort_keys=True),
                                          json.dumps(s.outputs, sort_keys=True), s.start_time_ns, s.end_time_ns)
                                         for s in t.data.spans)])
        for m in c.search_logged_models(experiment_ids=[e.experiment_id]):
            out["logged_models"].append([m.model_id, m.name, m.source_run_id, m.params, m.tags, m.creation_timestamp,
                                         str(m.status), sorted((x.key, x.value, x.step) for x in (m.metrics or []))])
    for m in c.search_registered_models():
        out["models"].append([m.name, m.creation_timestamp, m.last_updated_timestamp, m.description, m.tags,
                              sorted(m.aliases.items()) if isinstance(m.aliases, dict) else sorted(m.aliases)])
    for v in c.search_model_versions("name='grow-model'"):
        out["versions"].append([v.name, v.version, v.run_id, v.source, v.status, v.tags, sorted(v.aliases),
                                v.creation_timestamp, v.last_updated_timestamp, v.description])
    out["aliases"] = [[a, c.get_model_version_by_alias("grow-model", a).version] for a in ("champion", "challenger")]
    for k in out:
        out[k].sort(key=json.dumps)
    print("RESULT " + json.dumps(out))
""")

NEW = textwrap.dedent("""
    import json
    from mlflow import MlflowClient
    c = MlflowClient()
    exp = c.create_experiment("after-growing")
    run = c.create_run(exp)
    c.log_metric(run.info.run_id, "m", 1.0)
    print("RESULT " + json.dumps({"experiment": exp, "run": run.info.run_id}))
""")


def _result(r):
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


class Grow:
    """The small stack (MLflow on SQLite, artifacts in a directory), PostgreSQL, and the ways to run things."""

    def __init__(self, tools, root):
        self.tools, self.root = tools, root
        self.procs = Procs(root)
        self.pg = Postgres(self.procs, root / "pg", "mlflow", secrets.token_urlsafe(16), "mlflow", tools)
        self.sqlite = root / "pvc" / "mlflow.db"
        self.artifacts = root / "pvc" / "artifacts"
        self.urls = {}

    def server(self, name, backend):
        port = free_port()
        argv = [str(self.tools.mlflow_venv / "bin" / "mlflow"), "server", "--backend-store-uri", backend,
                "--serve-artifacts", "--artifacts-destination", str(self.artifacts),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        env = local_env({"MLFLOW_DISABLE_TELEMETRY": "true"}, self.tools.mlflow_venv, self.root)
        p = self.procs.start(name, argv, env=env, cwd=self.root)
        self.urls[name] = f"http://127.0.0.1:{port}"
        return p

    def client(self, name, code, timeout=300):
        env = local_env({"MLFLOW_TRACKING_URI": self.urls[name], "MLFLOW_DISABLE_TELEMETRY": "true"},
                        self.tools.mlflow_venv, self.root)
        return _result(subprocess.run([self.tools.python(), "-c", code], env=env, capture_output=True, text=True,
                                      timeout=timeout, check=False, cwd=self.root))

    def script_env(self, **extra):
        return {"PATH": "/usr/bin:/bin", "HOME": str(self.root), "SQLITE_PATH": str(self.sqlite),
                "MLFLOW_BACKEND_STORE_URI": self.pg.uri.replace("postgresql://", "postgresql+psycopg2://"),
                "WORK_DIR": str(self.root), **extra}

    def grow(self, *args, **extra):
        return subprocess.run([self.tools.python(), SCRIPT, *args], env=self.script_env(**extra), capture_output=True,
                              text=True, timeout=600, check=False)

    def sql(self, query):
        return self.pg.psql(self.pg.database, query).strip()

    def source_digest(self):
        return hashlib.sha256(self.sqlite.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def grow(tools, stack_tmp):
    g = Grow(tools, stack_tmp / "grow-db")
    g.sqlite.parent.mkdir(parents=True)
    try:
        g.pg.init()
        g.pg.start()
        small = g.server("small", f"sqlite:///{g.sqlite}")  # sqlite:// + an absolute path: four slashes
        upgrade = subprocess.Popen([str(tools.mlflow_venv / "bin" / "mlflow"), "db", "upgrade", g.pg.uri],
                                   env=local_env({}, tools.mlflow_venv, g.root), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        wait_http(g.urls["small"] + "/health", 180, ok=lambda c: c == 200, proc=small)
        g.written = g.client("small", WRITE)
        out = upgrade.communicate(timeout=300)[0]
        assert upgrade.returncode == 0, out[-3000:]
        g.before = g.client("small", READ)
        yield g
    finally:
        g.procs.stop_all()


def test_another_schema_revision_is_refused(grow):
    revision = grow.sql("SELECT version_num FROM alembic_version")
    grow.sql("UPDATE alembic_version SET version_num = 'aaaaaaaaaaaa'")
    try:
        r = grow.grow()
    finally:
        grow.sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    assert r.returncode == 1 and "REFUSED" in r.stderr and "aaaaaaaaaaaa" in r.stderr, r.stderr
    assert revision in r.stderr and "Nothing was changed" in r.stderr
    assert grow.sql("SELECT count(*) FROM experiments") == "0"
    assert grow.pg.password not in r.stdout + r.stderr


def test_a_copy_killed_half_way_leaves_both_sides_as_they_were(grow):
    """The small stack keeps serving (the snapshot is SQLite's online backup); killed in the middle of the metric
    rows, the script committed nothing and left the SQLite file as it was."""
    before = grow.source_digest()
    p = subprocess.Popen([grow.tools.python(), SCRIPT], env=grow.script_env(BATCH_ROWS="200"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in p.stdout:
        seen.append(line)
        if line.startswith("copied runs:"):  # the metric tables come after runs; they take a while in batches of 200
            time.sleep(0.3)
            p.send_signal(signal.SIGKILL)
            break
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL, "".join(seen) + p.stderr.read()
    deadline = time.monotonic() + 30  # PostgreSQL rolls back once it notices the connection is gone
    while grow.sql("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
                   "OR (state = 'active' AND query LIKE 'INSERT%')") != "0" and time.monotonic() < deadline:
        time.sleep(0.2)
    for table in ("experiments", "runs", "metrics", "latest_metrics"):
        assert grow.sql(f"SELECT count(*) FROM {table}") == "0", table
    assert grow.source_digest() == before


def test_the_copy_passes_its_checks(grow):
    before = grow.source_digest()
    r = grow.grow()
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(r.stdout.splitlines()[-1])
    assert result["ok"] and result["rows"] > 20000 and result["tables"] > 50, result
    assert result["sequences"]["experiments.experiment_id"] == 4  # Default (0) and grow-0..2
    assert grow.source_digest() == before
    assert grow.pg.password not in r.stdout + r.stderr
    assert grow.sql("SELECT count(*) FROM metrics") == str(sum(
        len(h) for run in grow.before["runs"] for h in run[12].values()))


def test_postgresql_serves_everything_the_small_stack_served(grow):
    p = grow.server("full", grow.pg.uri)
    wait_http(grow.urls["full"] + "/health", 180, ok=lambda c: c == 200, proc=p)
    after = grow.client("full", READ)
    for key, items in grow.before.items():
        assert items, key  # every kind of item was written
        assert after[key] == items, key
    assert after["aliases"] == [["challenger", "2"], ["champion", "1"]]


def test_new_experiments_and_runs_get_new_ids(grow):
    """The sequences were set: PostgreSQL hands out the next experiment id, no duplicate key."""
    new = grow.client("full", NEW)
    assert new["experiment"] == "4"
    assert grow.client("full", READ)["runs"] != grow.before["runs"]


def test_a_target_with_rows_the_source_does_not_have_is_refused_until_reset(grow):
    grow.procs.stop("full")
    r = grow.grow()
    assert r.returncode == 1 and "REFUSED: the target database is not empty" in r.stderr, r.stderr
    assert grow.sql("SELECT count(*) FROM experiments WHERE name = 'after-growing'") == "1"
    r = grow.grow("--reset-target")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert json.loads(r.stdout.splitlines()[-1])["reset_target"] is True
    assert grow.sql("SELECT count(*) FROM experiments WHERE name = 'after-growing'") == "0"
    p = grow.server("full", grow.pg.uri)
    wait_http(grow.urls["full"] + "/health", 180, ok=lambda c: c == 200, proc=p)
    assert grow.client("full", READ) == grow.before
