"""Scheduled backups and restore.yml, with the real services.

1. deploy.yml with mlflow_backup_schedule; the stack runs.
2. Experiments, runs, metrics, a registered model and artifacts are written.
3. The backup CronJob's pod runs here, as deployed (kwok runs no containers): dump, then listing.
4. A run is logged after the backup; then the database is lost (dropped, re-created empty).
5. A backup from a newer schema is refused by the restore Job's check, and changes nothing.
6. restore.yml: the role stops the writers, creates the restore Job, starts the writers again; the
   Job's containers run here. Everything of step 2 is back; the run of step 4 is not, and the
   restore's report names it as not in the backup.
"""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from harness.paths import DEFAULT_MLFLOW_VERSION
from running_stack.deployed import Deployed, run_pod
from running_stack.playbooks import deploy, playbook
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

WRITE = textwrap.dedent("""
    import json, os, sys, tempfile
    import mlflow
    from mlflow.tracking import MlflowClient
    name = sys.argv[1]
    mlflow.set_experiment("stack-" + name)
    p = os.path.join(tempfile.mkdtemp(), "notes.txt")
    open(p, "w").write("written " + name)
    with mlflow.start_run() as run:
        mlflow.log_param("p", name)
        for i in range(5):
            mlflow.log_metric("m", i * 1.5, step=i)
        mlflow.log_artifact(p)
    if name == "before":
        c = MlflowClient()
        c.create_registered_model("backup-model")
        c.create_model_version("backup-model", run.info.artifact_uri, run.info.run_id)
    print("RESULT " + json.dumps({"run_id": run.info.run_id}))
""")

READ = textwrap.dedent("""
    import json, sys, tempfile
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    c = MlflowClient()
    before, after = sys.argv[1], sys.argv[2]
    exp = c.get_experiment_by_name("stack-before")
    r = c.get_run(before)
    hist = [(m.step, m.value) for m in c.get_metric_history(before, "m")]
    p = mlflow.artifacts.download_artifacts(run_id=before, artifact_path="notes.txt", dst_path=tempfile.mkdtemp())
    mv = c.get_model_version("backup-model", "1")
    try:
        c.get_run(after)
        after_found = True
    except MlflowException:
        after_found = False
    print("RESULT " + json.dumps({"experiment": exp.name if exp else None, "params": r.data.params,
                                  "hist": sorted(hist), "notes": open(p).read(), "model_run": mv.run_id,
                                  "after_found": after_found,
                                  "after_experiment": c.get_experiment_by_name("stack-after") is not None}))
""")


def _result(r):
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def test_backup_then_restore_brings_everything_back(stack_cluster, tools, tmp_path):
    ns = stack_cluster.fresh_namespace("backup")
    dep = deploy(stack_cluster, ns, mlflow_backup_schedule="30 2 * * *", mlflow_backup_keep=2)
    app = dep.app
    stack = Stack(Deployed(stack_cluster.api, ns, app), tmp_path / "stack", tools)
    try:
        stack.up()
        before = _result(stack.run_client("import sys; sys.argv = ['x', 'before']\n" + WRITE))["run_id"]

        # the CronJob's pod, as deployed; "pvc" is the one local directory the backup PVC stands for
        spec = stack.deployed.cronjob_spec(f"{app}-backup")
        assert [c["name"] for c in spec["initContainers"]] == ["dump"] and spec["containers"][0]["name"] == "backup"
        for name, res in run_pod(stack, spec, "pvc"):
            assert res.returncode == 0, (name, res.stdout, res.stderr)
        root = stack.state / "run" / "pvc" / "vol" / "backup" / "scheduled"
        backups = sorted(d.name for d in root.iterdir())
        assert len(backups) == 1 and not backups[0].endswith(".partial"), backups
        meta = json.loads((root / backups[0] / "backup.json").read_text())
        assert meta["schema"] and meta["mlflow_version"] == DEFAULT_MLFLOW_VERSION and meta["artifacts"] >= 1, meta
        listing = json.loads((root / backups[0] / "artifacts.json").read_text())
        assert any(before in o["key"] and o["key"].endswith("notes.txt") for o in listing["objects"]), listing

        # backup.yml: one more now, by the Job it starts (the CronJob's pod under another name), run here
        r = playbook(stack_cluster, "backup.yml", extra_vars={"mlflow_namespace": ns})
        assert r.rc == 0, str(r)
        (now_job,) = [s for n, s in stack.deployed.job_specs() if n.startswith(f"{app}-bkp-")]
        assert now_job["containers"][0]["command"] == spec["containers"][0]["command"]
        for name, res in run_pod(stack, now_job, "pvc"):
            assert res.returncode == 0, (name, res.stdout, res.stderr)
        both = sorted(d.name for d in root.iterdir())
        assert len(both) == 2 and both[0] == backups[0], both
        shutil.rmtree(root / both[1])  # the restore below picks the newest: the first one, as before

        after = _result(stack.run_client("import sys; sys.argv = ['x', 'after']\n" + WRITE))["run_id"]

        # the writers stop (restore.yml scales them to 0), then the database is lost
        stack.procs.stop("nginx")
        stack.procs.stop("mlflow")
        pg = stack.pg
        pg.psql("postgres", f'DROP DATABASE "{pg.database}" WITH (FORCE)')
        pg.psql("postgres", f'CREATE DATABASE "{pg.database}" OWNER "{pg.user}"')

        r = playbook(stack_cluster, "restore.yml", extra_vars={"mlflow_namespace": ns, "mlflow_wait_timeout": 300})
        assert r.rc == 0, str(r)
        assert "Restored" in r.stdout, r.stdout
        assert stack.deployed.apps.read_namespaced_deployment(app, ns).spec.replicas == 1  # the writers are back
        jobs = [(n, s) for n, s in stack.deployed.job_specs() if n.startswith(f"{app}-restore-")]
        assert len(jobs) == 1, [n for n, _s in stack.deployed.job_specs()]
        spec = jobs[0][1]
        assert [c["name"] for c in spec["initContainers"]] == ["check", "database"]

        # a backup from a newer MLflow (a schema revision this MLflow does not know) is refused, nothing changes
        newer = root / "29991231T000000Z"
        shutil.copytree(root / backups[0], newer)
        (newer / "backup.json").write_text(json.dumps({**meta, "name": newer.name, "schema": "ffffffffffff"}))
        ran = run_pod(stack, spec, "pvc")
        assert [n for n, _r in ran] == ["check"] and ran[0][1].returncode != 0
        assert "REFUSED" in ran[0][1].stderr + ran[0][1].stdout and "newer MLflow" in ran[0][1].stderr, ran[0][1].stderr
        assert pg.psql(pg.database, "SELECT count(*) FROM pg_tables WHERE schemaname='public'").strip() == "0"
        shutil.rmtree(newer)

        ran = run_pod(stack, spec, "pvc")
        for name, res in ran:
            assert res.returncode == 0, (name, res.stdout, res.stderr)
        assert [n for n, _r in ran] == ["check", "database", "restore"]
        report = json.loads([x for x in ran[-1][1].stdout.splitlines() if x.startswith("RESTORE_REPORT ")][-1][15:])
        assert report["backup"] == backups[0] and report["artifacts_missing"] == 0, report
        assert report["runs_not_in_backup"] == [after], report
        assert "not in the backup" in ran[-1][1].stdout

        stack.start_mlflow()
        stack.nginx_port = stack.start_nginx()
        stack.subs.services[stack.app] = stack.nginx_port
        got = _result(stack.run_client(f"import sys; sys.argv = ['x', {before!r}, {after!r}]\n" + READ))
        assert got["experiment"] == "stack-before" and got["params"] == {"p": "before"}
        assert got["hist"] == [[i, i * 1.5] for i in range(5)]
        assert got["notes"] == "written before"
        assert got["model_run"] == before
        assert got["after_found"] is False and got["after_experiment"] is False
    finally:
        stack.down()
