"""Upgrade path: data written on an older MLflow survives the collection's upgrade procedure.

1. deploy.yml with the old `mlflow_version`; the stack runs on the old MLflow (2.22).
2. Experiments, runs, metrics, a registered model and artifacts are written.
3. deploy.yml with the new version: the role stops the writers and creates the backup
   and `mlflow db upgrade` Jobs. kwok cannot run them: their commands run here, as deployed.
4. The new MLflow starts on the upgraded schema: everything is still there.
5. The backup restores into a fresh database, which the old MLflow reads.

And when `mlflow db upgrade` fails partway, PostgreSQL rolls every migration of the run back and the old MLflow,
started again by the role, serves everything (the claim of roles/mlflow_tracking/tasks/upgrade.yml).
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from harness.faults import job_fails
from harness.paths import DEFAULT_MLFLOW_VERSION
from running_stack.deployed import Deployed
from running_stack.playbooks import deploy, playbook
from running_stack.stack import Stack
from running_stack.tools import versions

pytestmark = [pytest.mark.stack, pytest.mark.slow]

WRITE = textwrap.dedent("""
    import json, os, tempfile
    import mlflow
    from mlflow.tracking import MlflowClient
    mlflow.set_experiment("stack-upgrade")
    p = os.path.join(tempfile.mkdtemp(), "notes.txt")
    open(p, "w").write("written on " + mlflow.__version__)
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        for i in range(5):
            mlflow.log_metric("m", i * 1.5, step=i)
        mlflow.log_artifact(p)
    c = MlflowClient()
    c.create_registered_model("upgrade-model")
    c.create_model_version("upgrade-model", run.info.artifact_uri, run.info.run_id)
    print("RESULT " + json.dumps({"run_id": run.info.run_id, "version": mlflow.__version__}))
""")

READ = textwrap.dedent("""
    import json, sys, tempfile
    import mlflow
    from mlflow.tracking import MlflowClient
    c = MlflowClient()
    run_id = sys.argv[1]
    exp = c.get_experiment_by_name("stack-upgrade")
    r = c.get_run(run_id)
    hist = [(m.step, m.value) for m in c.get_metric_history(run_id, "m")]
    p = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes.txt", dst_path=tempfile.mkdtemp())
    mv = c.get_model_version("upgrade-model", "1")
    print("RESULT " + json.dumps({"experiment": exp.name, "params": r.data.params, "hist": sorted(hist),
                                  "notes": open(p).read(), "model_run": mv.run_id,
                                  "server": mlflow.__version__}))
""")


def _result(r):
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def _read(stack, run_id, old=False):
    return _result(stack.run_client(f"import sys; sys.argv = ['x', {run_id!r}]\n" + READ, old=old))


def old_stack(stack_cluster, tools, tmp_path, prefix):
    """(old MLflow version, its deployment, its Stack, not started yet) in a fresh namespace."""
    old_version = versions()["MLFLOW_OLD_VERSION"]
    ns = stack_cluster.fresh_namespace(prefix)
    # No official image of MLflow 2.22 has the database driver: the user's own (a recorded test image).
    # An old release is below the version floor (docs/SECURITY.md): deployed on purpose here.
    dep = deploy(stack_cluster, ns, mlflow_version=old_version, mlflow_image=f"example.test/mlflow:{old_version}",
                 mlflow_allow_insecure_version=True)
    return old_version, dep, Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools, old=True)


def test_upgrade_keeps_everything_and_backup_restores(stack_cluster, tools, tmp_path):
    old_version, dep, stack = old_stack(stack_cluster, tools, tmp_path, "upgrade")
    try:
        stack.up()
        written = _result(stack.run_client(WRITE, old=True))
        assert written["version"] == old_version

        # ... upgraded to the collection's default image of the new version
        new_vars = {k: v for k, v in dep.extra_vars.items() if k != "mlflow_image"}
        r = playbook(stack_cluster, "deploy.yml", extra_vars={**new_vars, "mlflow_version": DEFAULT_MLFLOW_VERSION})
        assert r.rc == 0, str(r)
        stack.deployed.refresh()

        # the writers stop first (the role scaled tracking + models to 0)
        stack.procs.stop("nginx")
        stack.procs.stop("mlflow")
        jobs = stack.deployed.job_specs()
        backup = [(n, s) for n, s in jobs if "pg_dump" in json.dumps(s)]
        upgrade = [(n, s) for n, s in jobs if "db upgrade" in json.dumps(s)]
        assert backup and upgrade, [job_name for job_name, _spec in jobs]
        name, spec = backup[-1]
        res = stack.run_container_once(spec, spec["containers"][0], name)
        assert res.returncode == 0, res.stdout + res.stderr
        dumps = list((stack.state / "run" / name / "vol" / "backup").glob("*.dump"))
        assert len(dumps) == 1 and dumps[0].stat().st_size > 0
        name, spec = upgrade[-1]
        res = stack.run_container_once(spec, spec["containers"][0], name)  # the new MLflow venv
        assert res.returncode == 0, res.stdout + res.stderr

        stack.old = False
        stack.start_mlflow()
        stack.nginx_port = stack.start_nginx()
        stack.subs.services[stack.app] = stack.nginx_port
        after = _read(stack, written["run_id"])
        assert after["server"] == DEFAULT_MLFLOW_VERSION
        assert after["experiment"] == "stack-upgrade" and after["params"] == {"p": "1"}
        assert after["hist"] == [[i, i * 1.5] for i in range(5)]
        assert after["notes"] == f"written on {old_version}"
        assert after["model_run"] == written["run_id"]

        # the backup restores into a fresh database, at the old schema
        pg = stack.pg
        pg.psql("postgres", 'CREATE DATABASE "restored"')
        subprocess.run(["pg_restore", "--no-owner", "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user,
                        "-d", "restored", str(dumps[0])], check=True, capture_output=True,
                       env={"PGPASSWORD": pg.password, "PATH": "/usr/bin:/bin"})
        runs = pg.psql("restored", f"SELECT count(*) FROM runs WHERE run_uuid='{written['run_id']}'").strip()
        metrics = pg.psql("restored", f"SELECT count(*) FROM metrics WHERE run_uuid='{written['run_id']}'").strip()
        models = pg.psql("restored", "SELECT count(*) FROM registered_models WHERE name='upgrade-model'").strip()
        assert (runs, metrics, models) == ("1", "5", "1")
    finally:
        stack.down()


# The last migration of MLflow 3.17.2 (dc11669786a5) creates this table first; the migrations before it (from
# 2.22's head on: logged_models, spans, jobs, ...) have run in the same transaction when it fails.
TAKEN_TABLE = "scheduler_leases"


def test_a_failed_schema_migration_changes_nothing(stack_cluster, tools, tmp_path):
    old_version, dep, stack = old_stack(stack_cluster, tools, tmp_path, "upgrade-fails")
    ns = dep.namespace
    try:
        stack.up()
        written = _result(stack.run_client(WRITE, old=True))
        pg = stack.pg
        schema = pg.psql(pg.database, "SELECT version_num FROM alembic_version").strip()
        pg.psql(pg.database, f'CREATE TABLE "{TAKEN_TABLE}" (note text)')  # in the way of the last migration

        # kwok runs no program: the schema Job is told to fail there as it fails here, below
        with job_fails(stack_cluster, ns, "mlflow db upgrade"):
            new_vars = {k: v for k, v in dep.extra_vars.items() if k != "mlflow_image"}
            r = playbook(stack_cluster, "deploy.yml", extra_vars={**new_vars, "mlflow_version": DEFAULT_MLFLOW_VERSION})
        assert r.rc != 0 and f"MLflow {old_version} runs again" in r.stdout, str(r)[-3000:]

        stack.deployed.refresh()
        (name, spec), = [(n, s) for n, s in stack.deployed.job_specs() if "db upgrade" in json.dumps(s)]
        res = stack.run_container_once(spec, spec["containers"][0], name)  # the new MLflow venv, for real
        assert res.returncode != 0 and TAKEN_TABLE in res.stdout + res.stderr, res.stdout[-2000:] + res.stderr[-2000:]
        assert pg.psql(pg.database, "SELECT version_num FROM alembic_version").strip() == schema
        assert pg.psql(pg.database, "SELECT to_regclass('logged_models') IS NULL").strip() == "t"  # 3.0's table

        # the pod the role started again: the old MLflow on the old schema, with everything written before
        stack.procs.stop("nginx")
        stack.procs.stop("mlflow")
        stack.start_mlflow()
        stack.nginx_port = stack.start_nginx()
        stack.subs.services[stack.app] = stack.nginx_port
        after = _read(stack, written["run_id"], old=True)
        assert after["server"] == old_version
        assert after["params"] == {"p": "1"} and after["hist"] == [[i, i * 1.5] for i in range(5)]
        assert after["notes"] == f"written on {old_version}" and after["model_run"] == written["run_id"]
    finally:
        stack.down()
