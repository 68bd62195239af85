# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Scheduled backups and restore: input checks, the copy to a bucket outside the cluster, the restore Job's report.

Pure logic behind the csc.mlflow.backup_problems, backup_copy, backup_copy_keys, backup_copy_problems and
restore_summary filters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.csc.mlflow.plugins.plugin_utils.credentials import BUCKET_RE
from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import lookup, mapping, matches, text

# What the CronJob controller accepts (robfig/cron standard parser): five fields or a macro.
MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
FIELD_RE = re.compile(r"^[0-9A-Za-z*/,?-]+$")
# What the restore Job's last container prints (restore.py writes it; the report container repeats it).
REPORT_PREFIX = "RESTORE_REPORT "
# A backup's name: the UTC time the CronJob's Job took it (what backup.py names the directory).
NAME_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")


def backup_problems(schedule, keep, external_database, restore_backup=""):
    """Problems with the backup input (a list of messages, empty when fine).

    `schedule`: mlflow_backup_schedule (empty = off); `keep`: mlflow_backup_keep;
    `external_database`: the database URI or a bool; `restore_backup`: the backup restore.yml was
    asked for (empty = the newest).
    """
    errors = []
    schedule = text(schedule or "").strip()
    if schedule:
        fields = schedule.split()
        if not (schedule in MACROS or (len(fields) == 5 and all(FIELD_RE.match(f) for f in fields))):
            errors.append("mlflow_backup_schedule=%r is not a cron schedule: give five fields (minute hour day-of-month"
                          " month day-of-week, e.g. '30 2 * * *' = 02:30 UTC every day) or one of %s"
                          % (schedule, ", ".join(MACROS)))
        if external_database:
            errors.append("mlflow_backup_schedule backs up the in-cluster PostgreSQL only; with mlflow_database_uri,"
                          " back up the external database with its provider's tools (and leave mlflow_backup_schedule"
                          " empty)")
    try:
        if int(keep) < 1:
            raise ValueError(keep)
    except (TypeError, ValueError):
        errors.append("mlflow_backup_keep=%r: keep at least 1 backup" % (keep,))
    restore_backup = text(restore_backup or "").strip()
    if restore_backup and not NAME_RE.match(restore_backup):
        errors.append("mlflow_tracking_restore_backup=%r is not a backup name: give one as restore.yml lists them"
                      " (e.g. 20261201T023000Z), or leave it empty for the newest" % restore_backup)
    return errors


# The copy leaves the cluster: https only, plain http only to this machine (the tests' local S3 servers).
COPY_ENDPOINT_RE = re.compile(r"^(https://[^\s/?#@]+|http://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?)/?$")
COPY_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


def backup_copy(endpoint, bucket, prefix, keep, app_name, backup_keep):
    """The copy of each backup to a bucket outside the cluster, as the templates use it (nothing secret):
    {'enabled', 'endpoint', 'bucket', 'prefix', 'keep'}. Off unless both the endpoint and the bucket are given;
    the prefix defaults to the app name, the number of copies kept (0) to the number of backups kept."""
    endpoint, bucket = text(endpoint or "").strip().rstrip("/"), text(bucket or "").strip()
    prefix = text(prefix or "").strip().strip("/") or text(app_name)
    try:
        kept = int(keep or 0) or int(backup_keep)
    except (TypeError, ValueError):
        kept = 0
    return {"enabled": bool(endpoint and bucket), "endpoint": endpoint, "bucket": bucket, "prefix": prefix,
            "keep": kept}


def backup_copy_keys(live, secret_name, access_key_id, secret_access_key):
    """The copy's keys: given, else kept from the live Secret `secret_name` (so a run that does not name them keeps
    them, as the store keys are kept): {'access_key_id', 'secret_access_key'}."""
    data = mapping(lookup(mapping(live).get("Secret/" + text(secret_name)), "data"))
    given = bool(access_key_id or secret_access_key)
    return {
        "access_key_id": text(access_key_id if given else data.get("AWS_ACCESS_KEY_ID", "")),
        "secret_access_key": text(secret_access_key if given else data.get("AWS_SECRET_ACCESS_KEY", "")),
    }


def backup_copy_problems(endpoint, bucket, prefix, keep, access_key_id, secret_access_key, kept_keys=None):
    """Problems with the copy's input (a list of messages, empty when fine or when the copy is off).

    `endpoint`, `bucket`, `prefix`, `keep`, `access_key_id`, `secret_access_key`: the mlflow_tracking_backup_copy_*
    variables as given; `kept_keys`: backup_copy_keys() (what the run would use: given, else kept). No message
    names a key's value."""
    endpoint, bucket = text(endpoint or "").strip(), text(bucket or "").strip()
    errors = []
    if bool(access_key_id) != bool(secret_access_key):
        errors.append("mlflow_tracking_backup_copy_access_key_id and mlflow_tracking_backup_copy_secret_access_key"
                      " go together: give both, or neither to keep the ones the stack has")
    try:
        if int(keep or 0) < 0:
            raise ValueError(keep)
    except (TypeError, ValueError):
        errors.append("mlflow_tracking_backup_copy_keep=%r: give a number of copies (0 = as many as"
                      " mlflow_backup_keep)" % (keep,))
    if not endpoint:  # off, whatever else is recorded: -e mlflow_tracking_backup_copy_endpoint='' turns it off
        return errors
    if not bucket:
        errors.append("the backup copy to %s needs mlflow_tracking_backup_copy_bucket (or no endpoint: no copy)"
                      % endpoint)
    if not COPY_ENDPOINT_RE.match(endpoint):
        errors.append("mlflow_tracking_backup_copy_endpoint=%r: give an https:// URL with no path (e.g."
                      " https://a3s.fi); plain http only to 127.0.0.1 or localhost" % endpoint)
    if bucket and not matches(BUCKET_RE, bucket):
        errors.append("mlflow_tracking_backup_copy_bucket=%r is not a bucket name (3-63 lower-case letters, digits,"
                      " dots and hyphens)" % bucket)
    prefix = text(prefix or "").strip().strip("/")
    if prefix and (not COPY_PREFIX_RE.match(prefix) or "//" in prefix or ".." in prefix.split("/")):
        errors.append("mlflow_tracking_backup_copy_prefix=%r: give a path of letters, digits, '.', '_', '-' and '/'"
                      % prefix)
    keys = mapping(kept_keys)
    if bucket and not (keys.get("access_key_id") and keys.get("secret_access_key")):
        errors.append("the backup copy needs the bucket's keys: give mlflow_tracking_backup_copy_access_key_id and"
                      " mlflow_tracking_backup_copy_secret_access_key (for Allas: an S3 key pair of your CSC project)")
    return errors


def restore_report(log):
    """The report the restore Job printed (its last REPORT_PREFIX line, as a dict), or {} when the
    log holds none (the log could not be read, or the Job stopped before its report)."""
    found = {}
    for line in text(log or "").splitlines():
        line = line.strip()
        if line.startswith(REPORT_PREFIX):
            try:
                value = json.loads(line[len(REPORT_PREFIX):])
            except ValueError:
                continue
            if isinstance(value, dict):
                found = value
    return found


def restore_summary(log, app_name, namespace, job, asked=""):
    """The lines the restore adds to the summary: what the restore Job `job` reported in `log` (the backup, its
    schema and whether it was brought to the server's, the artifacts missing from the store or written after
    the backup), or, when its report cannot be read, which backup was asked for (`asked`, empty = the newest)
    and where its log is."""
    report = restore_report(log)
    if not report:
        return ["Restored %s into %s (Job %s); its report could not be read here: kubectl -n %s logs job/%s --all-containers"
                % (asked or "the newest backup", app_name, job, namespace, job)]
    migrated = (", migrated to MLflow %s" % report.get("server_mlflow_version")) if report.get("schema_upgrade") else ""
    lines = [
        "Restored backup %s (finished %s, MLflow %s, schema %s%s) into %s in namespace %s (Job %s)."
        % (report.get("backup"), report.get("finished"), report.get("backup_mlflow_version"), report.get("schema"),
           migrated, app_name, namespace, job),
        "Artifacts: %s in the backup, %s missing from the store, %s changed since."
        % (report.get("artifacts"), report.get("artifacts_missing"), report.get("artifacts_changed")),
    ]
    if report.get("missing"):
        lines.append("Missing: " + ", ".join(text(m) for m in report["missing"]))
    if report.get("artifacts_not_in_backup"):
        lines.append("Not in the backup (written after it; the restored database does not have these runs): %s artifact(s)"
                     " of run(s) %s" % (report["artifacts_not_in_backup"], ", ".join(text(r) for r in report.get("runs_not_in_backup") or [])))
    return lines
