"""Guessing passwords through the tracking Route, as an attacker on the internet would: tries with credentials
that are not valid are limited per client address (the address the router appends to X-Forwarded-For) before any
password is checked; a client with valid credentials is never counted or slowed, wherever it comes from."""

from __future__ import annotations

import requests
import pytest

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def _get(stack, path="/api/2.0/mlflow/experiments/search?max_results=1", auth=None, address="198.51.100.7"):
    # The router appends the client's address; whatever the client put before it is not believed.
    headers = {"X-Forwarded-For": f"203.0.113.99, {address}"}
    return requests.get(stack.tracking_uri + path, auth=auth, headers=headers, timeout=30).status_code


def test_repeated_wrong_passwords_are_limited_per_address(stack, deployment):
    user, password = next(iter(stack.users().items()))
    burst = 20  # mlflow_nginx_login_burst's default
    codes = [_get(stack, auth=(user, f"guess-{i}"), address="198.51.100.7") for i in range(burst + 10)]
    assert codes[0] == 401 and set(codes[:burst]) == {401}, codes
    assert codes[-5:] == [429] * 5, codes
    # Unknown users, no credentials at all and malformed headers count the same.
    assert _get(stack, auth=("nobody", "x"), address="198.51.100.7") == 429
    assert _get(stack, address="198.51.100.7") == 429
    r = requests.get(stack.tracking_uri + "/", headers={"Authorization": "Basic %%%", "X-Forwarded-For": "198.51.100.7"},
                     timeout=30)
    assert r.status_code == 429
    # The right password from the same address still gets in, and so do the probes.
    assert _get(stack, auth=(user, password), address="198.51.100.7") == 200
    assert _get(stack, "/health", address="198.51.100.7") == 200
    # Another address is not affected by the first one's tries.
    assert _get(stack, auth=(user, "wrong"), address="198.51.100.8") == 401


def test_valid_credentials_are_never_counted(stack):
    user, password = next(iter(stack.users().items()))
    codes = {_get(stack, auth=(user, password), address="198.51.100.9") for _call in range(60)}
    assert codes == {200}, codes
    assert _get(stack, auth=(user, "wrong"), address="198.51.100.9") == 401
