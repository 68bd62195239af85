"""migrate_artifacts.py --probe (and --probe-new), the step a store switch runs before the tracking server stops (issue: "Day two as a
researcher lives it"): against two real MinIOs, the right keys pass and leave nothing behind; a wrong secret, an
unknown key id or a bucket the keys may not reach is refused with the store and the error code, before anything
stops. kwok runs no Job, so the script runs here as the Job runs it (the MLflow image's Python, its env)."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from running_stack.minio import MinIO
from running_stack.processes import Procs

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "mlflow_tracking", "files", "migrate_artifacts.py")


@pytest.fixture(scope="module")
def stores(tools, stack_tmp):
    procs = Procs(stack_tmp / "probe")
    src = MinIO(procs, "probe-src", stack_tmp / "probe" / "src", "src" + secrets.token_hex(6), secrets.token_urlsafe(24), tools)
    dst = MinIO(procs, "probe-dst", stack_tmp / "probe" / "dst", "dst" + secrets.token_hex(6), secrets.token_urlsafe(24), tools)
    try:
        src.start()
        dst.start()
        src.s3().create_bucket(Bucket="default")
        src.s3().put_object(Bucket="default", Key="1/abc/artifacts/a.txt", Body=b"a")
        dst.s3().create_bucket(Bucket="allas-bucket")
        yield src, dst
    finally:
        src.stop()
        dst.stop()


def probe(tools, src, dst, option="--probe", **override):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp",
           "SRC_ENDPOINT_URL": src.endpoint, "SRC_BUCKET": "default",
           "SRC_AWS_ACCESS_KEY_ID": src.access_key, "SRC_AWS_SECRET_ACCESS_KEY": src.secret_key,
           "DST_ENDPOINT_URL": dst.endpoint, "DST_BUCKET": "allas-bucket", "DST_PREFIX": "mlflow",
           "DST_AWS_ACCESS_KEY_ID": dst.access_key, "DST_AWS_SECRET_ACCESS_KEY": dst.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1"}
    env.update(override)
    return subprocess.run([tools.python(), SCRIPT, option], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_right_keys_pass_and_leave_nothing(tools, stores):
    src, dst = stores
    r = probe(tools, src, dst)
    assert r.returncode == 0 and '"probe": "ok"' in r.stdout, r.stdout + r.stderr
    assert dst.s3().list_objects_v2(Bucket="allas-bucket").get("KeyCount", 0) == 0
    assert [o["Key"] for o in src.s3().list_objects_v2(Bucket="default")["Contents"]] == ["1/abc/artifacts/a.txt"]


@pytest.mark.parametrize("override, code", [
    ({"DST_AWS_SECRET_ACCESS_KEY": "wrong-secret-wrong-secret"}, "SignatureDoesNotMatch"),
    ({"DST_AWS_ACCESS_KEY_ID": "nosuchkey"}, "InvalidAccessKeyId"),
    ({"SRC_AWS_SECRET_ACCESS_KEY": "wrong-secret-wrong-secret"}, "SignatureDoesNotMatch"),
    ({"DST_AWS_ACCESS_KEY_ID": "", "DST_AWS_SECRET_ACCESS_KEY": ""}, ""),
])
def test_wrong_keys_are_refused_with_the_store_and_the_code(tools, stores, override, code):
    src, dst = stores
    r = probe(tools, src, dst, **override)
    assert r.returncode != 0, r.stdout + r.stderr
    side = "current" if any(k.startswith("SRC_") for k in override) else "new"
    assert f"the {side} store (" in r.stderr and code in r.stderr, r.stderr[-2000:]
    for value in override.values():
        if len(value) > 8:
            assert value not in r.stderr + r.stdout


def test_a_switch_without_copying_tries_only_the_new_store(tools, stores):
    """--probe-new: the current store may be gone (nothing answers on its endpoint); the new store's keys still
    count."""
    src, dst = stores
    gone = {"SRC_ENDPOINT_URL": "http://127.0.0.1:9", "SRC_AWS_SECRET_ACCESS_KEY": "wrong-secret-wrong-secret"}
    r = probe(tools, src, dst, option="--probe-new", **gone)
    assert r.returncode == 0 and '"probe": "ok"' in r.stdout and "source" not in r.stdout, r.stdout + r.stderr
    r = probe(tools, src, dst, option="--probe-new", DST_AWS_ACCESS_KEY_ID="nosuchkey", **gone)
    assert r.returncode != 0 and "the new store (" in r.stderr and "InvalidAccessKeyId" in r.stderr, r.stderr[-2000:]
