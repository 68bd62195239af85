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


# The copy of each backup to a bucket outside the cluster (mlflow_tracking_backup_copy_*).

def test_the_copy_is_off_without_both_endpoint_and_bucket():
    assert backup.backup_copy("", "", "", 0, "ml", 5)["enabled"] is False
    assert backup.backup_copy("https://a3s.fi", "", "", 0, "ml", 5)["enabled"] is False
    assert backup.backup_copy("", "bk", "", 0, "ml", 5)["enabled"] is False
    on = backup.backup_copy(" https://a3s.fi/ ", "bk", "", 0, "ml", 5)
    assert on == {"enabled": True, "endpoint": "https://a3s.fi", "bucket": "bk", "prefix": "ml", "keep": 5}


def test_the_copy_takes_the_prefix_and_keep_given():
    copy = backup.backup_copy("https://a3s.fi", "bk", "/team/ml/", "3", "ml", 5)
    assert (copy["prefix"], copy["keep"]) == ("team/ml", 3)


KEEP_LIVE = {"Secret/ml-backup-copy": {"data": {"AWS_ACCESS_KEY_ID": "kept-id", "AWS_SECRET_ACCESS_KEY": "kept-secret"}}}


def test_the_copy_keys_are_given_else_kept():
    assert backup.backup_copy_keys(KEEP_LIVE, "ml-backup-copy", "", "") == {
        "access_key_id": "kept-id", "secret_access_key": "kept-secret"}
    assert backup.backup_copy_keys(KEEP_LIVE, "ml-backup-copy", "new-id", "new-secret") == {
        "access_key_id": "new-id", "secret_access_key": "new-secret"}
    assert backup.backup_copy_keys({}, "ml-backup-copy", "", "") == {"access_key_id": "", "secret_access_key": ""}


def problems(**given):
    args = {"endpoint": "https://a3s.fi", "bucket": "my-backups", "prefix": "", "keep": 0,
            "access_key_id": "id", "secret_access_key": "s3cr3t-value"}
    args.update(given)
    kept = backup.backup_copy_keys(given.pop("live", {}), "ml-backup-copy", args["access_key_id"], args["secret_access_key"])
    return backup.backup_copy_problems(kept_keys=kept, **{k: v for k, v in args.items() if k != "live"})


def test_a_complete_copy_input_passes():
    assert problems() == []
    assert problems(endpoint="https://a3s.fi:443", prefix="team/ml", keep=10) == []
    assert problems(endpoint="http://127.0.0.1:9000") == [] and problems(endpoint="http://localhost:9000") == []


def test_no_copy_no_problems():
    assert problems(endpoint="", bucket="", access_key_id="", secret_access_key="") == []


@pytest.mark.parametrize("endpoint", ["http://a3s.fi", "a3s.fi", "https://a3s.fi/some/path", "ftp://a3s.fi",
                                      "http://127.0.0.1.evil.example", "https://user@a3s.fi"])
def test_the_endpoint_is_https_or_local_http(endpoint):
    (msg,) = problems(endpoint=endpoint)
    assert "mlflow_tracking_backup_copy_endpoint" in msg


def test_no_endpoint_is_off_and_an_endpoint_needs_a_bucket():
    assert problems(endpoint="") == []  # turned off with the bucket still recorded
    assert problems(endpoint="", access_key_id="", secret_access_key="") == []
    (msg,) = problems(bucket="")
    assert "needs mlflow_tracking_backup_copy_bucket" in msg


def test_the_bucket_is_a_name():
    (msg,) = problems(bucket="My_Bucket")
    assert "not a bucket name" in msg


def test_the_keys_go_together_and_are_needed_and_never_named():
    msgs = problems(access_key_id="", secret_access_key="only-the-secret-given")
    assert any("go together" in m for m in msgs)
    assert not any("only-the-secret-given" in m for m in msgs)
    (msg,) = problems(access_key_id="", secret_access_key="")
    assert "needs the bucket's keys" in msg
    assert problems(access_key_id="", secret_access_key="", live=KEEP_LIVE) == []


@pytest.mark.parametrize("prefix", ["a//b", "../up", "x y", "a/../b"])
def test_the_prefix_is_a_plain_path(prefix):
    (msg,) = problems(prefix=prefix)
    assert "mlflow_tracking_backup_copy_prefix" in msg


@pytest.mark.parametrize("keep", [-1, "many"])
def test_the_copy_keep_is_a_count(keep):
    (msg,) = problems(keep=keep)
    assert "mlflow_tracking_backup_copy_keep" in msg
