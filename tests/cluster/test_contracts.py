"""tests/cluster/contracts.py: the image records and the checks against them (no cluster needed)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from contracts import (check_pod_against_contracts, configmap, decode_key, encode_key, load_contracts,
                       validate_contracts)

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGES = REPO / "tests" / "cluster" / "test-images.yml"
PRODUCT_IMAGES = REPO / "images" / "contracts.yml"

REC = {
    "source": {"repository": "minio/minio", "path": "Dockerfile.release", "ref": "RELEASE.2025-09-07T16-13-09Z",
               "url": "https://github.com/minio/minio/blob/RELEASE.2025-09-07T16-13-09Z/Dockerfile.release"},
    "user": 0, "group": 0,
    "entrypoint": ["/usr/bin/docker-entrypoint.sh"], "cmd": ["minio"], "workdir": "/",
    "ports": [9000], "env": {"MC_CONFIG_DIR": "/tmp/.mc"},
    "writable": ["/data", "/tmp/.mc"], "read_only_root_filesystem": True,
    "tools": ["minio", "mc", "sh"], "notes": "example",
}
IMG = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
CONTRACTS = {IMG: REC}


def container(**kw):
    c = {"name": "minio", "image": IMG, "command": ["minio"], "args": ["server", "/data"],
         "ports": [{"containerPort": 9000}],
         "securityContext": {"readOnlyRootFilesystem": True},
         "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]}
    c.update(kw)
    return c


def spec(*containers):
    return {"containers": list(containers) or [container()],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}


@pytest.mark.parametrize("ref", [IMG, "ghcr.io/mlflow/mlflow:v3.4.0-full", "quay.io/a_b/c:1_2",
                                 "registry.example.test:5000/x/y@sha256:" + "0" * 64, "a__u_s:x"])
def test_encoding_is_a_valid_reversible_configmap_key(ref):
    key = encode_key(ref)
    assert re.fullmatch(r"[-._a-zA-Z0-9]+", key) and "/" not in key and ":" not in key
    assert decode_key(key) == ref


def test_encoding_is_injective():
    refs = ["a/b:c", "a_sb:c", "a_b:c", "a/b_cc", "a_/b:c"]
    assert len({encode_key(r) for r in refs}) == len(refs)


def test_configmap_maps_encoded_refs_to_users():
    cm = configmap(load_contracts(TEST_IMAGES), ["tests/cluster/test-images.yml"])
    assert cm["metadata"] == {**cm["metadata"], "name": "image-contracts", "namespace": "kube-system"}
    data = cm["data"]
    assert data["example.test_snonroot_c1"] == "1001" and data["example.test_sroot_c1"] == "0"
    assert data[encode_key(data[".probe"])] == "65532"
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", k) for k in data)
    # other content, other probe reference (cluster.sh waits for the policy to see it)
    other = configmap({**load_contracts(TEST_IMAGES), IMG: REC})
    assert other["data"][".probe"] != data[".probe"] and other["data"][encode_key(IMG)] == "0"


def test_test_images_are_valid_records():
    assert validate_contracts(load_contracts(TEST_IMAGES)) == []


@pytest.mark.skipif(not PRODUCT_IMAGES.exists(), reason="images/contracts.yml not present yet")
def test_product_images_are_valid_records():
    contracts = load_contracts(PRODUCT_IMAGES)
    assert contracts and validate_contracts(contracts) == []
    assert not set(contracts) & set(load_contracts(TEST_IMAGES))


def test_validate_reports_schema_problems():
    bad = copy.deepcopy(REC)
    del bad["tools"]
    bad["user"] = "root"
    bad["writable"] = ["data"]
    errors = validate_contracts({"quay.io/minio/minio": bad})
    assert any("missing tools" in e for e in errors)
    assert any("user must be int" in e for e in errors)
    assert any("neither absolute" in e for e in errors)
    assert any("no tag or digest" in e for e in errors)
    assert validate_contracts({"images": CONTRACTS}) == []


def test_load_refuses_a_record_twice(tmp_path):
    f = tmp_path / "c.yml"
    f.write_text("images:\n  example.test/nonroot:1: {}\n")
    with pytest.raises(ValueError, match="recorded twice"):
        load_contracts(TEST_IMAGES, f)


def test_a_matching_pod_has_no_findings():
    assert check_pod_against_contracts(spec(), CONTRACTS) == []
    assert check_pod_against_contracts(spec(), {"images": CONTRACTS}) == []


def test_workloads_and_pods_are_accepted():
    pod = {"kind": "Pod", "spec": spec()}
    dep = {"kind": "Deployment", "spec": {"template": {"spec": spec()}}}
    cron = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": spec()}}}}}
    for obj in (pod, dep, cron):
        assert check_pod_against_contracts(obj, CONTRACTS) == []
    bad = copy.deepcopy(cron)
    bad["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"] = ["pg_dump"]
    assert check_pod_against_contracts(bad, CONTRACTS)


def test_unknown_image():
    (err,) = check_pod_against_contracts(spec(container(image="quay.io/minio/minio:latest")), CONTRACTS)
    assert "has no record" in err


def test_command_and_exec_probes_must_use_tools():
    assert check_pod_against_contracts(spec(container(command=["/usr/bin/mc", "ls"])), CONTRACTS) == []
    assert check_pod_against_contracts(spec(container(command=["/usr/bin/docker-entrypoint.sh"])), CONTRACTS) == []
    (err,) = check_pod_against_contracts(spec(container(command=["pg_dump"])), CONTRACTS)
    assert "command[0] 'pg_dump' is not a tool" in err
    probe = {"exec": {"command": ["curl", "-f", "http://localhost:9000/minio/health/live"]}}
    (err,) = check_pod_against_contracts(spec(container(readinessProbe=probe)), CONTRACTS)
    assert "readinessProbe.exec.command[0] 'curl'" in err
    hook = {"preStop": {"exec": {"command": ["bash", "-c", "sleep 1"]}}}
    (err,) = check_pod_against_contracts(spec(container(lifecycle=hook)), CONTRACTS)
    assert "lifecycle.preStop.exec.command[0] 'bash'" in err
    # args alone run the image's own entrypoint: nothing to check
    c = container()
    del c["command"]
    assert check_pod_against_contracts(spec(c), CONTRACTS) == []


def test_container_ports_must_be_exposed():
    (err,) = check_pod_against_contracts(spec(container(ports=[{"containerPort": 9001}])), CONTRACTS)
    assert "containerPort 9001" in err
    no_ports = {IMG: {**REC, "ports": []}}
    assert check_pod_against_contracts(spec(container(ports=[{"containerPort": 9001}])), no_ports) == []


def test_read_only_root_needs_every_writable_path_mounted():
    c = container(volumeMounts=[{"name": "data", "mountPath": "/data"}])
    (err,) = check_pod_against_contracts(spec(c), CONTRACTS)
    assert "/tmp/.mc" in err and "under no volumeMount" in err
    # without readOnlyRootFilesystem the root is writable: fine
    assert check_pod_against_contracts(spec(container(securityContext={}, volumeMounts=[])), CONTRACTS) == []
    # a mount at /tmp/.mcx does not cover /tmp/.mc
    c = container(volumeMounts=[{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp/.mcx"}])
    assert check_pod_against_contracts(spec(c), CONTRACTS)


def test_writable_paths_with_a_variable():
    rec = {IMG: {**REC, "writable": ["/data", "$HOME/.minio"], "env": {}}}
    (err,) = check_pod_against_contracts(spec(), rec)
    assert "neither the pod nor the image sets HOME" in err
    assert check_pod_against_contracts(spec(container(env=[{"name": "HOME", "value": "/tmp"}])), rec) == []
    (err,) = check_pod_against_contracts(spec(container(env=[{"name": "HOME", "value": "/home/x"}])), rec)
    assert "/home/x/.minio" in err
    rec[IMG]["env"] = {"HOME": "/data"}  # the image's ENV counts when the pod sets none
    assert check_pod_against_contracts(spec(), rec) == []
    assert validate_contracts(rec) == []
    assert validate_contracts({IMG: {**REC, "writable": ["relative/x"]}})


def test_read_only_root_on_an_image_that_cannot():
    rec = {IMG: {**REC, "read_only_root_filesystem": False}}
    (err,) = check_pod_against_contracts(spec(), rec)
    assert "does not work with a read-only root" in err


def test_init_containers_are_checked():
    s = spec()
    s["initContainers"] = [container(name="init", command=["chown"])]
    (err,) = check_pod_against_contracts(s, CONTRACTS)
    assert err.startswith("initContainers[0] (init)")
