"""plugins/plugin_utils/backup.py: the input of scheduled backups and restore, the restore report."""

from __future__ import annotations

import json

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import backup


@pytest.mark.parametrize("schedule", ["", "30 2 * * *", "*/15 * * * *", "0 3 * * 1-5", "@daily", " 0 0 1 * * "])
def test_good_schedules(schedule):
    assert backup.backup_problems(schedule, 5, False) == []


@pytest.mark.parametrize("schedule", ["30 2 * *", "every day", "0 3 * * * *", "@sometimes", "0 3 * * ;rm"])
def test_bad_schedules(schedule):
    problems = backup.backup_problems(schedule, 5, False)
    assert len(problems) == 1 and "is not a cron schedule" in problems[0]


def test_external_database_is_refused_only_with_a_schedule():
    assert backup.backup_problems("", 5, "postgresql://db/x") == []
    problems = backup.backup_problems("@daily", 5, True)
    assert len(problems) == 1 and "in-cluster PostgreSQL only" in problems[0]


@pytest.mark.parametrize("keep", [0, -1, "x", None])
def test_keep_at_least_one(keep):
    assert backup.backup_problems("", keep, False) == ["mlflow_backup_keep=%r: keep at least 1 backup" % (keep,)]


def test_restore_backup_name():
    assert backup.backup_problems("", 1, False, "20261201T023000Z") == []
    problems = backup.backup_problems("", 1, False, "../etc")
    assert len(problems) == 1 and "is not a backup name" in problems[0]


def test_restore_report_takes_the_last_report_line():
    log = "\n".join(["Running upgrade", "RESTORE_REPORT not json", "RESTORE_REPORT " + json.dumps({"backup": "a"}),
                     "RESTORE_REPORT " + json.dumps({"backup": "b", "missing": []}), "done"])
    assert backup.restore_report(log) == {"backup": "b", "missing": []}
    assert backup.restore_report("") == {}
    assert backup.restore_report(None) == {}


def test_restore_summary_says_what_was_restored_and_what_is_missing():
    report = {"backup": "20261201T023000Z", "finished": "2026-12-01T02:31:00Z", "backup_mlflow_version": "3.17.2",
              "schema": "abc", "schema_upgrade": True, "server_mlflow_version": "3.18.0", "artifacts": 3,
              "artifacts_missing": 1, "artifacts_changed": 0, "missing": ["1/r/artifacts/a.txt"],
              "artifacts_not_in_backup": 2, "runs_not_in_backup": ["r2"]}
    lines = backup.restore_summary("x\nRESTORE_REPORT " + json.dumps(report), "myml", "proj", "myml-restore-1")
    assert lines == [
        "Restored backup 20261201T023000Z (finished 2026-12-01T02:31:00Z, MLflow 3.17.2, schema abc, migrated to MLflow"
        " 3.18.0) into myml in namespace proj (Job myml-restore-1).",
        "Artifacts: 3 in the backup, 1 missing from the store, 0 changed since.",
        "Missing: 1/r/artifacts/a.txt",
        "Not in the backup (written after it; the restored database does not have these runs): 2 artifact(s) of run(s) r2"]
    plain = dict(report, schema_upgrade=False, missing=[], artifacts_not_in_backup=0)
    assert len(backup.restore_summary("RESTORE_REPORT " + json.dumps(plain), "myml", "proj", "j")) == 2
    assert backup.restore_summary("", "myml", "proj", "j", "20261201T023000Z") == [
        "Restored 20261201T023000Z into myml (Job j); its report could not be read here:"
        " kubectl -n proj logs job/j --all-containers"]
