# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""A pod's containers as the API server admits them (defaults, LimitRange defaults) and what the pod uses.

The rules of Kubernetes v1.36 (pkg/apis/core/v1/defaults.go, plugin/pkg/admission/limitranger,
k8s.io/component-helpers/resource, pkg/quota/v1/evaluator/core/pods.go); each function names the Go code it mirrors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from decimal import Decimal

from ansible_collections.csc.mlflow.plugins.plugin_utils.quantity import format_quantity, parse_quantity

# --------------------------------------------------------------------------------------------
# Helpers over plain API objects (dicts as kubernetes.core returns them).
# --------------------------------------------------------------------------------------------


def get_path(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def object_name(obj):
    return get_path(obj, "metadata", "name") or "?"


def resource_list(mapping):
    """A ResourceList {name: Decimal} from an API object's map of quantities."""
    return dict((str(k), parse_quantity(v)) for k, v in (mapping or {}).items() if v is not None)


def add_into(total, other, times=1):
    for k, v in other.items():
        total[k] = total.get(k, Decimal(0)) + v * times
    return total


def _max_into(total, other):
    # maxResourceList (limitranger/admission.go; component-helpers resource/helpers.go)
    for k, v in other.items():
        if k not in total or v > total[k]:
            total[k] = v
    return total


# --------------------------------------------------------------------------------------------
# Containers after the API server's defaulting and the LimitRanger's mutation.
# --------------------------------------------------------------------------------------------


class Container(object):
    """One container of a pod with its effective requests and limits."""

    def __init__(self, workload, spec, init):
        self.workload = workload
        self.name = spec.get("name") or "?"
        self.init = init
        self.sidecar = init and spec.get("restartPolicy") == "Always"
        resources = spec.get("resources") or {}
        self.requests = resource_list(resources.get("requests"))
        self.limits = resource_list(resources.get("limits"))
        self.origin = {}  # ('requests'|'limits', resource) -> why the value is there when not written

    @property
    def subject(self):
        return "%s/%s%s" % (self.workload, self.name, " (init container)" if self.init else "")

    def value_text(self, field, resource):
        text = format_quantity(getattr(self, field)[resource], resource)
        why = self.origin.get((field, resource))
        return "%s (%s)" % (text, why) if why else text


def _default_requests_to_limits(container):
    """SetDefaults_Pod (pkg/apis/core/v1/defaults.go): a missing request defaults to its limit.

    This happens when the API server decodes the Pod the ReplicaSet/Job controller creates,
    before admission: the LimitRange defaultRequest only fills requests still missing after it.
    """
    for resource, value in container.limits.items():
        if resource not in container.requests:
            container.requests[resource] = value
            container.origin[("requests", resource)] = "defaulted to its limit"


def container_limit_items(limit_ranges, kind):
    for lr in limit_ranges or []:
        for item in get_path(lr, "spec", "limits") or []:
            if (item or {}).get("type") == kind:
                yield object_name(lr), item


def _apply_limit_range_defaults(container, limit_ranges):
    """LimitRanger mutation (plugin/pkg/admission/limitranger/admission.go).

    defaultContainerResourceRequirements + mergeContainerResources, once per LimitRange of
    the namespace (LimitRanger.runLimitFunc): `default` fills missing limits, `defaultRequest`
    missing requests, for containers and init containers alike.
    """
    for lr_name, item in container_limit_items(limit_ranges, "Container"):
        for field, source in (("limits", "default"), ("requests", "defaultRequest")):
            have = getattr(container, field)
            for resource, value in resource_list(item.get(source)).items():
                if resource not in have:
                    have[resource] = value
                    container.origin[(field, resource)] = "LimitRange %s %s" % (lr_name, source)


def pod_containers(workload, pod_spec, limit_ranges):
    """The containers and init containers of a pod as admitted: defaults applied."""
    containers = []
    for field, init in (("initContainers", True), ("containers", False)):
        for spec in (pod_spec or {}).get(field) or []:
            container = Container(workload, spec or {}, init)
            _default_requests_to_limits(container)
            _apply_limit_range_defaults(container, limit_ranges)
            containers.append(container)
    return containers


def aggregate(containers, field, pod_spec):
    """PodRequests / PodLimits (k8s.io/component-helpers/resource/helpers.go).

    Regular containers and sidecars (restartable init containers) add up; each classic init
    container counts with the sidecars started before it, and the pod takes, per resource,
    the larger of the sum and the largest init container. Pod-level resources (feature
    PodLevelResources, on since 1.34) override cpu and memory; spec.overhead is added.
    """
    total = {}
    for c in containers:
        if not c.init:
            add_into(total, getattr(c, field))
    sidecars = {}
    init_max = {}
    for c in containers:
        if not c.init:
            continue
        if c.sidecar:
            add_into(total, getattr(c, field))
            add_into(sidecars, getattr(c, field))
            _max_into(init_max, sidecars)
        else:
            _max_into(init_max, add_into(dict(sidecars), getattr(c, field)))
    _max_into(total, init_max)
    pod_level = resource_list(get_path(pod_spec, "resources", field))
    for resource in ("cpu", "memory"):
        if resource in pod_level:
            total[resource] = pod_level[resource]
    overhead = resource_list((pod_spec or {}).get("overhead"))
    for resource, value in overhead.items():
        # PodLimits adds the overhead only to limits that are set and non-zero.
        if field == "requests" or total.get(resource):
            total[resource] = total.get(resource, Decimal(0)) + value
    return total


def compute_usage(requests, limits):
    """podComputeUsageHelper (pkg/quota/v1/evaluator/core/pods.go)."""
    usage = {"pods": Decimal(1)}
    for resource in ("cpu", "memory", "ephemeral-storage"):
        if resource in requests:
            usage[resource] = requests[resource]
            usage["requests." + resource] = requests[resource]
        if resource in limits:
            usage["limits." + resource] = limits[resource]
    for resource, value in requests.items():
        if resource.startswith("hugepages-"):
            usage[resource] = value
            usage["requests." + resource] = value
    return usage


def pod_usage(containers, pod_spec):
    """PodUsageFunc (pkg/quota/v1/evaluator/core/pods.go) of a pod that is not terminal."""
    usage = compute_usage(aggregate(containers, "requests", pod_spec), aggregate(containers, "limits", pod_spec))
    usage["count/pods"] = Decimal(1)
    return usage
