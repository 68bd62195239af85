"""prepare_database.py, the small stack's init container, with real MLflow releases: a new volume gets a database at
this MLflow's head in WAL mode; a database written by MLflow 2.22.5 (the old venv: runs logged by its server's
store) is copied with the online API first, then upgraded, and its runs read back through this MLflow; a database
at a revision this MLflow does not know is refused, unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess

import pytest

from running_stack.processes import local_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "mlflow_tracking", "files", "prepare_database.py")


def run_prepare(tools, root, old=False):
    env = {"MLFLOW_BACKEND_STORE_URI": f"sqlite:///{root}/mlflow.db", "ARTIFACTS_DIR": f"{root}/artifacts",
           "SPOOL_DIR": f"{root}/tmp", "UPGRADE_BACKUP_DIR": f"{root}/upgrade-backups", "UPGRADE_BACKUP_KEEP": "2"}
    venv = tools.mlflow_old_venv if old else tools.mlflow_venv
    return subprocess.run([str(venv / "bin" / "python"), SCRIPT], env=local_env(env, venv, home=root),
                          capture_output=True, text=True, check=False, timeout=300)


def test_new_volume_then_upgrade_from_the_old_release_with_a_copy_first(tools, tmp_path):
    new = run_prepare(tools, tmp_path / "new")
    assert new.returncode == 0, new.stderr[-3000:]
    report = json.loads(new.stdout.strip().splitlines()[-1])
    assert report["revision_before"] == "" and report["revision"] == report["head"] and report["journal_mode"] == "wal"
    assert (tmp_path / "new" / "artifacts").is_dir() and not os.listdir(tmp_path / "new" / "tmp")

    root = tmp_path / "old"
    root.mkdir()
    uri = f"sqlite:///{root}/mlflow.db"
    code = ("import mlflow; mlflow.set_tracking_uri(%r); mlflow.set_experiment('e')\n"
            "with mlflow.start_run(run_name='r'):\n    mlflow.log_param('p', 'v'); mlflow.log_metric('m', 1.5)\n" % uri)
    old = subprocess.run([str(tools.mlflow_old_venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         check=False, env=local_env({}, tools.mlflow_old_venv, home=root), cwd=root, timeout=300)
    assert old.returncode == 0, old.stderr[-3000:]
    before = hashlib.sha256((root / "mlflow.db").read_bytes()).hexdigest()
    old_revision = sqlite3.connect(root / "mlflow.db").execute("SELECT version_num FROM alembic_version").fetchone()[0]

    up = run_prepare(tools, root)
    assert up.returncode == 0, up.stderr[-3000:]
    report = json.loads(up.stdout.strip().splitlines()[-1])
    assert report["revision_before"] == old_revision != report["revision"] == report["head"]
    copy = report["backup"]
    assert copy.startswith(f"{root}/upgrade-backups/mlflow-{old_revision}-") and copy.endswith(".db")
    # the copy is the old database (its rows, its revision), made before the upgrade
    con = sqlite3.connect(copy)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == old_revision
    assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert con.execute("SELECT key, value FROM params").fetchall() == [("p", "v")]
    assert hashlib.sha256((root / "mlflow.db").read_bytes()).hexdigest() != before
    read = subprocess.run([tools.python(), "-c", "import mlflow; mlflow.set_tracking_uri(%r); "
                           "r = mlflow.search_runs(experiment_names=['e'], output_format='list')[0]; "
                           "print(r.data.params['p'], r.data.metrics['m'])" % uri],
                          capture_output=True, text=True, check=False, env=local_env({}, tools.mlflow_venv, home=root),
                          cwd=root, timeout=300)
    assert read.returncode == 0 and read.stdout.split()[-2:] == ["v", "1.5"], read.stderr[-3000:]

    # a revision this MLflow does not know (a newer release wrote it): refused, the file unchanged
    con = sqlite3.connect(root / "mlflow.db")
    con.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    con.commit()
    con.close()
    unknown = hashlib.sha256((root / "mlflow.db").read_bytes()).hexdigest()
    refused = run_prepare(tools, root)
    assert refused.returncode != 0 and "ffffffffffff" in refused.stderr and "Nothing was changed" in refused.stderr
    assert hashlib.sha256((root / "mlflow.db").read_bytes()).hexdigest() == unknown
