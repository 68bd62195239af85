"""Pure logic of plugins/plugin_utils/rollout.py (ready / waiting / failed and the one-line reason).

The Deployment, ReplicaSet and event of the LimitRange case are what the local test cluster
(kube-apiserver 1.36) returned; the pod statuses are what a kubelet reports, written by hand
(kwok marks every pod Ready).
"""

from __future__ import annotations

import copy

import pytest
import yaml

from ansible_collections.csc.mlflow.plugins.plugin_utils import rollout as ro

RATIO_MSG = ('pods "bad-7f97b58b47-lp9dj" is forbidden: cpu max limit to request ratio per Container is 5, '
             'but provided ratio is 10.000000')

# As returned by the test cluster (managedFields, spec.template and last-applied left out).
LIVE = yaml.safe_load(
    """
deployment:
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations: {deployment.kubernetes.io/revision: "1"}
    creationTimestamp: "2026-12-01T20:08:34Z"
    generation: 1
    name: bad
    namespace: probe1
    uid: 27a0f10e-422c-44aa-b607-02736646be90
  spec: {replicas: 1}
  status:
    conditions:
    - {lastTransitionTime: "2026-12-01T20:08:34Z", message: Created new replica set "bad-7f97b58b47",
       reason: NewReplicaSetCreated, status: "True", type: Progressing}
    - {lastTransitionTime: "2026-12-01T20:08:34Z", message: Deployment does not have minimum availability.,
       reason: MinimumReplicasUnavailable, status: "False", type: Available}
    - lastTransitionTime: "2026-12-01T20:08:34Z"
      message: 'pods "bad-7f97b58b47-lp9dj" is forbidden: cpu max limit to request ratio
        per Container is 5, but provided ratio is 10.000000'
      reason: FailedCreate
      status: "True"
      type: ReplicaFailure
    observedGeneration: 1
    terminatingReplicas: 0
    unavailableReplicas: 1
replicaset:
  apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    annotations:
      deployment.kubernetes.io/desired-replicas: "1"
      deployment.kubernetes.io/max-replicas: "2"
      deployment.kubernetes.io/revision: "1"
    creationTimestamp: "2026-12-01T20:08:34Z"
    name: bad-7f97b58b47
    namespace: probe1
    ownerReferences:
    - {apiVersion: apps/v1, blockOwnerDeletion: true, controller: true, kind: Deployment, name: bad,
       uid: 27a0f10e-422c-44aa-b607-02736646be90}
    uid: 693a76ff-502b-44b2-830f-0997ddedfed8
  spec: {replicas: 1}
  status:
    conditions:
    - lastTransitionTime: "2026-12-01T20:08:34Z"
      message: 'pods "bad-7f97b58b47-lp9dj" is forbidden: cpu max limit to request
        ratio per Container is 5, but provided ratio is 10.000000'
      reason: FailedCreate
      status: "True"
      type: ReplicaFailure
    observedGeneration: 1
    replicas: 0
event:
  apiVersion: v1
  count: 1
  eventTime: null
  firstTimestamp: "2026-12-01T20:08:34Z"
  involvedObject: {apiVersion: apps/v1, kind: ReplicaSet, name: bad-7f97b58b47, namespace: probe1,
                   uid: 693a76ff-502b-44b2-830f-0997ddedfed8}
  kind: Event
  lastTimestamp: "2026-12-01T20:08:34Z"
  message: 'Error creating: pods "bad-7f97b58b47-lp9dj" is forbidden: cpu max limit
    to request ratio per Container is 5, but provided ratio is 10.000000'
  metadata: {creationTimestamp: "2026-12-01T20:08:34Z", name: bad-7f97b58b47.18ed3a1b22ec5691, namespace: probe1}
  reason: FailedCreate
  source: {component: replicaset-controller}
  type: Warning
"""
)


# ---------------------------------------------------------------------------- builders
def deployment(name="web", replicas=1, revision="2", generation=3, observed=3, status=None, conditions=(), **spec):
    st = {"observedGeneration": observed}
    st.update(status or {})
    if conditions:
        st["conditions"] = list(conditions)
    sp = {"replicas": replicas}
    sp.update(spec)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "uid": "uid-%s" % name, "generation": generation,
                     "annotations": {ro.REVISION: revision}},
        "spec": sp, "status": st,
    }


def replicaset(dep, hash_="abc12", revision="2", replicas=1, have=0, created="2026-12-01T10:00:00Z", conditions=()):
    name = "%s-%s" % (dep["metadata"]["name"], hash_)
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "uid": "uid-%s" % name, "creationTimestamp": created,
                     "annotations": {ro.REVISION: revision},
                     "ownerReferences": [{"kind": "Deployment", "name": dep["metadata"]["name"],
                                          "uid": dep["metadata"]["uid"], "controller": True}]},
        "spec": {"replicas": replicas},
        "status": {"replicas": have, "conditions": list(conditions)},
    }


def pod(rs, suffix="x1", ready=False, containers=(), init=(), scheduled=None, node="kwok-node-0", phase="Pending"):
    name = "%s-%s" % (rs["metadata"]["name"], suffix)
    conds = [{"type": "Ready", "status": "True" if ready else "False"}]
    if scheduled is not None:
        conds.append(scheduled)
    spec = {"nodeName": node} if node else {}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "uid": "uid-%s" % name,
                     "ownerReferences": [{"kind": "ReplicaSet", "name": rs["metadata"]["name"],
                                          "uid": rs["metadata"]["uid"], "controller": True}]},
        "spec": spec,
        "status": {"phase": phase, "conditions": conds, "containerStatuses": list(containers),
                   "initContainerStatuses": list(init)},
    }


def waiting(name, reason, message=None, restarts=0, last=None):
    w = {"reason": reason}
    if message:
        w["message"] = message
    cs = {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": w}}
    if last:
        cs["lastState"] = {"terminated": last}
    return cs


def event(kind, name, reason, message, at="2026-12-01T10:00:05Z", count=1, field_path=None):
    inv = {"kind": kind, "name": name}
    if field_path:
        inv["fieldPath"] = field_path
    return {"kind": "Event", "involvedObject": inv, "reason": reason, "message": message, "count": count,
            "lastTimestamp": at, "firstTimestamp": at, "metadata": {"name": "%s.%s" % (name, reason)}}


def state(dep, rss=(), pods=(), events=()):
    return ro.deployment_state(dep, list(rss), list(pods), list(events))


# ---------------------------------------------------------------------------- FailedCreate
def test_limitrange_refusal_from_the_replicasets_condition():
    status, reason = state(LIVE["deployment"], [LIVE["replicaset"]], [], [LIVE["event"]])
    assert status == ro.FAILED
    assert reason == "ReplicaSet bad-7f97b58b47: FailedCreate: " + RATIO_MSG
    assert "\n" not in reason


def test_failed_create_from_the_event_when_the_condition_is_missing():
    rs = copy.deepcopy(LIVE["replicaset"])
    rs["status"].pop("conditions")
    dep = copy.deepcopy(LIVE["deployment"])
    dep["status"]["conditions"] = dep["status"]["conditions"][:2]
    status, reason = state(dep, [rs], [], [LIVE["event"]])
    assert (status, reason) == (ro.FAILED, "ReplicaSet bad-7f97b58b47: FailedCreate: " + RATIO_MSG)


def test_quota_refusal_message_keeps_the_numbers_on_one_line():
    dep = deployment("mlflow-postgresql")
    rs = replicaset(dep, "6d9f")
    msg = ('Error creating: pods "mlflow-postgresql-6d9f-x" is forbidden:\n exceeded quota: compute,\n'
           '   requested: limits.cpu=8, used: limits.cpu=0, limited: limits.cpu=4')
    status, reason = state(dep, [rs], [], [event("ReplicaSet", "mlflow-postgresql-6d9f", "FailedCreate", msg)])
    assert status == ro.FAILED
    assert reason == ('ReplicaSet mlflow-postgresql-6d9f: FailedCreate: pods "mlflow-postgresql-6d9f-x" is forbidden: '
                      'exceeded quota: compute, requested: limits.cpu=8, used: limits.cpu=0, limited: limits.cpu=4')


def test_failed_create_of_the_maximum_cpu_per_container():
    dep = deployment("mlflow-postgresql")
    msg = 'pods "mlflow-postgresql-6d9f-x" is forbidden: maximum cpu usage per Container is 4, but limit is 8'
    cond = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": msg}
    rs = replicaset(dep, "6d9f", conditions=[cond])
    assert state(dep, [rs]) == (ro.FAILED, "ReplicaSet mlflow-postgresql-6d9f: FailedCreate: " + msg)


def test_old_failed_create_events_do_not_count():
    dep = deployment()
    rs = replicaset(dep, created="2026-12-01T10:00:00Z")
    older = event("ReplicaSet", rs["metadata"]["name"], "FailedCreate", "Error creating: old", at="2026-12-01T09:00:00Z")
    assert state(dep, [rs], [], [older])[0] == ro.WAITING
    # a ReplicaSet that has its pods: an event from before it got them is history
    rs_ok = replicaset(dep, have=1)
    recent = event("ReplicaSet", rs_ok["metadata"]["name"], "FailedCreate", "Error creating: transient")
    assert state(dep, [rs_ok], [pod(rs_ok)], [recent])[0] == ro.WAITING


def test_failed_create_of_an_older_revision_is_ignored():
    dep = deployment(revision="2")
    old = replicaset(dep, "old11", revision="1", replicas=0)
    new = replicaset(dep, "new22", revision="2", have=1)
    ev = event("ReplicaSet", old["metadata"]["name"], "FailedCreate", "Error creating: forbidden")
    status, reason = state(dep, [old, new], [pod(new, phase="Running")], [ev])
    assert status == ro.WAITING and "forbidden" not in reason


def test_replicasets_of_another_deployment_are_ignored():
    dep = deployment("web")
    other = deployment("other")
    rs = replicaset(other, conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                        "message": "nope"}])
    assert state(dep, [rs]) == (ro.WAITING, "no ReplicaSet for revision 2 yet")


# ---------------------------------------------------------------------------- pods
@pytest.mark.parametrize(
    "reason,message,expected",
    [
        ("ImagePullBackOff", 'Back-off pulling image "quay.io/x/y:nope"',
         'pod web-abc12-x1: container mlflow: ImagePullBackOff: Back-off pulling image "quay.io/x/y:nope"'),
        ("InvalidImageName", 'Failed to apply default image tag "Quay.io/x:": couldn\'t parse image name',
         'pod web-abc12-x1: container mlflow: InvalidImageName: Failed to apply default image tag "Quay.io/x:": '
         "couldn't parse image name"),
        ("CreateContainerConfigError", "container has runAsNonRoot and image will run as root "
         "(pod: \"web-abc12-x1_ns(1)\", container: mlflow)",
         'pod web-abc12-x1: container mlflow: CreateContainerConfigError: container has runAsNonRoot and image will '
         'run as root (pod: "web-abc12-x1_ns(1)", container: mlflow)'),
        ("CreateContainerConfigError", 'secret "mlflow-db" not found',
         'pod web-abc12-x1: container mlflow: CreateContainerConfigError: secret "mlflow-db" not found'),
        ("CreateContainerError", "context deadline exceeded",
         "pod web-abc12-x1: container mlflow: CreateContainerError: context deadline exceeded"),
    ],
)
def test_fatal_container_waiting_reasons(reason, message, expected):
    dep = deployment()
    rs = replicaset(dep, have=1)
    p = pod(rs, containers=[waiting("mlflow", reason, message)])
    assert state(dep, [rs], [p]) == (ro.FAILED, expected)


def test_crash_loop_gives_the_last_exit_code():
    dep = deployment()
    rs = replicaset(dep, have=1)
    p = pod(rs, phase="Running", containers=[
        waiting("mlflow", "CrashLoopBackOff", "back-off 20s restarting failed container=mlflow pod=web-abc12-x1",
                restarts=3, last={"exitCode": 1, "reason": "Error", "message": "could not connect\nto server"}),
    ])
    assert state(dep, [rs], [p]) == (
        ro.FAILED,
        "pod web-abc12-x1: container mlflow: CrashLoopBackOff: last termination: exit code 1, Error, "
        "could not connect to server, 3 restarts",
    )


def test_crash_loop_of_an_init_container():
    dep = deployment()
    rs = replicaset(dep, have=1)
    p = pod(rs, init=[waiting("wait-db", "CrashLoopBackOff", restarts=1, last={"exitCode": 137, "reason": "OOMKilled"})],
            containers=[waiting("mlflow", "PodInitializing")])
    assert state(dep, [rs], [p]) == (
        ro.FAILED, "pod web-abc12-x1: init container wait-db: CrashLoopBackOff: last termination: exit code 137, "
                   "OOMKilled, 1 restarts")


def test_err_image_pull_waits_until_it_repeats():
    dep = deployment()
    rs = replicaset(dep, have=1)
    p = pod(rs, containers=[waiting("mlflow", "ErrImagePull", "rpc error: toomanyrequests")])
    name = p["metadata"]["name"]
    first = event("Pod", name, "Failed", "Failed to pull image: toomanyrequests", field_path="spec.containers{mlflow}")
    status, reason = state(dep, [rs], [p], [first])
    assert (status, reason) == (ro.WAITING, "pod web-abc12-x1: container mlflow: ErrImagePull: rpc error: toomanyrequests")
    again = dict(first, count=2)
    assert state(dep, [rs], [p], [again])[0] == ro.FAILED
    backoff = event("Pod", name, "BackOff", 'Back-off pulling image "x"', field_path="spec.containers{mlflow}")
    assert state(dep, [rs], [p], [first, backoff]) == (ro.FAILED, reason)
    # a repeat about another container of the pod is not this one's
    other = event("Pod", name, "BackOff", 'Back-off pulling image "y"', field_path="spec.containers{sidecar}")
    assert state(dep, [rs], [p], [first, other])[0] == ro.WAITING


def test_pods_of_old_replicasets_and_terminating_pods_are_ignored():
    dep = deployment()
    old = replicaset(dep, "old11", revision="1", replicas=0, have=1)
    new = replicaset(dep, "new22", revision="2", have=1)
    crashing = pod(old, containers=[waiting("mlflow", "CrashLoopBackOff", restarts=5)])
    gone = pod(new, "x0", containers=[waiting("mlflow", "ImagePullBackOff")])
    gone["metadata"]["deletionTimestamp"] = "2026-12-01T10:00:00Z"
    starting = pod(new, containers=[waiting("mlflow", "ContainerCreating")])
    status, reason = state(dep, [old, new], [crashing, gone, starting])
    assert (status, reason) == (ro.WAITING, "pod web-new22-x1: container mlflow: ContainerCreating")


def test_unschedulable_pods_wait_with_the_schedulers_reason():
    dep = deployment()
    rs = replicaset(dep, have=1)
    msg = "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available."
    p = pod(rs, node=None, scheduled={"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg})
    assert state(dep, [rs], [p]) == (ro.WAITING, "pod web-abc12-x1: Unschedulable: " + msg)
    # without the condition, the FailedScheduling event tells
    p2 = pod(rs, node=None)
    ev = event("Pod", p2["metadata"]["name"], "FailedScheduling", msg)
    assert state(dep, [rs], [p2], [ev]) == (ro.WAITING, "pod web-abc12-x1: FailedScheduling: " + msg)


def test_pod_running_but_not_ready():
    dep = deployment(status={"replicas": 1, "updatedReplicas": 1})
    rs = replicaset(dep, have=1)
    p = pod(rs, phase="Running")
    assert state(dep, [rs], [p]) == (ro.WAITING, "pod web-abc12-x1: Running, not ready")


# ---------------------------------------------------------------------------- Deployment conditions
def test_progress_deadline_exceeded_fails_with_the_pods_reason():
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "web-abc12" has timed out progressing.'}
    dep = deployment(conditions=[cond])
    rs = replicaset(dep, have=1)
    p = pod(rs, phase="Running")
    assert state(dep, [rs], [p]) == (
        ro.FAILED,
        'ProgressDeadlineExceeded: ReplicaSet "web-abc12" has timed out progressing. (pod web-abc12-x1: Running, not ready)',
    )
    assert state(dep) == (ro.FAILED, 'ProgressDeadlineExceeded: ReplicaSet "web-abc12" has timed out progressing.')


def test_replica_failure_condition_of_the_deployment():
    cond = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "pods \"x\" is forbidden: y"}
    assert state(deployment(conditions=[cond])) == (ro.FAILED, 'FailedCreate: pods "x" is forbidden: y')


def test_unobserved_generation_waits_even_with_stale_failures():
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "old"}
    dep = deployment(generation=4, observed=3, conditions=[cond],
                     status={"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1})
    assert state(dep) == (ro.WAITING, "the deployment controller has not observed generation 4 yet")


# ---------------------------------------------------------------------------- ready
FULL = {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}


def test_ready_when_every_replica_is_updated_ready_and_available():
    assert state(deployment(replicas=2, status=FULL)) == (ro.READY, "")


@pytest.mark.parametrize(
    "change,reason",
    [
        ({"replicas": 3}, "1 old replica(s) pending termination"),
        ({"updatedReplicas": 1}, "1 of 2 updated replicas available (2 ready)"),
        ({"availableReplicas": 1}, "1 of 2 updated replicas available (2 ready)"),
        ({"readyReplicas": 1}, "2 of 2 updated replicas available (1 ready)"),
    ],
)
def test_not_ready_while_a_count_is_short(change, reason):
    st = dict(FULL, **change)
    dep = deployment(replicas=2, status=st)
    rs = replicaset(dep, have=2, replicas=2)
    assert state(dep, [rs]) == (ro.WAITING, reason)


def test_scaled_to_zero():
    assert state(deployment(replicas=0)) == (ro.READY, "")
    assert state(deployment(replicas=0, status={"replicas": 0})) == (ro.READY, "")
    dep = deployment(replicas=0, status={"replicas": 1})
    assert state(dep, [replicaset(dep, replicas=0, have=1)]) == (ro.WAITING, "1 old replica(s) pending termination")


def test_missing_and_deleted():
    assert state(None) == (ro.FAILED, "not found")
    dep = deployment(status=FULL)
    dep["metadata"]["deletionTimestamp"] = "2026-12-01T10:00:00Z"
    assert state(dep) == (ro.FAILED, "being deleted")


def test_paused():
    assert state(deployment(paused=True), [])[1] == "the Deployment is paused"


# ---------------------------------------------------------------------------- routes
def route(host="mlflow-ns.apps.example", ingress=None):
    r = {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "mlflow"},
         "spec": {"host": host, "to": {"kind": "Service", "name": "mlflow"}}}
    if ingress is not None:
        r["status"] = {"ingress": ingress}
    return r


def admitted(status, router="default", host="mlflow-ns.apps.example", reason=None, message=None):
    cond = {"type": "Admitted", "status": status}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return {"host": host, "routerName": router, "conditions": [cond]}


def test_route_admitted():
    assert ro.route_state(route(ingress=[admitted("True")])) == (ro.READY, "")


def test_route_host_already_claimed():
    r = route(ingress=[admitted("False", reason="HostAlreadyClaimed",
                                message="route mlflow already exposes mlflow-ns.apps.example and is older")])
    assert ro.route_state(r) == (
        ro.FAILED,
        "not admitted by router default: HostAlreadyClaimed: route mlflow already exposes mlflow-ns.apps.example and is older",
    )


def test_route_without_status_or_with_a_stale_one_waits():
    assert ro.route_state(route()) == (
        ro.WAITING, "not admitted by any router yet (no status.ingress for host mlflow-ns.apps.example)")
    assert ro.route_state(route(ingress=[]))[0] == ro.WAITING
    stale = route(host="new.apps.example", ingress=[admitted("True", host="old.apps.example")])
    assert ro.route_state(stale)[0] == ro.WAITING
    assert ro.route_state(None) == (ro.FAILED, "not found")


# ---------------------------------------------------------------------------- a run
def test_evaluate_summary_and_settle():
    ready = deployment("web", status={"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1})
    states = ro.evaluate(
        ["web", "bad", "gone"], ["mlflow"],
        deployments=[ready, LIVE["deployment"]], replicasets=[LIVE["replicaset"]], events=[LIVE["event"]],
        routes=[route()],
    )
    assert states["Deployment/web"] == (ro.READY, "")
    assert states["Deployment/bad"][0] == ro.FAILED
    assert states["Deployment/gone"] == (ro.FAILED, "not found")
    assert states["Route/mlflow"][0] == ro.WAITING

    settler = ro.Settler(settle=5)
    assert settler.update(states, now=100.0) == {}
    assert settler.update(states, now=104.9) == {}
    confirmed = settler.update(states, now=105.0)
    assert sorted(confirmed) == ["Deployment/bad", "Deployment/gone"]
    # a failure that heals starts over
    healed = dict(states, **{"Deployment/bad": (ro.WAITING, "x")})
    assert sorted(settler.update(healed, now=106.0)) == ["Deployment/gone"]
    assert "Deployment/bad" not in settler.update(states, now=107.0)

    msg = ro.summary(states, confirmed)
    assert msg == ("Deployment/bad: ReplicaSet bad-7f97b58b47: FailedCreate: " + RATIO_MSG
                   + "; Deployment/gone: not found")
    assert ro.summary(states, {}, timed_out=True, elapsed=30.2) == (
        "Deployment/bad: not ready after 30 s: ReplicaSet bad-7f97b58b47: FailedCreate: " + RATIO_MSG
        + "; Deployment/gone: not ready after 30 s: not found"
        + "; Route/mlflow: not ready after 30 s: not admitted by any router yet (no status.ingress for host "
          "mlflow-ns.apps.example)"
    )
    assert ro.summary({"Deployment/web": (ro.READY, "")}, {}) is None


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2026-12-01T20:08:34Z", (2026, 12, 1, 20, 8, 34, 0)),
        ("2026-12-01T20:08:34.123456Z", (2026, 12, 1, 20, 8, 34, 123456)),
        ("2026-12-01T22:08:34+02:00", (2026, 12, 1, 20, 8, 34, 0)),
    ],
)
def test_parse_time(value, expected):
    t = ro.parse_time(value)
    assert (t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond) == expected
    assert ro.parse_time(None) is None and ro.parse_time("yesterday") is None


# ---------------------------------------------------------------------------- the module's poll loop
class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeReader:
    """Returns the given states one poll after another (the last one repeats)."""

    def __init__(self, *polls):
        self.polls = list(polls)
        self.calls = 0

    def read(self, deployments, routes, jobs=()):
        self.calls += 1
        return self.polls[min(self.calls, len(self.polls)) - 1]


@pytest.fixture
def rw():
    return pytest.importorskip("ansible_collections.csc.mlflow.plugins.plugin_utils.rollout_wait")


def params(**kw):
    p = dict(namespace="ns", deployments=["a", "b"], routes=[], timeout=10, poll=1, settle=0)
    p.update(kw)
    return p


W = (ro.WAITING, "pod a-1: container c: ContainerCreating")
R = (ro.READY, "")
F = (ro.FAILED, "ReplicaSet b-1: FailedCreate: forbidden")


def test_wait_returns_when_all_are_ready(rw):
    clock = FakeClock()
    reader = FakeReader({"Deployment/a": W, "Deployment/b": W}, {"Deployment/a": R, "Deployment/b": R})
    result, msg = rw.wait(reader, params(), clock=clock, sleep=clock.sleep)
    assert msg is None and result["ready"] == ["Deployment/a", "Deployment/b"] and result["polls"] == 2
    # the first wait is a tenth of a second
    assert result["elapsed"] == 0.1 and result["failures"] == {} and result["waiting"] == {}


def test_wait_fails_on_the_first_failure_without_settle(rw):
    clock = FakeClock()
    reader = FakeReader({"Deployment/a": W, "Deployment/b": F})
    result, msg = rw.wait(reader, params(), clock=clock, sleep=clock.sleep)
    assert msg == "Deployment/b: ReplicaSet b-1: FailedCreate: forbidden" and result["polls"] == 1
    assert result["failures"] == {"Deployment/b": F[1]} and result["waiting"] == {"Deployment/a": W[1]}


def test_wait_settle_lets_a_failure_heal(rw):
    clock = FakeClock()
    reader = FakeReader({"Deployment/a": R, "Deployment/b": F}, {"Deployment/a": R, "Deployment/b": F},
                        {"Deployment/a": R, "Deployment/b": R})
    result, msg = rw.wait(reader, params(settle=3), clock=clock, sleep=clock.sleep)
    assert msg is None and result["polls"] == 3
    clock = FakeClock()
    result, msg = rw.wait(FakeReader({"Deployment/a": R, "Deployment/b": F}), params(settle=3), clock=clock,
                          sleep=clock.sleep)
    # polls at 0, 0.1, 0.3, 0.7, 1.5 (the waits double from 0.1 s up to poll), 2.5, 3.5
    assert msg == "Deployment/b: " + F[1] and result["polls"] == 7 and result["elapsed"] == 3.5


def test_wait_timeout_names_the_last_reason(rw):
    clock = FakeClock()
    result, msg = rw.wait(FakeReader({"Deployment/a": W, "Deployment/b": R}), params(timeout=5), clock=clock,
                          sleep=clock.sleep)
    assert msg == "Deployment/a: not ready after 5 s: " + W[1]
    assert result["elapsed"] == 5.0 and result["ready"] == ["Deployment/b"]


def test_wait_check_mode_reads_once_and_tolerates_waiting_and_missing(rw):
    clock = FakeClock()
    states = {"Deployment/a": W, "Deployment/b": (ro.FAILED, "not found")}
    result, msg = rw.wait(FakeReader(states), params(), check_mode=True, clock=clock, sleep=clock.sleep)
    assert msg is None and result["polls"] == 1 and result["failures"] == {"Deployment/b": "not found"}
    result, msg = rw.wait(FakeReader({"Deployment/a": W, "Deployment/b": F}), params(), check_mode=True,
                          clock=clock, sleep=clock.sleep)
    assert msg == "Deployment/b: " + F[1]


def test_wait_rides_out_api_errors_until_the_timeout(rw):
    clock = FakeClock()

    class Flaky:
        calls = 0

        def read(self, deployments, routes, jobs=()):
            self.calls += 1
            if self.calls == 1:
                raise OSError("connection refused")
            return {"Deployment/a": R, "Deployment/b": R}

    result, msg = rw.wait(Flaky(), params(), clock=clock, sleep=clock.sleep)
    assert msg is None and result["polls"] == 2


def _job(name, conditions=(), active=0, uid="j1"):
    return {"metadata": {"name": name, "uid": uid, "creationTimestamp": "2026-12-06T09:59:00Z"}, "kind": "Job",
            "status": {"active": active, "conditions": [dict(type=t, status="True", reason=r, message=m)
                                                        for t, r, m in conditions]}}


def test_a_job_is_ready_when_complete_failed_with_its_reason_and_waits_otherwise():
    from ansible_collections.csc.mlflow.plugins.plugin_utils import rollout as ro
    done = _job("u", [("Complete", "CompletionsReached", "")])
    failed = _job("u", [("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")])
    assert ro.job_state(done) == (ro.READY, "")
    assert ro.job_state(failed) == (ro.FAILED, "BackoffLimitExceeded: Job has reached the specified backoff limit")
    assert ro.job_state(_job("u", active=1)) == (ro.WAITING, "not complete yet (1 active, 0 succeeded)")
    assert ro.job_state(None) == (ro.FAILED, "not found")
    pull = {"metadata": {"name": "u-x", "ownerReferences": [{"kind": "Job", "name": "u", "uid": "j1"}]},
            "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "InvalidImageName",
                                                                                 "message": "bad ref"}}}]}}
    status, reason = ro.job_state(_job("u", active=1), pods=[pull])
    assert status == ro.FAILED and "InvalidImageName" in reason
    refused = {"involvedObject": {"kind": "Job", "name": "u"}, "reason": "FailedCreate", "type": "Warning",
               "message": 'Error creating: pods "u-x" is forbidden: exceeded quota: compute',
               "lastTimestamp": "2026-12-06T10:00:00Z"}
    assert ro.job_state(_job("u"), events=[refused]) == (
        ro.FAILED, 'Job u: FailedCreate: pods "u-x" is forbidden: exceeded quota: compute')
    states = ro.evaluate([], [], job_names=["u"], jobs=[done])
    assert states == {"Job/u": (ro.READY, "")}


# ---------------------------------------------------------------------------- HTTPRoutes
def _httproute(parents=None, generation=2, parent_refs=None):
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "ml", "namespace": "team", "generation": generation},
             "spec": {"parentRefs": parent_refs if parent_refs is not None else [
                 {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "infra",
                  "sectionName": "https"}]}}
    if parents is not None:
        route["status"] = {"parents": parents}
    return route


def _parent(accepted=("True", "Accepted", ""), resolved=("True", "ResolvedRefs", ""), generation=2, ref=None):
    conds = []
    for ctype, value in (("Accepted", accepted), ("ResolvedRefs", resolved)):
        if value:
            conds.append({"type": ctype, "status": value[0], "reason": value[1], "message": value[2],
                          "observedGeneration": generation})
    return {"parentRef": ref or {"name": "public", "namespace": "infra", "sectionName": "https"},
            "controllerName": "gateway.envoyproxy.io/gatewayclass-controller", "conditions": conds}


def test_httproute_accepted_with_references_resolved_is_ready():
    assert ro.httproute_state(_httproute([_parent()])) == (ro.READY, "")
    # group and kind as the API defaults them
    assert ro.httproute_state(_httproute([_parent(ref={"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                                       "name": "public", "namespace": "infra", "sectionName": "https"})]))[0] == ro.READY


def test_httproute_refused_by_the_gateway_fails_with_the_controllers_reason():
    msg = "no listener of Gateway infra/public admits the hostname ml.elsewhere.org"
    status, reason = ro.httproute_state(_httproute([_parent(accepted=("False", "NoMatchingListenerHostname", msg))]))
    assert status == ro.FAILED
    assert reason == "not accepted by Gateway infra/public listener https: NoMatchingListenerHostname: " + msg
    status, reason = ro.httproute_state(_httproute([_parent(resolved=("False", "BackendNotFound", "Service team/ml not found"))]))
    assert status == ro.FAILED and "BackendNotFound: Service team/ml not found" in reason
    # before the Services exist: accepted is enough
    assert ro.httproute_state(_httproute([_parent(resolved=("False", "BackendNotFound", "x"))]), resolved_refs=False) == (ro.READY, "")


def test_httproute_without_a_current_report_on_our_parent_waits():
    assert ro.httproute_state(_httproute())[0] == ro.WAITING
    assert "no report" in ro.httproute_state(_httproute())[1]
    # a report about another parent (another listener) is not ours
    other = _parent(ref={"name": "public", "namespace": "infra", "sectionName": "http"})
    assert ro.httproute_state(_httproute([other]))[0] == ro.WAITING
    # a report about the previous generation: the refusal it holds may be gone
    old = _parent(accepted=("False", "NoMatchingParent", "x"), generation=1)
    assert ro.httproute_state(_httproute([old]))[1] == "the Gateway's controller has not observed generation 2 yet"
    assert ro.httproute_state(_httproute([_parent(accepted=("Unknown", "Pending", ""))]))[0] == ro.WAITING
    assert ro.httproute_state(_httproute([_parent(resolved=None)]))[0] == ro.WAITING
    assert ro.httproute_state(None) == (ro.FAILED, "not found")
    # the parentRef without a namespace is the route's own
    local = _httproute([_parent(ref={"name": "public"})], parent_refs=[{"name": "public"}])
    assert ro.httproute_state(local) == (ro.READY, "")
    assert ro.httproute_state(local, parent_ref={"name": "other"})[0] == ro.WAITING


def test_evaluate_names_httproutes_by_kind():
    route = _httproute([_parent(resolved=("False", "BackendNotFound", "x"))])
    got = ro.evaluate([], [], httproute_names=["ml", "gone"], httproutes=[route])
    assert got["HTTPRoute/ml"][0] == ro.FAILED and got["HTTPRoute/gone"] == (ro.FAILED, "not found")
    assert ro.evaluate([], [], httproute_names=["ml"], httproutes=[route], accepted_only=True)["HTTPRoute/ml"] == (ro.READY, "")
