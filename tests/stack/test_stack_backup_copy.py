"""copy_backup.py, the backup Job's copy to a bucket outside the cluster (issue 25), against a real MinIO standing in for
Allas: each new backup lands under <prefix>/<name>/ with backup.json, the copies beyond the keep count and older
half-done ones are removed, other keys under the prefix are left alone; a wrong secret key or a missing bucket fails
with a non-zero exit and the store's error code, and no key in the output. kwok runs no Job, so the script runs here
as the Job's `backup` container runs it (the MLflow image's Python, its env)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from running_stack.minio import MinIO
from running_stack.processes import Procs

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "mlflow_tracking", "files", "copy_backup.py")
BUCKET = "my-backups"


@pytest.fixture(scope="module")
def allas(tools, stack_tmp):
    procs = Procs(stack_tmp / "backup-copy")
    store = MinIO(procs, "backup-copy", stack_tmp / "backup-copy" / "store", "copy" + secrets.token_hex(6),
                  secrets.token_urlsafe(24), tools)
    try:
        store.start()
        store.s3().create_bucket(Bucket=BUCKET)
        yield store
    finally:
        store.stop()


def write_backup(root, name, complete=True):
    d = root / name
    d.mkdir(parents=True)
    (d / "db.dump").write_bytes(b"PGDMP" + name.encode())
    (d / "alembic.sql").write_text("COPY public.alembic_version (version_num) FROM stdin;\nabc\n\\.\n")
    (d / "artifacts.json").write_text(json.dumps({"bucket": "default", "prefix": "", "objects": []}))
    if complete:
        (d / "backup.json").write_text(json.dumps({"name": name}))


def run_copy(tools, store, root, **override):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "BACKUP_DIR": str(root),
           "BACKUP_COPY_ENDPOINT_URL": store.endpoint, "BACKUP_COPY_BUCKET": BUCKET, "BACKUP_COPY_PREFIX": "mlbk",
           "BACKUP_COPY_KEEP": "2", "BACKUP_COPY_AWS_ACCESS_KEY_ID": store.access_key,
           "BACKUP_COPY_AWS_SECRET_ACCESS_KEY": store.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
    env.update(override)
    return subprocess.run([tools.python(), SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=False)


def keys(store, prefix):
    return sorted(o["Key"] for o in store.s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents") or [])


def test_each_backup_lands_and_only_the_newest_copies_stay(tools, allas, tmp_path):
    root = tmp_path / "scheduled"
    allas.s3().put_object(Bucket=BUCKET, Key="mlbk/README.txt", Body=b"not a backup: left alone")
    # a copy that failed half-way, older than the backups below
    allas.s3().put_object(Bucket=BUCKET, Key="mlbk/20261130T023000Z/db.dump", Body=b"half")

    write_backup(root, "20261201T023000Z")
    r = run_copy(tools, allas, root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert keys(allas, "mlbk/20261201T023000Z/") == [f"mlbk/20261201T023000Z/{f}" for f in
                                                     ("alembic.sql", "artifacts.json", "backup.json", "db.dump")]
    body = allas.s3().get_object(Bucket=BUCKET, Key="mlbk/20261201T023000Z/db.dump")["Body"].read()
    assert body == b"PGDMP20261201T023000Z"
    assert keys(allas, "mlbk/20261130T023000Z/") == []  # the half-done older copy is gone

    for name in ("20261202T023000Z", "20261203T023000Z"):
        write_backup(root, name)
        r = run_copy(tools, allas, root)
        assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads([x for x in r.stdout.splitlines() if x.startswith("backup copy ")][-1][len("backup copy "):])
    assert report["copied"] == "20261203T023000Z" and report["kept"] == ["20261202T023000Z", "20261203T023000Z"]
    assert report["removed"] == ["20261201T023000Z"]
    names = sorted({k.split("/")[1] for k in keys(allas, "mlbk/")})
    assert names == ["20261202T023000Z", "20261203T023000Z", "README.txt"]

    # a backup directory left unfinished on the PVC is not copied: the newest complete one is (again)
    write_backup(root, "20261204T023000Z", complete=False)
    r = run_copy(tools, allas, root)
    assert r.returncode == 0 and '"copied": "20261203T023000Z"' in r.stdout, r.stdout + r.stderr
    assert keys(allas, "mlbk/20261204T023000Z/") == []


@pytest.mark.parametrize("override, code", [
    ({"BACKUP_COPY_AWS_SECRET_ACCESS_KEY": "wrong-secret-" + secrets.token_hex(8)}, "SignatureDoesNotMatch"),
    ({"BACKUP_COPY_AWS_ACCESS_KEY_ID": "nosuchkey" + secrets.token_hex(4)}, "InvalidAccessKeyId"),
    ({"BACKUP_COPY_BUCKET": "no-such-bucket"}, "NoSuchBucket"),
])
def test_a_refused_copy_fails_and_names_no_key(tools, allas, tmp_path, override, code):
    root = tmp_path / "scheduled"
    write_backup(root, "20261205T023000Z")
    r = run_copy(tools, allas, root, **override)
    assert r.returncode != 0, r.stdout + r.stderr
    assert code in r.stderr and "refused" in r.stderr, r.stderr[-2000:]
    out = r.stdout + r.stderr
    for value in [allas.secret_key, allas.access_key] + list(override.values()):
        if value.startswith(("wrong-secret", "nosuchkey")) or value in (allas.secret_key, allas.access_key):
            assert value not in out
    assert keys(allas, "mlbk/20261205T023000Z/") == []


def test_no_backup_to_copy_fails(tools, allas, tmp_path):
    (tmp_path / "scheduled").mkdir()
    r = run_copy(tools, allas, tmp_path / "scheduled")
    assert r.returncode != 0 and "no complete backup" in r.stderr, r.stderr
