"""The public pre-signed transfer path (Route <app>-presigned -> the tracking NGINX's port 8081 -> MinIO).

It admits only what MLflow's pre-signed URLs do (GET/HEAD/PUT of an object, SigV4 query signature) and refuses
everything else, whoever asks: no keys, wrong keys, the MinIO root keys, tampered or expired URLs. And an upload
a client abandons halfway leaves nothing in the run's artifacts. (The 1 GiB round trip with only the printed
exports is test_stack_user.py's test_log_and_read_back_with_1gib_artifact.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from running_stack.processes import local_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

BUCKET = "default"


def _public(url: str, stack) -> str:
    """A URL signed for the in-cluster MinIO, pointed at the public pre-signed path (what the tracking NGINX
    does to the URLs MLflow hands out)."""
    s, pub = urlsplit(url), urlsplit(stack.presigned_uri)
    return urlunsplit((pub.scheme, pub.netloc, s.path, s.query, ""))


def _with_query(url: str, **changes) -> str:
    s = urlsplit(url)
    q = dict(parse_qsl(s.query, keep_blank_values=True))
    q.update(changes)
    return urlunsplit((s.scheme, s.netloc, s.path, urlencode(q), ""))


@pytest.fixture(scope="module")
def s3_root(stack):
    """boto3 with the MinIO root keys, straight to MinIO (in the cluster: from inside the namespace), signing
    as the tracking server does (SigV4: MLflow's MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION default)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=stack.store.endpoint, aws_access_key_id=stack.store.access_key,
                        aws_secret_access_key=stack.store.secret_key, region_name="us-east-1",
                        config=Config(signature_version="s3v4"))


@pytest.fixture(scope="module")
def an_object(s3_root):
    key = "presigned-test/hello.txt"
    s3_root.put_object(Bucket=BUCKET, Key=key, Body=b"hello presigned\n")
    return key


def _client(stack, **kw):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=stack.presigned_uri, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}, **kw.pop("config", {})), **kw)


def _refused(call) -> int:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_genuine_presigned_requests_pass(stack, s3_root, an_object):
    get = s3_root.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": an_object}, ExpiresIn=300)
    r = requests.get(_public(get, stack), timeout=30)
    assert r.status_code == 200 and r.content == b"hello presigned\n", (r.status_code, r.text)
    head = s3_root.generate_presigned_url("head_object", Params={"Bucket": BUCKET, "Key": an_object}, ExpiresIn=300)
    assert requests.head(_public(head, stack), timeout=30).status_code == 200
    # A multipart upload's part, as MLflow hands them out (create/complete stay with the server's keys).
    key = "presigned-test/parts.bin"
    upload = s3_root.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    part = s3_root.generate_presigned_url("upload_part", ExpiresIn=300, Params={
        "Bucket": BUCKET, "Key": key, "UploadId": upload, "PartNumber": 1})
    r = requests.put(_public(part, stack), data=b"x" * (1 << 20), timeout=30)
    assert r.status_code == 200 and r.headers.get("ETag"), (r.status_code, r.text)
    s3_root.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r.headers["ETag"]}]})
    assert s3_root.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 1 << 20


def test_no_keys_wrong_keys_and_root_keys_are_refused(stack, s3_root, an_object):
    from botocore import UNSIGNED

    anonymous = _client(stack, config={"signature_version": UNSIGNED})
    wrong = _client(stack, aws_access_key_id="AKIAWRONGWRONGWRONG", aws_secret_access_key="wrong-secret-key")
    root = _client(stack, aws_access_key_id=stack.store.access_key, aws_secret_access_key=stack.store.secret_key)
    for who in (anonymous, wrong, root):
        assert _refused(who.list_buckets) == 403
        assert _refused(lambda: who.list_objects_v2(Bucket=BUCKET)) == 403
        assert _refused(lambda: who.get_object(Bucket=BUCKET, Key=an_object)) == 403
        assert _refused(lambda: who.head_object(Bucket=BUCKET, Key=an_object)) == 403
        assert _refused(lambda: who.put_object(Bucket=BUCKET, Key="presigned-test/evil", Body=b"x")) == 403
        assert _refused(lambda: who.delete_object(Bucket=BUCKET, Key=an_object)) == 403
        assert _refused(lambda: who.get_bucket_policy(Bucket=BUCKET)) == 403
        assert _refused(lambda: who.put_bucket_policy(Bucket=BUCKET, Policy='{"Version":"2012-10-17","Statement":[]}')) == 403
        assert _refused(lambda: who.create_multipart_upload(Bucket=BUCKET, Key="presigned-test/evil")) == 403
    # Nothing was written or deleted on the way.
    assert s3_root.get_object(Bucket=BUCKET, Key=an_object)["Body"].read() == b"hello presigned\n"
    assert "Contents" not in s3_root.list_objects_v2(Bucket=BUCKET, Prefix="presigned-test/evil")


def test_raw_http_outside_presigned_objects_is_refused(stack, an_object):
    base = stack.presigned_uri
    for method, path in [("GET", "/"), ("GET", f"/{BUCKET}"), ("GET", f"/{BUCKET}/"), ("GET", f"/{BUCKET}?list-type=2"),
                         ("GET", f"/{BUCKET}/{an_object}"), ("GET", f"/{BUCKET}/{an_object}?acl"),
                         ("PUT", f"/{BUCKET}/x?policy"), ("DELETE", f"/{BUCKET}/{an_object}"),
                         ("POST", f"/{BUCKET}/x?uploads"), ("POST", f"/{BUCKET}?delete"),
                         ("GET", "/minio/health/live"), ("GET", "/minio/admin/v3/info"), ("GET", "/health/"),
                         ("GET", "/list-users"), ("PATCH", "/list-users"), ("PATCH", "/create-user")]:
        r = requests.request(method, base + path, timeout=30)
        assert r.status_code == 403, (method, path, r.status_code, r.text[:300])
    # A signature without the rest of a pre-signed query: the store refuses it as malformed (400) or unsigned (403).
    r = requests.get(f"{base}/{BUCKET}/{an_object}?X-Amz-Signature=" + "0" * 64, timeout=30)
    assert r.status_code in (400, 403) and b"hello presigned" not in r.content, (r.status_code, r.text[:300])


def test_other_presigned_calls_and_altered_urls_are_refused(stack, s3_root, an_object):
    def url(op, expires=300, **params):
        return _public(s3_root.generate_presigned_url(op, Params={"Bucket": BUCKET, **params}, ExpiresIn=expires), stack)

    good = url("get_object", Key=an_object)
    sig = dict(parse_qsl(urlsplit(good).query))["X-Amz-Signature"]
    tampered = {
        "signature": good.replace(sig, sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        "key": good.replace(an_object, "presigned-test/other.txt"),
        "expiry": _with_query(good, **{"X-Amz-Expires": "604800"}),
        "extra query": good + "&acl=",
    }
    for what, u in tampered.items():
        r = requests.get(u, timeout=30)
        assert r.status_code == 403, (what, r.status_code, r.text[:300])
    r = requests.get(good, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"}, timeout=30)
    assert r.status_code == 403
    r = requests.put(url("upload_part", Key="presigned-test/copy", UploadId="x", PartNumber=1),
                     headers={"x-amz-copy-source": f"/{BUCKET}/{an_object}"}, timeout=30)
    assert r.status_code == 403
    # Signed by the root keys, but not a transfer: listing, policy, delete, create/complete an upload.
    assert requests.get(url("list_objects_v2"), timeout=30).status_code == 403
    assert requests.get(url("get_bucket_policy"), timeout=30).status_code == 403
    assert requests.delete(url("delete_object", Key=an_object), timeout=30).status_code == 403
    assert requests.post(url("create_multipart_upload", Key="presigned-test/evil"), timeout=30).status_code == 403
    # A SigV2 pre-signed URL (boto3's default without signature_version): not what the server hands out.
    sigv2 = stack.store.s3().generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": an_object})
    assert "Signature=" in sigv2 and "X-Amz-Signature" not in sigv2
    assert requests.get(_public(sigv2, stack), timeout=30).status_code == 403
    expired = url("get_object", expires=1, Key=an_object)
    time.sleep(2.5)
    r = requests.get(expired, timeout=30)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert requests.get(good, timeout=30).status_code == 200  # and the genuine one still works


ABANDONED_UPLOAD = textwrap.dedent("""
    import os, sys
    import mlflow
    mlflow.set_experiment("stack-presigned-abandoned")
    with mlflow.start_run() as run:
        print("RUN " + run.info.run_id, flush=True)
        mlflow.log_artifact(sys.argv[1], artifact_path="big")
""")


def test_abandoned_upload_leaves_nothing_in_the_run(stack, big_file):
    """A client killed halfway through a pre-signed multipart upload: the run shows no (partial) file."""
    path = big_file[0]
    access_log = stack.state / "nginx" / "access.log"
    before = access_log.read_text().count('"PUT /default/') if access_log.exists() else 0
    venv = stack.tools.mlflow_venv
    root = stack.state / "client-abandoned"
    root.mkdir(exist_ok=True)
    p = subprocess.Popen([str(venv / "bin" / "python"), "-u", "-c", ABANDONED_UPLOAD, str(path)],
                         env=local_env(stack.client_env(), venv, home=root), cwd=root, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        run_id = ""
        for line in p.stdout:
            if line.startswith("RUN "):
                run_id = line.strip().removeprefix("RUN ")
                break
        deadline = time.monotonic() + 300
        while access_log.read_text().count('"PUT /default/') < before + 5:
            assert p.poll() is None, "the upload ended before it could be interrupted"
            assert time.monotonic() < deadline, "no part uploads through the pre-signed path"
            time.sleep(0.05)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert len(run_id) == 32, run_id
    listing = stack.run_client(textwrap.dedent(f"""
        from mlflow.tracking import MlflowClient
        c = MlflowClient()
        print("FILES", [f.path for f in c.list_artifacts("{run_id}")], [f.path for f in c.list_artifacts("{run_id}", "big")])
    """))
    assert "FILES [] []" in listing.stdout, listing.stdout
    s3 = stack.store.s3()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [k for k in keys if run_id in k], keys
