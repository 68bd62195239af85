"""The Versity S3 gateway's admin API (port 7071, which only its user Job reaches in the cluster), tried directly:
without credentials, with wrong ones, with MLflow's signing key and with malformed requests, it refuses; only the
admin key lists users. The S3 port refuses the signing key everything outside its bucket (test_stack_store_key.py)."""

from __future__ import annotations

import datetime
import hashlib

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

pytestmark = [pytest.mark.stack]

EMPTY = hashlib.sha256(b"").hexdigest()


def _signed(url: str, key: str, secret: str, method: str = "PATCH") -> requests.Response:
    req = AWSRequest(method=method, url=url, headers={"X-Amz-Content-Sha256": EMPTY})
    SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(req)
    return requests.request(method, url, headers=dict(req.headers), timeout=30)


def test_the_admin_api_answers_only_the_admin_key(stack):
    gw = stack.gateway
    admin = f"http://127.0.0.1:{gw.ports[7071]}"
    signing = stack.deployed.secret(f"{stack.app}-versitygw-client")
    assert _signed(f"{admin}/list-users", gw.access_key, gw.secret_key).status_code == 200
    refused = {
        "no credentials": requests.patch(f"{admin}/list-users", timeout=30),
        "wrong secret": _signed(f"{admin}/list-users", gw.access_key, "wrong-" + gw.secret_key),
        "unknown key": _signed(f"{admin}/list-users", "AKIAWRONGWRONGWRONG", "x" * 40),
        "signing key": _signed(f"{admin}/list-users", signing["AWS_ACCESS_KEY_ID"], signing["AWS_SECRET_ACCESS_KEY"]),
        "signing key creating a user": _signed(f"{admin}/create-user", signing["AWS_ACCESS_KEY_ID"],
                                               signing["AWS_SECRET_ACCESS_KEY"]),
        "garbage authorization": requests.patch(f"{admin}/list-users", timeout=30, headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, Signature=zz",
            "X-Amz-Date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")}),
    }
    for why, r in refused.items():
        assert r.status_code in (400, 401, 403), (why, r.status_code, r.text[:300])
        assert signing["AWS_ACCESS_KEY_ID"] not in r.text, why
