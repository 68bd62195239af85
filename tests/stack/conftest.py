"""Fixtures of the running-stack suite.

`deployment`: `playbooks/deploy.yml` applied to a fresh namespace of the test cluster
(session scope), with the settings the playbook printed.
`stack`: the real services started from what was deployed (tests/stack/harness.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from harness import Deployed, Stack, Tools, deploy

pytestmark = pytest.mark.stack


@pytest.fixture(scope="session")
def tools() -> Tools:
    t = Tools.find()
    if t.missing():
        pytest.fail(f"stack tools missing, run `make stack-tools`: {t.missing()}")
    return t


@pytest.fixture(scope="session")
def deployment(cluster, tools) -> Deployment:
    ns = cluster.fresh_namespace("stack")
    return deploy(cluster, ns, mlflow_users=[{"name": "alice"}, {"name": "bob"}, {"name": "carol"}])


@pytest.fixture(scope="session")
def stack(cluster, deployment, tools, tmp_path_factory):
    s = Stack(Deployed(cluster.api, deployment.namespace, deployment.app),
              tmp_path_factory.mktemp("stack"), tools)
    try:
        s.up()
        yield s
    finally:
        s.down()


@pytest.fixture(scope="session")
def big_file(tmp_path_factory):
    """A 1 GiB file of random-looking bytes (written once), and its sha256."""
    size = int(os.environ.get("CSC_MLFLOW_BIG_FILE_MIB", "1024"))
    d = tmp_path_factory.mktemp("big")
    path = d / "big.bin"
    block = os.urandom(8 << 20)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size // 8):
            chunk = i.to_bytes(8, "little") + block[8:]
            f.write(chunk)
            h.update(chunk)
    yield path, h.hexdigest()
    shutil.rmtree(d, ignore_errors=True)
