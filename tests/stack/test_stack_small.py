"""The small stack (mlflow_stack_size=small) serves a user as the full stack does, with the real services.

deploy.yml with mlflow_stack_size=small (and mlflow_show_credentials, so that the summary prints the password
too); the tracking pod runs here as deployed: its init container prepare-database creates the SQLite database on
the local directory that stands for PVC <app>-data, then MLflow and the NGINX sidecar. A client that has nothing
but the printed export lines (the Route's URL replaced by the local NGINX, as the router would carry it) logs runs,
params, metrics, a registered model with versions and an alias, traces, small artifacts and a 50 MB one, and reads
them back identically; the files are on the volume under artifacts/. Without credentials, or with a wrong password,
NGINX refuses (401). With mlflow_metrics_enabled, the metrics port serves MLflow's counters as on the full stack.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import textwrap

import pytest
import requests

from running_stack.clients import DOWNLOADED_SUMS
from running_stack.deployed import Deployed
from running_stack.net import free_port
from running_stack.playbooks import deploy
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

BIG_MB = 50

WRITE = textwrap.dedent("""
    import hashlib, json, os, sys, tempfile
    import mlflow
    from mlflow import MlflowClient
    big = os.environ["BIG_FILE"]
    exp = mlflow.set_experiment("small-stack")
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "nested"))
    texts = {"a.txt": "alpha\\n", "b.csv": "x,y\\n" + "1,2\\n" * 2000, "nested/c.json": json.dumps({"k": list(range(50))}),
             "empty.txt": ""}
    for name, text in texts.items():
        open(os.path.join(d, name), "w").write(text)

    @mlflow.trace(name="scale")
    def scale(x, factor=3):
        return x * factor

    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params({"lr": "0.01", "layers": "3"})
        for i in range(20):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        mlflow.log_metric("accuracy", 0.93)
        mlflow.log_artifacts(d, artifact_path="small")
        mlflow.log_artifact(big, artifact_path="big")
        assert scale(7) == 21
        decorated = mlflow.get_last_active_trace_id()
        with mlflow.start_span(name="predict") as span:
            span.set_inputs({"question": "2+2"})
            span.set_outputs({"answer": 4})
        spanned = mlflow.get_last_active_trace_id()
    with mlflow.start_run(run_name="second") as second:
        mlflow.log_param("lr", "0.1")
        mlflow.log_metric("loss", 0.5)
    c = MlflowClient()
    c.create_registered_model("small-model", description="on SQLite")
    v1 = c.create_model_version("small-model", run.info.artifact_uri + "/small", run.info.run_id)
    v2 = c.create_model_version("small-model", second.info.artifact_uri, second.info.run_id)
    c.set_registered_model_alias("small-model", "champion", v2.version)
    sums = {os.path.join("small", name): hashlib.sha256(open(os.path.join(d, name), "rb").read()).hexdigest()
            for name in texts}
    print("RESULT " + json.dumps({"experiment_id": exp.experiment_id, "run_id": run.info.run_id,
                                  "second_id": second.info.run_id, "traces": [decorated, spanned], "sums": sums,
                                  "artifact_uri": run.info.artifact_uri, "versions": [v1.version, v2.version]}))
""")

READ = DOWNLOADED_SUMS + textwrap.dedent("""
    import json, os
    import mlflow
    from mlflow import MlflowClient
    w = json.loads(os.environ["WRITTEN"])
    c = MlflowClient()
    r = c.get_run(w["run_id"])
    out = {"params": r.data.params, "metrics": r.data.metrics,
           "loss": [(m.step, m.value) for m in c.get_metric_history(w["run_id"], "loss")],
           "runs": sorted(x.info.run_name for x in c.search_runs([w["experiment_id"]]))}
    out["sums"] = downloaded_sums(w["run_id"])
    out["listed"] = sorted(f.path for f in c.list_artifacts(w["run_id"], "small"))
    out["versions"] = sorted((v.version, v.run_id) for v in c.search_model_versions("name='small-model'"))
    out["champion"] = c.get_model_version_by_alias("small-model", "champion").version
    out["aliases"] = c.get_registered_model("small-model").aliases
    traces = {}
    for trace_id in w["traces"]:
        t = mlflow.get_trace(trace_id)
        traces[trace_id] = [(s.name, s.inputs, s.outputs) for s in t.data.spans]
    out["traces"] = traces
    out["searched_traces"] = len(mlflow.search_traces(locations=[w["experiment_id"]], return_type="list"))
    print("RESULT " + json.dumps(out))
""")


def _result(r):
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(8 << 20):
            h.update(b)
    return h.hexdigest()


@pytest.fixture(scope="module")
def small(stack_cluster, tools, stack_tmp):
    """One small stack for the module: deployed (credentials printed), running here."""
    ns = stack_cluster.fresh_namespace("small")
    dep = deploy(stack_cluster, ns, mlflow_stack_size="small", mlflow_show_credentials=True, mlflow_metrics_enabled=True)
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), stack_tmp / f"small-{ns}", tools)
    stack.subs.ports[9090] = free_port()   # the NGINX sidecar's metrics port (Service <app>-metrics)
    try:
        stack.up()
        yield dep, stack
    finally:
        stack.down()


def test_the_small_stack_runs_alone(small):
    """No PostgreSQL, no store: the tracking pod's volume holds the database (WAL journal) and the artifacts."""
    dep, stack = small
    assert stack.small and stack.pg is None and stack.gateway is None and stack.minio is None
    assert not stack.has_deployment(f"{dep.app}-postgresql") and not stack.has_deployment(f"{dep.app}-versitygw")
    data = stack.claim_dir(f"{dep.app}-data")
    con = sqlite3.connect(f"file:{data / 'mlflow.db'}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert len(con.execute("SELECT version_num FROM alembic_version").fetchall()) == 1
    finally:
        con.close()
    assert (data / "artifacts").is_dir()


def test_a_client_with_only_the_printed_exports_round_trips_everything(small, tmp_path):
    dep, stack = small
    assert sorted(dep.printed) == ["MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME"], \
        dep.printed
    hosts = [host for host, _port in stack.deployed.routes().values() if host]
    assert dep.printed["MLFLOW_TRACKING_URI"] in [f"https://{h}" for h in hosts], (dep.printed, hosts)
    # the router's stand-in: the Route's URL is the local NGINX; everything else as printed
    env = {**dep.printed, "MLFLOW_TRACKING_URI": stack.tracking_uri}

    big = tmp_path / "weights.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(BIG_MB << 20))
    big_sha = _sha256(big)

    written = _result(stack.run_client(WRITE, env={**env, "BIG_FILE": str(big)}, timeout=900))
    assert written["artifact_uri"].startswith("mlflow-artifacts:"), written["artifact_uri"]
    got = _result(stack.run_client(READ, env={**env, "WRITTEN": json.dumps(written)}, timeout=900))

    assert got["params"] == {"lr": "0.01", "layers": "3"}
    assert got["metrics"] == {"loss": 1.0 / 20, "accuracy": 0.93}
    assert sorted(got["loss"]) == [[i, 1.0 / (i + 1)] for i in range(20)]
    assert got["runs"] == ["second", "train"]
    assert got["sums"] == {**written["sums"], "big/weights.bin": big_sha}
    assert got["listed"] == ["small/a.txt", "small/b.csv", "small/empty.txt", "small/nested"]
    assert got["versions"] == [["1", written["run_id"]], ["2", written["second_id"]]]
    assert got["champion"] == "2" and got["aliases"] == {"champion": "2"}
    decorated, spanned = written["traces"]
    assert got["traces"][decorated] == [["scale", {"x": 7, "factor": 3}, 21]]
    assert got["traces"][spanned] == [["predict", {"question": "2+2"}, {"answer": 4}]]
    assert got["searched_traces"] == 2

    # on the volume: <data>/artifacts/<experiment>/<run>/artifacts/..., the same bytes
    run_dir = stack.claim_dir(f"{dep.app}-data") / "artifacts" / written["experiment_id"] / written["run_id"] / "artifacts"
    on_volume = {str(p.relative_to(run_dir)): _sha256(p) for p in run_dir.rglob("*") if p.is_file()}
    assert on_volume == got["sums"]
    assert not list((stack.claim_dir(f"{dep.app}-data") / "tmp").rglob("weights.bin")), "an upload was left in the spool"


def test_no_or_wrong_credentials_are_refused(small):
    dep, stack = small
    base, user, password = stack.tracking_uri, dep.printed["MLFLOW_TRACKING_USERNAME"], dep.printed["MLFLOW_TRACKING_PASSWORD"]
    api = f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(f"{base}/health", timeout=10).status_code == 200
    assert requests.get(api, timeout=10).status_code == 401
    assert requests.get(api, auth=(user, password + "x"), timeout=10).status_code == 401
    put = f"{base}/api/2.0/mlflow-artifacts/artifacts/0/x/artifacts/intruder.txt"
    assert requests.put(put, data=b"no", timeout=10).status_code == 401
    assert requests.get(api, auth=(user, password), timeout=10).status_code == 200
    assert not list(stack.claim_dir(f"{dep.app}-data").rglob("intruder.txt"))


@pytest.mark.parametrize("path", [
    "../mlflow.db", "..%2Fmlflow.db", "%2e%2e/%2e%2e/mlflow.db", "0/r/artifacts/../../../../mlflow.db",
    "/etc/passwd", "%2Fmlflow%2Fmlflow.db", "0/r/artifacts/..%5C..%5C..%5Cmlflow.db",
])
def test_artifact_paths_cannot_leave_the_artifact_directory(small, path):
    """Malformed artifact paths, with valid credentials: the small stack keeps artifacts as files on the volume
    beside its database, so an upload or a download that climbs out of artifacts/ would reach mlflow.db. Every
    such request is refused (4xx) or stays inside artifacts/: the database is neither served nor changed, and no
    file appears outside artifacts/."""
    dep, stack = small
    auth = (dep.printed["MLFLOW_TRACKING_USERNAME"], dep.printed["MLFLOW_TRACKING_PASSWORD"])
    data = stack.claim_dir(f"{dep.app}-data")

    def outside():
        return sorted(str(p.relative_to(data)) for p in data.rglob("*")
                      if p.is_file() and p.parts[len(data.parts)] not in ("artifacts", "tmp", "upgrade-backups")
                      and not p.name.endswith(("-wal", "-shm", "-journal")))  # SQLite's own, come and go

    before = outside()
    url = f"{stack.tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{path}"
    got = requests.get(url, auth=auth, timeout=10)
    assert got.status_code in (400, 404), (got.status_code, got.content[:80])
    assert b"SQLite format" not in got.content and b"root:" not in got.content
    put = requests.put(url, auth=auth, data=b"not a database", timeout=10)
    # A backslash is a plain character of a Linux file name: `..\..\x` is one file, written inside artifacts/.
    assert put.status_code in (400, 404) or "%5C" in path, (put.status_code, put.text[:200])
    assert outside() == before
    con = sqlite3.connect(f"file:{data / 'mlflow.db'}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        con.close()


def test_metrics_as_on_the_full_stack(small):
    """metrics.yaml.j2 unchanged: /metrics on the sidecar's metrics port counts the API calls; not on the public one."""
    dep, stack = small
    stack.run_client("import mlflow\nmlflow.set_experiment('small-metrics')\n"
                     "for i in range(3):\n    with mlflow.start_run():\n        mlflow.log_metric('m', float(i))\n")
    got = requests.get(f"http://127.0.0.1:{stack.subs.ports[9090]}/metrics", timeout=30)
    assert got.status_code == 200, got.text[:500]
    posts = sum(float(line.rsplit(" ", 1)[1]) for line in got.text.splitlines()
                if line.startswith("mlflow_http_request_total{") and 'method="POST"' in line and 'status="200"' in line)
    assert posts >= 9, [line for line in got.text.splitlines() if "request_total" in line]
    auth = (dep.printed["MLFLOW_TRACKING_USERNAME"], dep.printed["MLFLOW_TRACKING_PASSWORD"])
    assert requests.get(f"{stack.tracking_uri}/metrics", auth=auth, timeout=10).status_code == 404
