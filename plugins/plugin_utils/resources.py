# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Would the pods and PVCs of a run pass the namespace's LimitRanges and quotas?

Pure logic behind the csc.mlflow.resource_problems filter: before anything changes, the role
renders the run's objects and asks this module which of them Kubernetes (or OpenShift, e.g.
CSC Rahti) would refuse. A pod refused by the LimitRanger or by quota admission is never
created: its ReplicaSet only shows FailedCreate events and a wait on the Deployment times out.

The rules follow Kubernetes v1.36 (k8s.io/kubernetes, k8s.io/apimachinery, k8s.io/apiserver,
k8s.io/component-helpers); each function names the Go code it mirrors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ansible_collections.csc.mlflow.plugins.plugin_utils.limit_ranges import (
    container_problems, pod_problems, pvc_problems, variable_keys)
from ansible_collections.csc.mlflow.plugins.plugin_utils.pod_resources import (
    get_path, object_name, pod_containers, pod_usage, resource_list)
from ansible_collections.csc.mlflow.plugins.plugin_utils.quotas import Quota, quota_problems


def _int_or_percent(value, total, round_up, default):
    """intstr.GetScaledValueFromIntOrPercent (k8s.io/apimachinery/pkg/util/intstr/intstr.go)."""
    if value is None:
        value = default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = Decimal(text[:-1]) * total / 100
        return int(scaled.to_integral_value(rounding=ROUND_CEILING if round_up else ROUND_FLOOR))
    return int(text)


# --------------------------------------------------------------------------------------------
# Workloads: how many pods of which shape a run creates, and at the worst moment.
# --------------------------------------------------------------------------------------------

_POD_OWNERS = ("Deployment", "StatefulSet", "ReplicaSet", "Job", "Pod")
# Live kinds whose pods the run releases; live ReplicaSets and Pods belong to those (not counted twice).
_RELEASED = ("Deployment", "StatefulSet", "Job")


def _pod_spec(obj):
    if obj.get("kind") == "Pod":
        return obj.get("spec") or {}
    return get_path(obj, "spec", "template", "spec") or {}


def _desired_pods(obj, replicas):
    kind = obj.get("kind")
    if kind == "Pod":
        return 1
    if kind == "Job":
        # SetDefaults_Job (pkg/apis/batch/v1/defaults.go): parallelism 1; the Job controller runs
        # at most min(parallelism, completions) pods at once.
        parallelism = get_path(obj, "spec", "parallelism")
        parallelism = 1 if parallelism is None else int(parallelism)
        completions = get_path(obj, "spec", "completions")
        return parallelism if completions is None else min(parallelism, int(completions))
    name = object_name(obj)
    if name in (replicas or {}):
        return int(replicas[name])
    count = get_path(obj, "spec", "replicas")
    return 1 if count is None else int(count)  # SetDefaults_Deployment / _StatefulSet


def _live_pods(obj):
    """How many pods of a live workload exist now (and are in the quota's `used`)."""
    status = obj.get("status")
    kind = obj.get("kind")
    if kind == "Job":
        return int((status or {}).get("active") or 0) if status is not None else _desired_pods(obj, None)
    if kind == "Pod":
        return 0 if get_path(obj, "status", "phase") in ("Succeeded", "Failed") else 1
    if status is not None and "replicas" in status:
        return int(status.get("replicas") or 0)
    if status is not None:
        return 0
    return _desired_pods(obj, None)


def _canonical(node):
    """A pod template with every resource quantity parsed, as the API server canonicalizes them."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "resources" and isinstance(value, dict):
                value = dict((k, resource_list(v) if k in ("requests", "limits") and isinstance(v, dict) else v) for k, v in value.items())
            out[key] = _canonical(value)
        return out
    if isinstance(node, list):
        return [_canonical(v) for v in node]
    return node


def _differs(want, have):
    """Whether a field of `want` has another value in `have` (extra or empty fields in `have` are fine)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return bool(want)
        return any(_differs(v, have.get(k)) if k in have else v not in (None, "", [], {}, 0, False) for k, v in want.items())
    if isinstance(want, list):
        return not isinstance(have, list) or len(want) != len(have) or any(_differs(w, h) for w, h in zip(want, have))
    if isinstance(want, Decimal) or isinstance(have, Decimal):
        return want != have
    return str(want) != str(have)


def _template_changes(obj, live):
    """A new pod-template-hash, hence a rollout (pkg/controller/deployment/sync.go getNewReplicaSet)."""
    return _differs(_canonical(get_path(obj, "spec", "template") or {}), _canonical(get_path(live, "spec", "template") or {}))


def _rollout_peak(obj, live, new, old, desired, live_count):
    """The most a Deployment's pods hold at once while it reaches `desired` new pods.

    Recreate deletes every old pod before creating new ones (rolloutRecreate, pkg/controller/
    deployment/recreate.go): `desired` new pods. RollingUpdate (rolling.go reconcileNewReplicaSet /
    reconcileOldReplicaSets, util.ResolveFenceposts with the 25% defaults of SetDefaults_Deployment)
    keeps at least desired - maxUnavailable pods available: the (k+1)-th new pod must be admitted
    while min(old pods, desired - maxUnavailable - k) old pods still run. With one replica and
    the defaults (maxSurge 1, maxUnavailable 0) old and new pod must fit together, else the
    rollout never progresses.
    """
    final = dict((k, v * desired) for k, v in new.items())
    strategy = get_path(obj, "spec", "strategy") or {}
    if live is None or live_count == 0 or strategy.get("type") == "Recreate" or not _template_changes(obj, live):
        return final, False
    rolling = strategy.get("rollingUpdate") or {}
    surge = _int_or_percent(rolling.get("maxSurge"), desired, True, "25%")
    unavailable = _int_or_percent(rolling.get("maxUnavailable"), desired, False, "25%")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    peak, rolling_peak = dict(final), False
    for k in range(desired):
        old_left = min(live_count, max(desired - unavailable - k, 0))
        for resource in set(new) | set(old):
            during = new.get(resource, Decimal(0)) * (k + 1) + old.get(resource, Decimal(0)) * old_left
            if during > peak.get(resource, Decimal(0)):
                peak[resource] = during
                rolling_peak = True
    return peak, rolling_peak


# --------------------------------------------------------------------------------------------
# The preflight.
# --------------------------------------------------------------------------------------------


class _Workload(object):
    def __init__(self, label, pod_spec, containers, count, peak=None, rolling=False, keys=None):
        self.label = label
        self.pod_spec = pod_spec
        self.containers = containers
        self.count = count
        self.pod = pod_usage(containers, pod_spec)
        self.peak = peak if peak is not None else dict((k, v * count) for k, v in self.pod.items())
        self.rolling = rolling
        self.keys = keys or []


def problems(objects, limit_ranges=None, quotas=None, live=None, replicas=None, reserve=None, variables=None):
    """Why Kubernetes would refuse some pod or PVC of this run; [] when all fit.

    objects: the rendered objects of the run (Deployments, StatefulSets, Jobs, Pods and
      PersistentVolumeClaims count; other kinds are ignored).
    limit_ranges: the namespace's LimitRange objects.
    quotas: ResourceQuota and/or (Applied)ClusterResourceQuota objects, with their status.
    live: the stack's live Deployments, StatefulSets and Jobs (their pods are in the quotas' `used`; released by
      the run where it counts the same workload again: a live Job only when the run's own Job of that name is
      counted, else its active pods keep running beside the run) and live PersistentVolumeClaims (objects, or
      names) that stay.
    replicas: {Deployment name: replicas} overriding spec.replicas.
    reserve: [{'name': ..., 'spec': <pod spec>, 'replicas': 1}] pods the run may start besides
      the objects (e.g. its largest Job). With a reserve, the rendered Jobs are checked against the LimitRanges
      but not counted against the quotas again: the run's Jobs run one at a time, the reserve stands for them.
    variables: {'<workload>/<container>' or '<workload>/*' or '<pvc>': variable to change}.
    Returns one line per problem, in a stable order.
    """
    found = []
    live = list(live or [])
    live_index = {}
    live_pvcs = {}
    for obj in live:
        if isinstance(obj, str):
            live_pvcs[obj] = None
        elif isinstance(obj, dict) and obj.get("kind") == "PersistentVolumeClaim":
            live_pvcs[object_name(obj)] = obj
        elif isinstance(obj, dict) and obj.get("kind") in _RELEASED:
            live_index[(obj.get("kind"), object_name(obj))] = obj

    workloads = []
    pvcs = []
    counted_jobs = set()
    for obj in objects or []:
        if not isinstance(obj, dict):
            continue
        kind = obj.get("kind")
        if kind == "PersistentVolumeClaim":
            pvcs.append(obj)
            found.extend(pvc_problems(obj, limit_ranges, variables))
            continue
        if kind not in _POD_OWNERS:
            continue
        name = object_name(obj)
        spec = _pod_spec(obj)
        containers = pod_containers(name, spec, limit_ranges)
        count = _desired_pods(obj, replicas)
        if count > 0:  # a workload scaled to 0 creates no pod the LimitRanger could refuse
            for c in containers:
                found.extend(container_problems(c, limit_ranges, variables))
            found.extend(pod_problems(name, containers, spec, limit_ranges, variables))
        if kind == "Job" and reserve:
            # The run starts its Jobs one after the other (store user, schema upgrade, artifact copy, backup): the
            # reserve stands for the largest of them, these included.
            continue
        if kind == "Job":
            counted_jobs.add(name)
        keys = [variable_keys(name, c.name) for c in containers]
        workload = _Workload(name, spec, containers, count, keys=keys)
        previous = live_index.get((kind, name))
        if kind == "Deployment" and previous is not None:
            old = pod_usage(pod_containers(name, _pod_spec(previous), limit_ranges), _pod_spec(previous))
            workload.peak, workload.rolling = _rollout_peak(obj, previous, workload.pod, old, count, _live_pods(previous))
        workloads.append(workload)
    for i, extra in enumerate(reserve or []):
        name = (extra or {}).get("name") or "reserve-%d" % i
        spec = (extra or {}).get("spec") or {}
        containers = pod_containers(name, spec, limit_ranges)
        for c in containers:
            found.extend(container_problems(c, limit_ranges, variables))
        found.extend(pod_problems(name, containers, spec, limit_ranges, variables))
        count = int((extra or {}).get("replicas", 1))
        workloads.append(_Workload(name, spec, containers, count, keys=[variable_keys(name, c.name) for c in containers]))

    released_pods = []
    for (kind, name), obj in sorted(live_index.items()):
        if kind == "Job" and name not in counted_jobs:
            continue
        spec = _pod_spec(obj)
        containers = pod_containers(name, spec, limit_ranges)
        released_pods.append((spec, containers, pod_usage(containers, spec), _live_pods(obj)))

    seen = set()
    for raw in quotas or []:
        quota = Quota(raw or {})
        if (quota.family, quota.name) in seen or not quota.hard:
            continue
        seen.add((quota.family, quota.name))
        found.extend(quota_problems(quota, workloads, pvcs, live_pvcs, released_pods, variables))
    return _unique(found)


def _unique(lines):
    out = []
    for line in lines:
        if line not in out:
            out.append(line)
    return out
