"""csc.mlflow.rollout_wait run for real against the local test cluster (kube-apiserver, controllers, kwok).

The LimitRange refusal is Rahti's (`maxLimitRequestRatio: {cpu: "5"}` of every project's
LimitRange `limits`); the pods it refuses are never created, so a `wait: true` would time out.
kwok marks created pods Running and Ready. The test cluster's router stand-in admits Routes, and
refuses one with HostAlreadyClaimed when an older Route in another namespace has its host, as
OpenShift's router does. A paused Deployment stands for one that never becomes ready.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "modules" / "playbooks" / "rollout_wait.yml"

# The one image of these tests (must have a record in images/contracts.yml; kwok never pulls it).
IMAGE = "quay.io/sclorg/postgresql-16-c9s:latest"

RATIO_REFUSAL = "cpu max limit to request ratio per Container is 5"
TIMEOUT = 300


def limit_range():
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "limits"},
        "spec": {"limits": [{"type": "Container", "maxLimitRequestRatio": {"cpu": "5"}}]},
    }


def deployment(name, cpu_request="250m", cpu_limit="1", replicas=1, env_value="1"):
    """A Deployment whose pod passes Pod Security `restricted`."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "main",
                            "image": IMAGE,
                            "env": [{"name": "REVISION", "value": env_value}],
                            "resources": {
                                "requests": {"cpu": cpu_request, "memory": "64Mi"},
                                "limits": {"cpu": cpu_limit, "memory": "128Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def route(name):
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": name},
        "spec": {"to": {"kind": "Service", "name": name, "weight": 100}, "port": {"targetPort": "http"}},
    }


def apply(cluster, namespace, *objs):
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                              "items": list(objs)}))


def paused(name):
    """A Deployment that never rolls out (the controller leaves a paused one alone)."""
    d = deployment(name)
    d["spec"]["paused"] = True
    return d


def host_route(name, host):
    r = route(name)
    r["spec"]["host"] = host
    return r


def run(cluster, namespace, runs, tmp_path, *, check=False):
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    res = cluster.run_playbook(
        str(PLAYBOOK),
        {"runs": runs, "out": str(out), "target_namespace": namespace},
        inventory=None,
        check=check,
    )
    assert res.rc == 0, str(res)
    return json.loads(out.read_text()), res


def job(name, image=IMAGE):
    """A Job whose pod passes Pod Security `restricted` (kwok runs it to Succeeded)."""
    pod = deployment(name)["spec"]["template"]
    pod["spec"]["restartPolicy"] = "Never"
    pod["spec"]["containers"][0]["image"] = image
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": pod}}


def test_limit_range_refusal_fails_fast_with_the_apiservers_message(cluster, namespace, tmp_path):
    apply(cluster, namespace, limit_range())
    objs = [deployment("refused", cpu_request="100m", cpu_limit="1"), deployment("fits")]
    runs = [{"apply": objs, "deployments": ["refused", "fits"], "timeout": TIMEOUT, "expect_failure": True}]
    r, res = run(cluster, namespace, runs, tmp_path)
    result = r[0]
    assert result["failed"] is True, result
    msg = result["msg"]
    assert msg.startswith("Deployment/refused: ReplicaSet refused-"), msg
    assert ": FailedCreate: pods \"refused-" in msg and RATIO_REFUSAL in msg and "provided ratio is 10" in msg
    assert "\n" not in msg and "Deployment/fits" not in msg
    assert list(result["failures"]) == ["Deployment/refused"]
    assert result["ready"] in ([], ["Deployment/fits"])  # kwok may already have made it Ready
    # far below the timeout: the refusal is there a few milliseconds after the apply
    assert result["elapsed"] < 10, result
    assert res.seconds < 30, str(res)
    print_timing("FailedCreate reported", result)


def test_fitting_deployment_scaled_to_zero_and_admitted_route_are_ready(cluster, namespace, tmp_path):
    apply(cluster, namespace, limit_range(), route("web"))
    objs = [deployment("fits", replicas=2), deployment("zero", replicas=0)]
    runs = [{"apply": objs, "deployments": ["fits", "zero"], "routes": ["web"], "timeout": 60, "poll": 0.5}]
    r, _res = run(cluster, namespace, runs, tmp_path)
    result = r[0]
    assert result["ready"] == ["Deployment/fits", "Deployment/zero", "Route/web"], result
    assert result["failures"] == {} and result["waiting"] == {} and result["changed"] is False
    print_timing("2 pods Ready (kwok)", result)


def test_a_refused_new_revision_fails_while_the_old_pods_run(cluster, namespace, tmp_path):
    apply(cluster, namespace, limit_range())
    runs = [
        {"apply": [deployment("web")], "deployments": ["web"], "timeout": 60},
        {"apply": [deployment("web", cpu_request="100m", cpu_limit="2", env_value="2")], "deployments": ["web"],
         "timeout": TIMEOUT, "expect_failure": True},
    ]
    r, _res = run(cluster, namespace, runs, tmp_path)
    assert r[0]["ready"] == ["Deployment/web"], r[0]
    rs1 = cluster.kubectl_run("get", "rs", "-n", namespace, "-o",
                              "jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
                              "{\"\\n\"}{end}").stdout.split("\n")
    new = [line.split()[0] for line in rs1 if line.endswith(" 2")]
    assert new, rs1
    msg = r[1]["msg"]
    assert msg.startswith("Deployment/web: ReplicaSet %s: FailedCreate: " % new[0]), msg
    assert RATIO_REFUSAL in msg and "provided ratio is 20" in msg
    assert r[1]["elapsed"] < 10, r[1]


def test_refused_route_missing_objects_and_timeout(cluster, namespace, make_namespace, tmp_path):
    other = make_namespace("claims-first")
    host = f"claimed-{namespace}.apps.kwok.test"
    apply(cluster, other, host_route("other", host))  # older: the router admits it
    time.sleep(1.1)  # creationTimestamp has a 1 s resolution: make ours clearly younger
    apply(cluster, namespace, host_route("claimed", host), paused("stuck"))
    runs = [
        {"routes": ["claimed"], "deployments": ["nope", "stuck"], "timeout": TIMEOUT, "expect_failure": True},
        {"deployments": ["stuck"], "timeout": 2, "poll": 0.5, "expect_failure": True},
    ]
    r, _res = run(cluster, namespace, runs, tmp_path)
    assert r[0]["msg"] == (
        "Deployment/nope: not found; Route/claimed: not admitted by router default: HostAlreadyClaimed: "
        f"route other already exposes {host} and is older"
    ), r[0]
    assert r[0]["elapsed"] < 10 and "Deployment/stuck" in r[0]["waiting"], r[0]
    assert r[1]["msg"].startswith("Deployment/stuck: not ready after 2 s: the Deployment is paused"), r[1]
    assert 2 <= r[1]["elapsed"] < 4, r[1]


def test_check_mode_reads_once_and_fails_only_on_real_failures(cluster, namespace, tmp_path):
    apply(cluster, namespace, limit_range(), paused("stuck"), deployment("refused", cpu_request="100m"))
    runs = [
        {"deployments": ["stuck", "not-yet-created"], "timeout": TIMEOUT},
        {"deployments": ["refused"], "timeout": TIMEOUT, "expect_failure": True},
    ]
    deadline = time.monotonic() + 20  # the refusal takes the controllers a moment
    while time.monotonic() < deadline:
        conds = cluster.kubectl_run("get", "deploy", "refused", "-n", namespace, "-o",
                                    "jsonpath={.status.conditions[*].type}").stdout
        if "ReplicaFailure" in conds:
            break
        time.sleep(0.2)
    r, res = run(cluster, namespace, runs, tmp_path, check=True)
    assert not r[0].get("failed") and r[0]["polls"] == 1, r[0]
    assert r[0]["waiting"]["Deployment/stuck"].startswith("the Deployment is paused"), r[0]
    assert r[0]["failures"] == {"Deployment/not-yet-created": "not found"}
    assert r[0]["elapsed"] < 2
    assert r[1]["failed"] is True and RATIO_REFUSAL in r[1]["msg"], r[1]
    assert res.seconds < 30


def print_timing(what, result):
    # shown with `pytest -s`; kept out of assertions
    import sys

    sys.stderr.write("\n[rollout_wait] %s: elapsed %.2f s, %d polls\n" % (what, result["elapsed"], result["polls"]))


def test_a_job_is_waited_for_until_it_completes_and_one_that_cannot_start_fails(cluster, namespace, tmp_path):
    runs = [{"apply": [job("done")], "jobs": ["done"], "timeout": 60, "poll": 0.5},
            {"apply": [job("bad-image", image="quay.io/sclorg/postgresql-16-c9s:Not A Tag")], "jobs": ["bad-image"],
             "timeout": 60, "expect_failure": True}]
    r, _res = run(cluster, namespace, runs, tmp_path)
    assert r[0]["ready"] == ["Job/done"] and not r[0].get("failed"), r[0]
    assert r[1]["failed"] is True and list(r[1]["failures"]) == ["Job/bad-image"], r[1]
    # the pod is refused at its creation (here by the cluster's image-contract admission policy), fast
    assert r[1]["msg"].startswith('Job/bad-image: Job bad-image: FailedCreate: pods "bad-image-'), r[1]
    assert r[1]["elapsed"] < 30, r[1]
