"""Fixtures of the running-stack suites (tests/stack, tests/security), registered once for the whole
session by tests/conftest.py (`pytest_plugins`), so both suites share one deployed stack.

`deployment`: `playbooks/deploy.yml` applied to a fresh namespace of the test cluster
(session scope), with the settings the playbook printed.
`stack`: the real services started from what was deployed (tests/stack/running_stack/).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .deployed import Deployed
from .playbooks import Deployment, deploy
from .stack import Stack
from .tools import Tools


@pytest.fixture(scope="session")
def stack_cluster(request):
    """The shared `cluster` fixture, or a private test cluster for this suite.

    With CSC_MLFLOW_STACK_CLUSTER_DIR=<dir> the suite starts its own test cluster there
    (tests/cluster/cluster.sh honours CSC_MLFLOW_CLUSTER_DIR) and stops it at the end, so
    that other sessions starting/stopping the shared .cluster cannot pull it away.
    """
    private = os.environ.get("CSC_MLFLOW_STACK_CLUSTER_DIR")
    if not private:
        yield request.getfixturevalue("cluster")
        return
    from harness.cluster import serve_cluster
    from harness.paths import CLUSTER_SH, REPO

    state = Path(private).resolve()
    env = {**os.environ, "CSC_MLFLOW_CLUSTER_DIR": str(state)}
    subprocess.run([str(CLUSTER_SH), "up"], cwd=REPO, check=True, env=env)
    yield from serve_cluster(state, env=env)


@pytest.fixture(scope="session")
def tools() -> Tools:
    t = Tools.find()
    if t.missing():
        pytest.fail(f"stack tools missing, run `make stack-tools`: {t.missing()}")
    return t


@pytest.fixture(scope="session")
def stack_tmp():
    """A temp root that nginx (user nobody) and PostgreSQL (user postgres) can traverse.

    pytest's own tmp_path lives under /tmp/pytest-of-<user>, which every pytest session
    started on the machine resets to mode 0700: a second session (a developer's, say)
    would cut the services of a running stack off their files in mid-test.
    """
    root = Path(tempfile.mkdtemp(prefix="csc-stack-"))
    root.chmod(0o755)
    yield root
    if not os.environ.get("CSC_MLFLOW_KEEP_TMP"):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def tmp_path(stack_tmp) -> Path:
    """Per-test directory under stack_tmp (overrides pytest's tmp_path for this suite), removed when the test
    is done: its stores hold copies of the 1 GiB artifact, and the free disk of a CI machine varies."""
    path = Path(tempfile.mkdtemp(prefix="t-", dir=stack_tmp))  # short: PostgreSQL socket paths max 107 bytes
    yield path
    if not os.environ.get("CSC_MLFLOW_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def deployment(stack_cluster, tools) -> Deployment:
    ns = stack_cluster.fresh_namespace("stack")
    return deploy(stack_cluster, ns, mlflow_users=[{"name": "alice"}, {"name": "bob"}, {"name": "carol"}])


@pytest.fixture(scope="session")
def stack(stack_cluster, deployment, tools, stack_tmp):
    s = Stack(Deployed(stack_cluster.api, deployment.namespace, deployment.app),
              stack_tmp / "stack", tools)
    try:
        s.up()
        yield s
    finally:
        s.down()


@pytest.fixture(scope="session")
def big_file(stack_tmp):
    """A 1 GiB file of random-looking bytes (written once), and its sha256."""
    size = int(os.environ.get("CSC_MLFLOW_BIG_FILE_MIB", "1024"))
    # The file, its copy in a store, the store's multipart parts and a download side by side, and the 1 % an
    # S3 server keeps free: a machine without that room cannot run these tests (its free disk varies).
    need, free = (4 * size + 1024) << 20, shutil.disk_usage(stack_tmp).free
    if free < need:
        pytest.skip(f"{free >> 20} MiB free on {stack_tmp}: the {size} MiB artifact tests need {need >> 20} MiB")
    d = stack_tmp / "big"
    d.mkdir()
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
