# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Would a LimitRange refuse a container, a pod or a PVC of the run? One line per problem, naming what to change.

PodValidateLimitFunc and PersistentVolumeClaimValidateLimitFunc (plugin/pkg/admission/limitranger/admission.go)
and request <= limit (ValidateContainerResourceRequirements), Kubernetes v1.36.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from decimal import Decimal

from ansible_collections.csc.mlflow.plugins.plugin_utils.pod_resources import (
    aggregate, container_limit_items, get_path, object_name, resource_list)
from ansible_collections.csc.mlflow.plugins.plugin_utils.quantity import (
    MAX_MILLI_VALUE, above, below, format_quantity, ratio_text, scaled_ceil)

# --------------------------------------------------------------------------------------------
# Messages.
# --------------------------------------------------------------------------------------------


def variable_keys(workload, container=None, pvc=False):
    """The keys of `variables` naming what to change: '<workload>/<container>', '<workload>/*', '<pvc>'."""
    if pvc:
        return [workload]
    return (["%s/%s" % (workload, container)] if container else []) + ["%s/*" % workload]


def variable_for(variables, workload, container=None, pvc=False):
    for key in variable_keys(workload, container, pvc):
        if (variables or {}).get(key):
            return variables[key]
    return None


def field_fix(variable, field):
    """'mlflow_tracking_resources.limits.memory', or the field alone when no variable is known."""
    return "%s.%s" % (variable, field) if variable else "%s of the container's resources" % field


# minConstraint and maxConstraint: the LimitRange key, the field a bound needs a value of, the fields it bounds
# (in the order Kubernetes checks them), the test that breaks it, and the words of the message.
BOUNDS = (
    ("min", "requests", ("requests", "limits"), below, "below", "minimum", "raise"),
    ("max", "limits", ("limits", "requests"), above, "above", "maximum", "lower"),
)


# --------------------------------------------------------------------------------------------
# LimitRange validation: PodValidateLimitFunc, PersistentVolumeClaimValidateLimitFunc
# (plugin/pkg/admission/limitranger/admission.go) and request <= limit
# (ValidateContainerResourceRequirements, pkg/apis/core/validation/validation.go).
# --------------------------------------------------------------------------------------------


def container_problems(c, limit_ranges, variables):
    problems = []
    var = variable_for(variables, c.workload, c.name)
    # ValidateContainerResourceRequirements: a request above its limit makes the pod invalid
    # (e.g. a request written without a limit, and a smaller LimitRange default limit).
    for resource in sorted(set(c.requests) & set(c.limits)):
        if c.requests[resource] > c.limits[resource]:
            problems.append("%s: %s request %s is above its limit %s, which Kubernetes refuses: set %s >= %s or lower %s" % (
                c.subject, resource, c.value_text("requests", resource), c.value_text("limits", resource),
                field_fix(var, "limits." + resource), format_quantity(c.requests[resource], resource), field_fix(var, "requests." + resource)))
    for lr_name, item in container_limit_items(limit_ranges, "Container"):
        where = "LimitRange %s" % lr_name
        for key, needed, fields, beyond, side, bound_name, fix in BOUNDS:
            for resource, bound in sorted(resource_list(item.get(key)).items()):
                shown = format_quantity(bound, resource)
                if resource not in getattr(c, needed):
                    problems.append("%s: no %s %s, and %s has a %s %s: set %s" % (
                        c.subject, resource, needed[:-1], where, bound_name, shown, field_fix(var, needed + "." + resource)))
                    continue
                for field in fields:
                    have = getattr(c, field)
                    if resource in have and beyond(have[resource], bound):
                        problems.append("%s: %s %s %s is %s the %s %s of %s: %s %s" % (
                            c.subject, resource, field[:-1], c.value_text(field, resource), side, bound_name, shown, where, fix,
                            field_fix(var, field + "." + resource)))
        for resource, ratio in sorted(resource_list(item.get("maxLimitRequestRatio")).items()):
            problems.extend(_ratio_problem(c.subject, c, resource, ratio, where, var))
    return problems


def _ratio_problem(subject, have, resource, ratio, where, var):
    """limitRequestRatioConstraint: limit / request must not exceed maxLimitRequestRatio.

    Kubernetes compares float64(limit) / float64(request) * 1000 with the ratio's MilliValue();
    this compares the same integers exactly: limit * 1000 <= ratio_milli * request.
    """
    shown = ratio_text(ratio)
    fix = "set %s so that limits.%s <= %s x requests.%s" % (var or "the container's resources", resource, shown, resource)
    request, limit = have.requests.get(resource), have.limits.get(resource)
    values = [v for v in (request, limit) if v is not None]
    milli = all(scaled_ceil(v, 0) <= MAX_MILLI_VALUE for v in values + [ratio])
    unit = -3 if milli else 0
    req_c = scaled_ceil(request, unit) if request is not None else 0
    lim_c = scaled_ceil(limit, unit) if limit is not None else 0
    if not req_c:
        return ["%s: no %s request (or 0), and %s allows a limit at most %sx the request: %s" % (subject, resource, where, shown, fix)]
    if not lim_c:
        return ["%s: no %s limit (or 0), and %s allows a limit at most %sx the request: %s" % (subject, resource, where, shown, fix)]
    scale, enforced = (1000, scaled_ceil(ratio, -3)) if scaled_ceil(ratio, 0) <= MAX_MILLI_VALUE else (1, scaled_ceil(ratio, 0))
    if lim_c * scale <= enforced * req_c:
        return []
    need_request = Decimal(-(-lim_c * scale // enforced)).scaleb(unit)
    allow_limit = Decimal(enforced * req_c // scale).scaleb(unit)
    return ["%s: %s limit %s is %sx its request %s; %s allows at most %sx: %s (e.g. requests.%s %s, or limits.%s %s)" % (
        subject, resource, have.value_text("limits", resource), ratio_text(Decimal(lim_c) / Decimal(req_c)), have.value_text("requests", resource),
        where, shown, fix, resource, format_quantity(need_request, resource), resource, format_quantity(allow_limit, resource))]


class _PodSums(object):
    """A pod's aggregated requests and limits, shaped like a Container for the constraint checks."""

    def __init__(self, containers, pod_spec):
        self.requests = aggregate(containers, "requests", pod_spec)
        self.limits = aggregate(containers, "limits", pod_spec)

    def value_text(self, field, resource):
        return format_quantity(getattr(self, field)[resource], resource)


def pod_problems(workload, containers, pod_spec, limit_ranges, variables):
    """LimitRange type Pod: min/max/maxLimitRequestRatio on the pod's aggregated requests and limits."""
    items = list(container_limit_items(limit_ranges, "Pod"))
    if not items:
        return []
    sums = _PodSums(containers, pod_spec)
    var = variable_for(variables, workload) or "the resources of its containers"
    subject = "%s (pod)" % workload
    problems = []
    for lr_name, item in items:
        where = "LimitRange %s (type Pod)" % lr_name
        for key, needed, fields, beyond, side, bound_name, fix in BOUNDS:
            for resource, bound in sorted(resource_list(item.get(key)).items()):
                shown = format_quantity(bound, resource)
                if resource not in getattr(sums, needed):
                    problems.append("%s: no container %s %s, and %s has a %s %s: set %s.%s in %s" % (
                        subject, needed, resource, where, bound_name, shown, needed, resource, var))
                    continue
                for field in fields:
                    have = getattr(sums, field)
                    if resource in have and beyond(have[resource], bound):
                        problems.append("%s: the containers' %s.%s add up to %s, %s the %s %s of %s: %s them (%s)" % (
                            subject, field, resource, sums.value_text(field, resource), side, bound_name, shown, where, fix, var))
        for resource, ratio in sorted(resource_list(item.get("maxLimitRequestRatio")).items()):
            problems.extend(_ratio_problem(subject, sums, resource, ratio, where, var))
    return problems


def pvc_problems(pvc, limit_ranges, variables):
    """LimitRange type PersistentVolumeClaim: min and max of spec.resources.requests (never limits)."""
    name = object_name(pvc)
    requests = resource_list(get_path(pvc, "spec", "resources", "requests"))
    var = variable_for(variables, name, pvc=True)
    fix = var or "spec.resources.requests.storage of the PVC"
    problems = []
    for lr_name, item in container_limit_items(limit_ranges, "PersistentVolumeClaim"):
        where = "LimitRange %s" % lr_name
        for key, _needed, _fields, beyond, side, bound_name, verb in BOUNDS:
            for resource, bound in sorted(resource_list(item.get(key)).items()):
                shown = format_quantity(bound, resource)
                if resource not in requests:
                    problems.append("%s (PersistentVolumeClaim): no %s request, and %s has a %s %s: set %s" % (
                        name, resource, where, bound_name, shown, fix))
                elif beyond(requests[resource], bound):
                    problems.append("%s (PersistentVolumeClaim): %s request %s is %s the %s %s of %s: %s %s" % (
                        name, resource, format_quantity(requests[resource], resource), side, bound_name, shown, where, verb, fix))
    return problems
