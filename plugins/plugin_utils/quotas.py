# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Would a quota refuse the run? ResourceQuota and OpenShift's (Applied)ClusterResourceQuota.

pkg/quota/v1/evaluator/core (pods.go, persistent_volume_claims.go) and the apiserver's resourcequota admission,
Kubernetes v1.36: what a pod and a PVC add to a quota's `used`, and which pods a quota's scopes count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from decimal import ROUND_CEILING, Decimal

from ansible_collections.csc.mlflow.plugins.plugin_utils.limit_ranges import field_fix, variable_for, variable_keys
from ansible_collections.csc.mlflow.plugins.plugin_utils.pod_resources import (
    add_into, compute_usage, get_path, object_name, resource_list)
from ansible_collections.csc.mlflow.plugins.plugin_utils.quantity import format_quantity

# --------------------------------------------------------------------------------------------
# Quotas: ResourceQuota and OpenShift's (Applied)ClusterResourceQuota.
# --------------------------------------------------------------------------------------------

# pkg/quota/v1/evaluator/core/pods.go validationSet: a quota on any of these makes every
# container (and init container) of a pod state it, after LimitRange defaults. ephemeral-storage
# is deliberately not among them ("do not add more resources to this list!").
REQUIRED_BY_QUOTA = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


class Quota(object):
    def __init__(self, obj):
        self.kind = obj.get("kind") or "ResourceQuota"
        self.name = object_name(obj)
        if self.kind in ("AppliedClusterResourceQuota", "ClusterResourceQuota"):
            spec = get_path(obj, "spec", "quota") or {}
            status = get_path(obj, "status", "total") or {}
            self.family = "ClusterResourceQuota"
        else:
            spec = obj.get("spec") or {}
            status = obj.get("status") or {}
            self.family = "ResourceQuota"
        # The quota admission compares against status.hard (apiserver resourcequota/controller.go
        # checkRequest); spec.hard stands in before the quota controller has filled the status.
        self.hard = resource_list(status.get("hard") or spec.get("hard"))
        self.used = resource_list(status.get("used"))
        self.scopes = list(spec.get("scopes") or [])
        self.selectors = list(get_path(spec, "scopeSelector", "matchExpressions") or [])

    @property
    def title(self):
        return "%s %s" % (self.kind, self.name)

    def matches_pod(self, pod_spec, containers):
        """podMatchesScopeFunc (pkg/quota/v1/evaluator/core/pods.go) for every scope of the quota."""
        terms = [{"scopeName": s, "operator": "Exists"} for s in self.scopes] + self.selectors
        for term in terms:
            scope, operator = term.get("scopeName"), term.get("operator")
            if scope in ("Terminating", "NotTerminating"):
                deadline = (pod_spec or {}).get("activeDeadlineSeconds")
                terminating = deadline is not None and int(deadline) >= 0
                if terminating != (scope == "Terminating"):
                    return False
            elif scope in ("BestEffort", "NotBestEffort"):
                # qos.GetPodQOS: BestEffort when no container requests or limits cpu or memory
                best_effort = not any(r in c.requests or r in c.limits for c in containers for r in ("cpu", "memory"))
                if best_effort != (scope == "BestEffort"):
                    return False
            elif scope == "PriorityClass":
                priority_class = (pod_spec or {}).get("priorityClassName") or ""
                values = term.get("values") or []
                if operator == "Exists" and not priority_class:
                    return False
                if operator == "DoesNotExist" and priority_class:
                    return False
                if operator == "In" and priority_class not in values:
                    return False
                if operator == "NotIn" and priority_class in values:
                    return False
        return True

    @property
    def pods_only(self):
        return bool(self.scopes or self.selectors)


def missing_required(quota, containers, pod_spec):
    """podEvaluator.Constraints: 'must specify <resource> for: <containers>'."""
    if get_path(pod_spec, "resources", "requests") or get_path(pod_spec, "resources", "limits"):
        return {}  # pod-level resources set: the check is skipped (PodLevelResources)
    required = [r for r in REQUIRED_BY_QUOTA if r in quota.hard]
    missing = {}
    for c in containers:
        have = compute_usage(c.requests, c.limits)
        for resource in required:
            if resource not in have:
                missing.setdefault(resource, []).append(c)
    return missing


def _quota_fix(resource, contributors, variables):
    names = []
    for _label, _amount, lookups in contributors:
        for keys in lookups:
            var = next((variables[k] for k in keys if (variables or {}).get(k)), None)
            if var and var not in names:
                names.append(var)
    if resource in ("pods", "count/pods"):
        what = "lower the replicas or the number of workloads"
    elif "persistentvolumeclaims" in resource:
        what = "use fewer PVCs"
    elif "storage" in resource and "ephemeral" not in resource:
        what = "lower the PVC sizes"
    else:
        what = "lower %s" % resource
    return "%s (%s)" % (what, ", ".join(names)) if names else what


def _pvc_usage(pvc, live_pvc):
    """pvcEvaluator.Usage (pkg/quota/v1/evaluator/core/persistent_volume_claims.go), as a delta
    over the live PVC on an update (resourcequota/controller.go: SubtractWithNonNegativeResult)."""
    storage_class = get_path(pvc, "spec", "storageClassName")
    size = resource_list(get_path(pvc, "spec", "resources", "requests")).get("storage")
    usage = {"persistentvolumeclaims": Decimal(1), "count/persistentvolumeclaims": Decimal(1)}
    if size is not None:
        usage["requests.storage"] = size.to_integral_value(rounding=ROUND_CEILING)
    if storage_class:
        prefix = "%s.storageclass.storage.k8s.io/" % storage_class
        usage[prefix + "persistentvolumeclaims"] = Decimal(1)
        if size is not None:
            usage[prefix + "requests.storage"] = usage["requests.storage"]
    if live_pvc is None:
        return usage
    if not isinstance(live_pvc, dict):
        return {}
    before = _pvc_usage(live_pvc, None)
    return dict((k, v - before.get(k, Decimal(0))) for k, v in usage.items() if v > before.get(k, Decimal(0)))


def quota_problems(quota, workloads, pvcs, live_pvcs, released_pods, variables):
    found = []
    need = {}
    contributors = {}

    def charge(resource, label, amount, keys):
        if resource in quota.hard and amount:
            need[resource] = need.get(resource, Decimal(0)) + amount
            contributors.setdefault(resource, []).append((label, amount, keys))

    for w in workloads:
        if not quota.matches_pod(w.pod_spec, w.containers):
            continue
        missing = missing_required(quota, w.containers, w.pod_spec)
        for resource in sorted(missing):
            for c in missing[resource]:
                field = resource if "." in resource else "requests." + resource
                found.append("%s: no %s after the LimitRange defaults, and %s tracks %s, so Kubernetes refuses the pod (must specify %s): set %s" % (
                    c.subject, field, quota.title, resource, resource, field_fix(variable_for(variables, c.workload, c.name), field)))
        label = "%s%s" % (w.label, " (x%d)" % w.count if w.count > 1 else "")
        for resource, amount in w.peak.items():
            charge(resource, label + (" during its rolling update" if w.rolling else ""), amount, w.keys)
    if not quota.pods_only:
        for pvc in pvcs:
            name = object_name(pvc)
            usage = _pvc_usage(pvc, live_pvcs[name] if name in live_pvcs else None)
            for resource, amount in usage.items():
                charge(resource, "%s (PVC)" % name if name not in live_pvcs else "%s (PVC growth)" % name, amount, [variable_keys(name, pvc=True)])

    released = {}
    for spec, containers, usage, count in released_pods:
        if quota.matches_pod(spec, containers):
            add_into(released, usage, count)
    for resource in sorted(need):
        hard = quota.hard[resource]
        others = max(Decimal(0), quota.used.get(resource, Decimal(0)) - released.get(resource, Decimal(0)))
        left = hard - others
        if need[resource] <= left:
            continue
        parts = ", ".join("%s %s" % (label, format_quantity(amount, resource)) for label, amount, _keys in contributors[resource])
        used_text = "%s are used by other workloads" % format_quantity(others, resource) if others else "nothing else uses it"
        ask = "ask CSC for more quota" if quota.family == "ClusterResourceQuota" else "ask the cluster administrators for more quota"
        found.append("the run needs %s %s (%s), %s allows %s and %s: %s left; %s or %s" % (
            resource, format_quantity(need[resource], resource), parts, quota.title, format_quantity(hard, resource), used_text,
            format_quantity(max(left, Decimal(0)), resource), _quota_fix(resource, contributors[resource], variables), ask))
    return found
