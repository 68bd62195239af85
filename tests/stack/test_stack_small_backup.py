"""Scheduled backups, backup.yml, restore.yml and gc of the small stack (SQLite and artifacts on PVC <app>-data), with
the real services. kwok runs no pod: the CronJobs' and Jobs' pods run here as deployed, on the same local directory
for each PVC as the tracking server (running_stack: one directory per claim).

One small stack for the module, deployed with mlflow_backup_schedule, mlflow_gc_schedule and the backup copy to a
bucket "outside the cluster" (a MinIO here). Each test makes what it needs itself, in file order or alone:
1. the backup Job runs while the server serves a client that keeps writing: the copy is made with SQLite's online
   backup API (a sound database at the live schema revision, holding what was in the live WAL), the artifact
   listing matches the volume, backup.json is last, the copy lands in the outside bucket; backup.yml takes one more.
2. restore.yml: a run deleted after the backup and the database's WAL are gone; the restore Job (check, database,
   restore) puts the backup's database back; the run is there again, the run written after the backup is not and
   the report names it; a backup from a newer MLflow is refused and changes nothing.
3. gc: a deleted run loses its rows and its artifacts on the volume; a live run keeps both.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import subprocess
import textwrap
import time

import pytest

from harness.paths import DEFAULT_MLFLOW_VERSION
from running_stack.deployed import Deployed, run_pod
from running_stack.minio import MinIO
from running_stack.playbooks import deploy, playbook
from running_stack.processes import Procs, local_env
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

COPY_BUCKET = "small-backups"

WRITE = textwrap.dedent("""
    import json, os, sys, tempfile
    import mlflow
    from mlflow import MlflowClient
    name, experiment = sys.argv[1], sys.argv[2]
    exp = mlflow.set_experiment(experiment)
    p = os.path.join(tempfile.mkdtemp(), name + ".txt")
    open(p, "w").write("written " + name)
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("p", name)
        for i in range(5):
            mlflow.log_metric("m", i * 1.5, step=i)
        mlflow.log_artifact(p, artifact_path="files")
    if sys.argv[3:] == ["delete"]:
        MlflowClient().delete_run(run.info.run_id)
    print("RESULT " + json.dumps({"run_id": run.info.run_id, "experiment_id": exp.experiment_id}))
""")

# A client that keeps writing (a run per round, metrics in batches) until the file sys.argv[1] exists.
WRITER = textwrap.dedent("""
    import json, os, sys, time
    import mlflow
    from mlflow.entities import Metric
    from mlflow import MlflowClient
    mlflow.set_experiment("small-busy")
    c, rounds, t = MlflowClient(), 0, int(time.time() * 1000)
    while not os.path.exists(sys.argv[1]) or rounds < 3:
        with mlflow.start_run() as run:
            c.log_batch(run.info.run_id, metrics=[Metric("x", float(i), t, i) for i in range(200)])
        rounds += 1
    print("RESULT " + json.dumps({"rounds": rounds}))
""")

READ = textwrap.dedent("""
    import json, sys, tempfile
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow import MlflowClient
    c = MlflowClient()
    out = {}
    for run_id in sys.argv[1:]:
        try:
            r = c.get_run(run_id)
        except MlflowException as e:
            out[run_id] = {"error": e.error_code}
            continue
        p = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="files", dst_path=tempfile.mkdtemp())
        import os
        out[run_id] = {"stage": r.info.lifecycle_stage, "params": r.data.params,
                       "hist": sorted((m.step, m.value) for m in c.get_metric_history(run_id, "m")),
                       "files": {f: open(os.path.join(p, f)).read() for f in os.listdir(p)}}
    print("RESULT " + json.dumps(out))
""")


def _result(r):
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def _write(stack, name, experiment="small-backup", delete=False):
    argv = ["x", name, experiment] + (["delete"] if delete else [])
    return _result(stack.run_client(f"import sys; sys.argv = {argv!r}\n" + WRITE))


def _read(stack, *run_ids):
    return _result(stack.run_client(f"import sys; sys.argv = {['x', *run_ids]!r}\n" + READ))


def _ok(ran):
    for name, res in ran:
        assert res.returncode == 0, (name, res.stdout[-3000:], res.stderr[-3000:])
    return ran


def _query(path, sql, *args):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _backups(stack):
    root = stack.claim_dir(f"{stack.app}-backup") / "scheduled"
    return root, sorted(d.name for d in root.iterdir()) if root.is_dir() else []


def _backup_now(stack, pod):
    """The backup CronJob's pod, run here: the name of the backup it made."""
    _root, before = _backups(stack)
    ran = _ok(run_pod(stack, stack.deployed.cronjob_spec(f"{stack.app}-backup"), pod))
    _root, after = _backups(stack)
    (new,) = sorted(set(after) - set(before))
    return new, ran


def _no_store_secret(spec, app):
    text = json.dumps(spec)
    assert f'"{app}-s3"' not in text and f'"{app}-postgresql"' not in text, text


@pytest.fixture(scope="module")
def outside(tools, stack_tmp):
    """The bucket outside the cluster the backups are copied to (a MinIO here, as Allas would be)."""
    procs = Procs(stack_tmp / "small-copy")
    store = MinIO(procs, "small-copy", stack_tmp / "small-copy" / "store", "copy" + secrets.token_hex(6),
                  secrets.token_urlsafe(24), tools)
    try:
        store.start()
        store.s3().create_bucket(Bucket=COPY_BUCKET)
        yield store
    finally:
        store.stop()


@pytest.fixture(scope="module")
def small(stack_cluster, tools, stack_tmp, outside):
    ns = stack_cluster.fresh_namespace("smallbk")
    dep = deploy(stack_cluster, ns, mlflow_stack_size="small", mlflow_backup_schedule="30 2 * * *", mlflow_backup_keep=2,
                 mlflow_gc_schedule="0 3 * * 0", mlflow_gc_older_than="1s",
                 mlflow_tracking_backup_copy_endpoint=outside.endpoint, mlflow_tracking_backup_copy_bucket=COPY_BUCKET,
                 mlflow_tracking_backup_copy_prefix="mlbk", mlflow_tracking_backup_copy_access_key_id=outside.access_key,
                 mlflow_tracking_backup_copy_secret_access_key=outside.secret_key)
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), stack_tmp / f"small-{ns}", tools)
    try:
        stack.up()
        yield dep, stack
    finally:
        stack.down()


def test_backup_while_the_server_writes(small, outside, stack_cluster):
    dep, stack = small
    app = dep.app
    before = _write(stack, "before")
    data = stack.claim_dir(f"{app}-data")
    database = data / "mlflow.db"

    # the CronJob's pod: no dump container, the data volume beside the backup volume, on the tracking pod's node
    spec = stack.deployed.cronjob_spec(f"{app}-backup")
    assert "initContainers" not in spec or not spec["initContainers"], spec.get("initContainers")
    assert [c["name"] for c in spec["containers"]] == ["backup"]
    assert {v["name"]: (v.get("persistentVolumeClaim") or {}).get("claimName") for v in spec["volumes"]
            if v.get("persistentVolumeClaim")} == {"backup": f"{app}-backup", "data": f"{app}-data"}
    assert spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {"topologyKey": "kubernetes.io/hostname",
         "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": app, "app.kubernetes.io/component": "tracking"}}}]
    _no_store_secret(spec, app)

    # a client keeps writing through NGINX while the backup runs
    stop = stack.state / "client" / "stop-writer"
    stack.state.joinpath("client").mkdir(exist_ok=True)
    stop.unlink(missing_ok=True)
    venv = stack.tools.mlflow_venv
    writer = subprocess.Popen([str(venv / "bin" / "python"), "-c", WRITER, str(stop)], cwd=stack.state / "client",
                              env=local_env(stack.client_env(), venv, home=stack.state / "client"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _query(database, "SELECT count(*) FROM experiments WHERE name = ?",
                                                         "small-busy")[0][0]:
            time.sleep(0.2)
        wal = database.with_name("mlflow.db-wal")
        assert wal.exists() and wal.stat().st_size > 0, "the live database has no WAL: is it in WAL mode?"
        live_rows = _query(database, "SELECT count(*) FROM runs")[0][0]
        name, ran = _backup_now(stack, "bk-scheduled")
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err[-3000:]
    rounds = _result(subprocess.CompletedProcess([], 0, out, err))["rounds"]
    assert rounds >= 3

    root, _names = _backups(stack)
    backup = root / name
    assert sorted(p.name for p in backup.iterdir()) == ["artifacts.json", "backup.json", "mlflow.db"]
    copy = backup / "mlflow.db"
    assert _query(copy, "PRAGMA integrity_check") == [("ok",)]
    assert _query(copy, "PRAGMA journal_mode") == [("delete",)]  # one self-contained file, no -wal beside it
    assert not list(backup.glob("mlflow.db-*"))
    (revision,) = _query(database, "SELECT version_num FROM alembic_version")
    assert _query(copy, "SELECT version_num FROM alembic_version") == [revision]
    # a consistent state at least as new as the one seen before the backup, holding the run written before
    assert _query(copy, "SELECT count(*) FROM runs")[0][0] >= live_rows
    assert _query(copy, "SELECT name, lifecycle_stage FROM runs WHERE run_uuid = ?", before["run_id"]) == [
        ("before", "active")]

    meta = json.loads((backup / "backup.json").read_text())
    assert meta["name"] == name and meta["schema"] == revision[0] and meta["database"] == "sqlite", meta
    assert meta["mlflow_version"] == DEFAULT_MLFLOW_VERSION and meta["database_bytes"] == copy.stat().st_size
    listing = json.loads((backup / "artifacts.json").read_text())
    assert listing["store"] == "pvc" and listing["root"] == str(data / "artifacts")  # /mlflow/artifacts, here
    key = f"{before['experiment_id']}/{before['run_id']}/artifacts/files/before.txt"
    (entry,) = [o for o in listing["objects"] if o["key"] == key]
    st = (data / "artifacts" / key).stat()
    assert (entry["size"], entry["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
    assert meta["artifacts"] == len(listing["objects"]) and meta["artifact_bytes"] == sum(
        o["size"] for o in listing["objects"])
    # backup.json is the marker: written after the others
    assert (backup / "backup.json").stat().st_mtime_ns >= max(
        (backup / f).stat().st_mtime_ns for f in ("mlflow.db", "artifacts.json"))

    # the copy outside the cluster (copy_backup.py, same container): the same three files, backup.json included
    backup_log = ran[-1][1].stdout
    assert "backup copy " in backup_log, backup_log
    keys = sorted(o["Key"] for o in outside.s3().list_objects_v2(Bucket=COPY_BUCKET, Prefix=f"mlbk/{name}/")["Contents"])
    assert keys == [f"mlbk/{name}/{f}" for f in ("artifacts.json", "backup.json", "mlflow.db")]
    body = outside.s3().get_object(Bucket=COPY_BUCKET, Key=f"mlbk/{name}/mlflow.db")["Body"].read()
    assert body == copy.read_bytes()

    # backup.yml: a backup now, by the Job it creates (the CronJob's pod under another name), run here
    time.sleep(1.1)  # a backup's name is its second
    r = playbook(stack_cluster, "backup.yml", extra_vars={"mlflow_namespace": dep.namespace})
    assert r.rc == 0, str(r)
    assert "the artifacts stay on volume" in r.stdout, r.stdout[-3000:]
    stack.deployed.refresh()
    (job,) = [s for n, s in stack.deployed.job_specs() if n.startswith(f"{app}-bkp-")]
    assert job["containers"][0]["command"] == spec["containers"][0]["command"]
    assert job["affinity"] == spec["affinity"]
    _no_store_secret(job, app)
    _ok(run_pod(stack, job, "bk-now"))
    _root, names = _backups(stack)
    assert len(names) == 2 and names[0] == name and not any(n.endswith(".partial") for n in names), names


def test_restore_puts_a_deleted_run_back(small, stack_cluster):
    dep, stack = small
    app = dep.app
    kept = _write(stack, "kept")
    name, _ran = _backup_now(stack, "bk-restore")
    stack.run_client(f"from mlflow import MlflowClient; MlflowClient().delete_run({kept['run_id']!r})")
    after = _write(stack, "after")
    assert _read(stack, kept["run_id"])[kept["run_id"]]["stage"] == "deleted"

    # restore.yml stops the writers (the Deployments at 0), creates the Job, starts the writers again
    stack.procs.stop("nginx")
    stack.procs.stop("mlflow")
    database = stack.claim_dir(f"{app}-data") / "mlflow.db"
    r = playbook(stack_cluster, "restore.yml", extra_vars={
        "mlflow_namespace": dep.namespace, "mlflow_tracking_restore_backup": name, "mlflow_wait_timeout": 300})
    assert r.rc == 0, str(r)
    assert "Restored" in r.stdout, r.stdout[-3000:]
    assert stack.deployed.apps.read_namespaced_deployment(app, dep.namespace).spec.replicas == 1
    (spec,) = [s for n, s in stack.deployed.job_specs() if n.startswith(f"{app}-restore-")]
    assert [c["name"] for c in spec["initContainers"]] == ["check", "database"]
    assert "affinity" not in spec or not spec["affinity"], spec.get("affinity")  # the tracking pod is at 0
    _no_store_secret(spec, app)

    # a backup from a newer MLflow (a schema this MLflow does not know) is refused; nothing changes
    root, _names = _backups(stack)
    newer = root / "29991231T000000Z"
    shutil.copytree(root / name, newer)
    meta = json.loads((newer / "backup.json").read_text())
    (newer / "backup.json").write_text(json.dumps({**meta, "name": newer.name, "schema": "ffffffffffff"}))
    unchanged = database.read_bytes()
    newest = {**spec, "initContainers": [
        {**c, "env": [e for e in c.get("env") or [] if e["name"] != "RESTORE_BACKUP"]
         + [{"name": "RESTORE_BACKUP", "value": ""}]} for c in spec["initContainers"]]}
    ran = run_pod(stack, newest, "restore-newer")
    assert [n for n, _r in ran] == ["check"] and ran[0][1].returncode != 0
    assert "REFUSED" in ran[0][1].stderr and "newer MLflow" in ran[0][1].stderr, ran[0][1].stderr
    assert database.read_bytes() == unchanged
    shutil.rmtree(newer)

    # the server left a WAL behind (stopped, not closed cleanly perhaps): the restore removes it with the file
    database.with_name("mlflow.db-wal").write_bytes(b"stale WAL of the old database")
    ran = _ok(run_pod(stack, spec, "restore"))
    assert [n for n, _r in ran] == ["check", "database", "restore"]
    assert not database.with_name("mlflow.db-wal").exists() or not database.with_name("mlflow.db-wal").read_bytes()
    report = json.loads([x for x in ran[-1][1].stdout.splitlines() if x.startswith("RESTORE_REPORT ")][-1][15:])
    assert report["backup"] == name and report["artifacts_missing"] == 0 and report["same_store"], report
    assert report["runs_not_in_backup"] == [after["run_id"]], report
    assert not (database.parent / "mlflow.db.restore").exists()

    # the tracking pod starts again (its init container first, as on the cluster)
    stack.run_init_containers()
    stack.start_mlflow()
    stack.nginx_port = stack.start_nginx()
    stack.subs.services[app] = stack.nginx_port
    got = _read(stack, kept["run_id"], after["run_id"])
    assert got[kept["run_id"]] == {"stage": "active", "params": {"p": "kept"},
                                   "hist": [[i, i * 1.5] for i in range(5)], "files": {"kept.txt": "written kept"}}
    assert got[after["run_id"]] == {"error": "RESOURCE_DOES_NOT_EXIST"}


def test_gc_deletes_a_deleted_runs_rows_and_artifacts(small):
    dep, stack = small
    app = dep.app
    live = _write(stack, "live", "small-gc")
    gone = _write(stack, "gone", "small-gc", delete=True)
    data = stack.claim_dir(f"{app}-data")
    run_dir = data / "artifacts" / gone["experiment_id"]
    assert (run_dir / gone["run_id"] / "artifacts" / "files" / "gone.txt").is_file()
    time.sleep(2)  # older than mlflow_gc_older_than=1s

    spec = stack.deployed.cronjob_spec(f"{app}-gc")
    assert spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"] == {
        "matchLabels": {"app.kubernetes.io/instance": app, "app.kubernetes.io/component": "tracking"}}
    assert {"name": "data", "mountPath": "/mlflow"} in spec["containers"][0]["volumeMounts"]
    _no_store_secret(spec, app)
    _ok(run_pod(stack, spec, "gc"))

    database = data / "mlflow.db"
    assert _query(database, "SELECT run_uuid FROM runs WHERE run_uuid IN (?, ?)", live["run_id"], gone["run_id"]) == [
        (live["run_id"],)]
    assert _query(database, "SELECT count(*) FROM params WHERE run_uuid = ?", gone["run_id"]) == [(0,)]
    # the server deletes the run's artifact directory (its empty parent stays, as S3 would have no directory at all)
    assert not (run_dir / gone["run_id"] / "artifacts").exists()
    assert not [p for p in (run_dir / gone["run_id"]).rglob("*") if p.is_file()]
    assert (run_dir / live["run_id"] / "artifacts" / "files" / "live.txt").read_text() == "written live"
    got = _read(stack, live["run_id"], gone["run_id"])
    assert got[live["run_id"]]["stage"] == "active"
    assert got[gone["run_id"]] == {"error": "RESOURCE_DOES_NOT_EXIST"}
