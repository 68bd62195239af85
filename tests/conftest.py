"""Shared pytest fixtures: the local test cluster (the harness itself: tests/harness/, by concern: cluster.py the
clients and the session's start and stop, playbooks.py the runs, snapshots.py, namespaces.py the profiles).

Session fixture ``cluster`` (see docs/DESIGN.md, "Tooling conventions"):

* reuses a cluster started by ``make cluster-up`` when ``.cluster/kubeconfig``
  answers, otherwise builds/starts one with ``tests/cluster/build.sh`` and
  ``tests/cluster/cluster.sh up`` and stops it at the end of the session (also
  when tests fail); under pytest-xdist (``make pytest``: two workers) the cluster
  must be up before, as ``make pytest`` makes sure;
* attributes ``kubeconfig``, ``server``, ``token``, ``ca_file``, ``api`` (a
  ``kubernetes.client.ApiClient`` with admin rights) and ``dynamic`` (a
  ``kubernetes.dynamic.DynamicClient`` over it);
* ``run_playbook(playbook, extra_vars=None, env=None, inventory="inventories/local",
  check=False, diff=False, collection=None)`` -> ``PlaybookResult`` (``rc``, ``stdout``,
  ``stderr``, ``recap``); ``collection``: another tree of this collection (e.g. an old
  commit's, ``stackutil.collection_at``) whose playbooks run instead of this checkout's;
  into a ``rahti`` namespace it runs as that project's admin (``as_cluster_admin=True``: not);
* ``project_admin_kubeconfig(namespace)`` -> the kubeconfig of a ``rahti`` namespace's admin;
* ``snapshot(namespace)`` -> ``{"Kind/name": (written, generation, hash)}``;
* ``fresh_namespace(prefix, labels=None, profile=None)`` -> a new namespace name, deleted at
  session end, set up as the platform ``profile`` has it (None: ``cluster.profile``);
* ``profile`` (``$CSC_MLFLOW_PROFILE``: ``rahti``, the default, or ``kubernetes``) and
  ``other_profile``.

Profiles (tests/cluster/manifests/profile-rahti.yaml; docs/DESIGN.md "Tooling conventions"):

* ``rahti``: the namespace carries OpenShift's ``openshift.io/sa.scc.*`` annotations (a UID
  block of its own), so the cluster's restricted-v2 SCC stand-in assigns runAsUser/fsGroup and
  refuses other IDs; it has Rahti's LimitRange ``limits``, the default CSC project quota as an
  enforcing ResourceQuota ``crq-<csc project>`` (a CSC project of its own) and the same quota as an
  AppliedClusterResourceQuota whose status follows the ResourceQuota's;
* ``kubernetes``: a plain namespace: nothing assigned, no quota, no LimitRange.

Pod Security ``restricted`` and the image contracts (images/contracts.yml +
tests/cluster/test-images.yml, refreshed when the fixture starts) apply in both.

Function fixtures: ``namespace`` (a fresh namespace of the default profile for one test) and
``make_namespace`` (``make_namespace(prefix="t", profile=None, labels=None)``, any number,
any profile, all deleted after the test).

Markers (registered in pytest.ini): ``cluster`` (needs the test cluster),
``stack`` (needs the running-stack harness), ``slow``.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping

import pytest

from harness.cluster import refresh_contracts, serve_cluster, start_cluster
from harness.paths import CLUSTER_SH, REPO, STATE, kubeconfig_answers

# The running-stack harness (tests/stack/running_stack) and its fixtures, for tests/stack and tests/security.
if str(REPO / "tests" / "stack") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "stack"))
pytest_plugins = ["running_stack.fixtures"]


@pytest.fixture(scope="session")
def cluster():
    """The local test cluster (reused if running, else started and stopped here)."""
    started = False
    if not kubeconfig_answers(STATE / "kubeconfig"):
        if not CLUSTER_SH.exists():
            pytest.skip("tests/cluster/cluster.sh not present")
        if os.environ.get("PYTEST_XDIST_WORKER"):
            # each worker is a session of its own: one would stop the cluster under the other
            pytest.fail("with pytest -n, start the test cluster first (make cluster-up; make pytest does)")
        start_cluster()
        started = True
    else:
        refresh_contracts()  # a running cluster: images/contracts.yml may have changed since `up`
    yield from serve_cluster(stop=started)


@pytest.fixture
def namespace(cluster, request):
    """A fresh namespace for one test, deleted after it."""
    ns = cluster.fresh_namespace(request.node.name[:30])
    yield ns
    cluster.delete_namespace(ns)


@pytest.fixture
def make_namespace(cluster):
    """``make_namespace(prefix="t", profile=None, labels=None)`` -> a fresh namespace; all deleted after the test."""
    made: list[str] = []

    def make(prefix: str = "t", profile: str | None = None, labels: Mapping[str, str] | None = None) -> str:
        made.append(cluster.fresh_namespace(prefix, labels=labels, profile=profile))
        return made[-1]

    yield make
    for ns in made:
        cluster.delete_namespace(ns)


def pytest_collection_modifyitems(config, items):
    # Anything using the cluster fixture is marked `cluster`, so `-m "not cluster"` works.
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
