"""Failures a test asks the test cluster for: kwok completes every Job pod, so a program that fails there (a
schema migration that exits 1, an S3 service that refuses the keys) has to be said
(tests/cluster/manifests/job-faults.yaml, kwok-stages/2-job-pod-failed.yaml).

    with job_fails(cluster, ns, "mlflow db upgrade"):
        ...  # every pod created in ns whose command line holds "mlflow db upgrade" exits 1
"""

from __future__ import annotations

import contextlib
import time

from kubernetes import client
from kubernetes.client.exceptions import ApiException

CONFIGMAP, SYSTEM = "job-faults", "kube-system"
ANNOTATION = "test.csc-mlflow/fault"


def _set(core: client.CoreV1Api, namespace: str, command_part: str | None) -> None:
    patch = {"data": {namespace: command_part}}
    try:
        core.patch_namespaced_config_map(CONFIGMAP, SYSTEM, patch)
    except ApiException as e:
        if e.status != 404 or command_part is None:
            raise
        core.create_namespaced_config_map(SYSTEM, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=CONFIGMAP), data={namespace: command_part}))


def _probe_pod(image: str, command_part: str) -> dict:
    """A pod that passes Pod Security `restricted` and the image records, whose command line holds command_part."""
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fault-probe"},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": image, "args": [command_part],
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
        },
    }


def _fault_seen(core: client.CoreV1Api, namespace: str, command_part: str) -> bool:
    image = core.read_namespaced_config_map("image-contracts", SYSTEM).data[".probe"]
    pod = core.create_namespaced_pod(namespace, _probe_pod(image, command_part), dry_run="All")
    return ANNOTATION in (pod.metadata.annotations or {})


@contextlib.contextmanager
def job_fails(cluster, namespace: str, command_part: str, timeout: float = 30):
    """Pods of Jobs created in `namespace` whose command + args contain `command_part` exit 1, until the block ends.
    Waits until the admission policy reads the change (it caches its parameters)."""
    core = client.CoreV1Api(cluster.api)
    _set(core, namespace, command_part)
    try:
        end = time.monotonic() + timeout
        while not _fault_seen(core, namespace, command_part):
            if time.monotonic() > end:
                raise TimeoutError(f"the job-faults policy did not act on {namespace} within {timeout} s")
            time.sleep(0.2)
        yield
    finally:
        _set(core, namespace, None)
