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

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_UP, Decimal, InvalidOperation, localcontext

# --------------------------------------------------------------------------------------------
# Quantities: k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity,
# parseQuantityString) and suffix.go (suffixHandler.interpret).
# --------------------------------------------------------------------------------------------

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# <sign><digits>[.<digits>]<suffix>: the suffix is a binary or decimal SI suffix or e/E<exponent>.
_QUANTITY = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NANO = Decimal("1e-9")
# resource.MaxMilliValue (math.go): above it MilliValue() overflows and Value() is compared.
_MAX_MILLI_VALUE = ((1 << 63) - 1) // 1000


class QuantityError(ValueError):
    """A value that Kubernetes would not accept as a resource quantity."""


def parse_quantity(value):
    """The exact Decimal value of a Kubernetes quantity ('100m', '1.5Gi', '1e3', 2, 0.5).

    As ParseQuantity does, a non-zero value more precise than 1n is rounded up (away from 0)
    to 1n. Raises QuantityError for what the API server would refuse.
    """
    if isinstance(value, bool) or value is None:
        raise QuantityError("%r is not a quantity" % (value,))
    with localcontext() as ctx:
        ctx.prec = 100
        try:
            return _parse(value)
        except InvalidOperation:
            raise QuantityError("%r is out of range" % (value,))


def _parse(value):
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = str(value).strip()
        match = _QUANTITY.match(text)
        if not text or not match or (match.group(2) == "" and not match.group(3)):
            raise QuantityError("%r is not a quantity" % (value,))
        sign, whole, fraction, suffix = match.groups()
        digits = Decimal("%s%s.%s" % (sign, whole or "0", fraction or "0"))
        if suffix in _BINARY:
            number = digits * (Decimal(2) ** _BINARY[suffix])
        elif suffix in _DECIMAL:
            number = digits.scaleb(_DECIMAL[suffix])
        elif len(suffix) > 1 and suffix[0] in "eE" and re.match(r"^[-+]?[0-9]+$", suffix[1:]):
            number = digits.scaleb(int(suffix[1:]))
        else:
            raise QuantityError("%r has an unknown suffix %r" % (value, suffix))
    if not number.is_finite():
        raise QuantityError("%r is not a quantity" % (value,))
    if number == 0:
        return Decimal(0)
    if number != number.quantize(_NANO, rounding=ROUND_UP):
        number = number.quantize(_NANO, rounding=ROUND_UP)
    return number.normalize()


def _scaled_ceil(value, scale):
    """Quantity.ScaledValue: ceil(value / 10^scale) as an int."""
    return int(value.scaleb(-scale).to_integral_value(rounding=ROUND_CEILING))


def _comparable(*values):
    """requestLimitEnforcedValues (limitranger/admission.go): MilliValue() when none overflows, else Value()."""
    if all(_scaled_ceil(v, 0) <= _MAX_MILLI_VALUE for v in values):
        return [_scaled_ceil(v, -3) for v in values]
    return [_scaled_ceil(v, 0) for v in values]


def _below(value, bound):
    observed, enforced = _comparable(value, bound)
    return observed < enforced


def _above(value, bound):
    observed, enforced = _comparable(value, bound)
    return observed > enforced


def _is_cpu(resource):
    return resource in ("cpu", "requests.cpu", "limits.cpu")


def _is_count(resource):
    return resource in ("pods", "persistentvolumeclaims", "services", "configmaps", "secrets") or resource.startswith("count/") or resource.endswith(
        ".storageclass.storage.k8s.io/persistentvolumeclaims")


def _plain(number):
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_quantity(value, resource="memory"):
    """A readable quantity that parse_quantity reads back exactly.

    CPU in cores when whole, else in m (or u/n below 1m); counts as integers; memory and
    storage with the suffix that writes them shortest, binary first (1536Mi, 16Gi, 1G),
    else in bytes.
    """
    number = parse_quantity(value)
    with localcontext() as ctx:
        ctx.prec = 100
        if number < 0:
            return "-" + format_quantity(-number, resource)
        if number == 0:
            return "0"
        integral = number == number.to_integral_value()
        if integral and not _is_cpu(resource) and not _is_count(resource):
            whole = int(number)
            candidates = [str(whole)]
            for suffix, exponent in sorted(_BINARY.items(), key=lambda kv: kv[1]):
                if whole % (1 << exponent) == 0:
                    candidates.append("%d%s" % (whole >> exponent, suffix))
            for suffix, exponent in sorted(_DECIMAL.items(), key=lambda kv: kv[1]):
                if exponent > 0 and whole % (10 ** exponent) == 0:
                    candidates.append("%d%s" % (whole // 10 ** exponent, suffix))
            return min(candidates, key=len)  # the first of the shortest: bytes, then binary suffixes
        if integral:
            return str(int(number))
        for suffix in ("m", "u", "n"):
            scaled = number.scaleb(-_DECIMAL[suffix])
            if scaled == scaled.to_integral_value():
                return "%d%s" % (int(scaled), suffix)
        return _plain(number)


def _ratio_text(number):
    with localcontext() as ctx:
        ctx.prec = 30
        return _plain(number.quantize(Decimal("0.01"), rounding=ROUND_UP)) if number != number.to_integral_value() else str(int(number))


# --------------------------------------------------------------------------------------------
# Helpers over plain API objects (dicts as kubernetes.core returns them).
# --------------------------------------------------------------------------------------------


def _get(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _name(obj):
    return _get(obj, "metadata", "name") or "?"


def _resource_list(mapping):
    """A ResourceList {name: Decimal} from an API object's map of quantities."""
    return dict((str(k), parse_quantity(v)) for k, v in (mapping or {}).items() if v is not None)


def _add(total, other, times=1):
    for k, v in other.items():
        total[k] = total.get(k, Decimal(0)) + v * times
    return total


def _max_into(total, other):
    # maxResourceList (limitranger/admission.go; component-helpers resource/helpers.go)
    for k, v in other.items():
        if k not in total or v > total[k]:
            total[k] = v
    return total


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
        self.requests = _resource_list(resources.get("requests"))
        self.limits = _resource_list(resources.get("limits"))
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


def _container_limit_items(limit_ranges, kind):
    for lr in limit_ranges or []:
        for item in _get(lr, "spec", "limits") or []:
            if (item or {}).get("type") == kind:
                yield _name(lr), item


def _apply_limit_range_defaults(container, limit_ranges):
    """LimitRanger mutation (plugin/pkg/admission/limitranger/admission.go).

    defaultContainerResourceRequirements + mergeContainerResources, once per LimitRange of
    the namespace (LimitRanger.runLimitFunc): `default` fills missing limits, `defaultRequest`
    missing requests, for containers and init containers alike.
    """
    for lr_name, item in _container_limit_items(limit_ranges, "Container"):
        for field, source in (("limits", "default"), ("requests", "defaultRequest")):
            have = getattr(container, field)
            for resource, value in _resource_list(item.get(source)).items():
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


def _aggregate(containers, field, pod_spec):
    """PodRequests / PodLimits (k8s.io/component-helpers/resource/helpers.go).

    Regular containers and sidecars (restartable init containers) add up; each classic init
    container counts with the sidecars started before it, and the pod takes, per resource,
    the larger of the sum and the largest init container. Pod-level resources (feature
    PodLevelResources, on since 1.34) override cpu and memory; spec.overhead is added.
    """
    total = {}
    for c in containers:
        if not c.init:
            _add(total, getattr(c, field))
    sidecars = {}
    init_max = {}
    for c in containers:
        if not c.init:
            continue
        if c.sidecar:
            _add(total, getattr(c, field))
            _add(sidecars, getattr(c, field))
            _max_into(init_max, sidecars)
        else:
            _max_into(init_max, _add(dict(sidecars), getattr(c, field)))
    _max_into(total, init_max)
    pod_level = _resource_list(_get(pod_spec, "resources", field))
    for resource in ("cpu", "memory"):
        if resource in pod_level:
            total[resource] = pod_level[resource]
    overhead = _resource_list((pod_spec or {}).get("overhead"))
    for resource, value in overhead.items():
        # PodLimits adds the overhead only to limits that are set and non-zero.
        if field == "requests" or total.get(resource):
            total[resource] = total.get(resource, Decimal(0)) + value
    return total


def _compute_usage(requests, limits):
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
    usage = _compute_usage(_aggregate(containers, "requests", pod_spec), _aggregate(containers, "limits", pod_spec))
    usage["count/pods"] = Decimal(1)
    return usage


# --------------------------------------------------------------------------------------------
# Messages.
# --------------------------------------------------------------------------------------------


def _lookups(workload, container=None, pvc=False):
    """The keys of `variables` naming what to change: '<workload>/<container>', '<workload>/*', '<pvc>'."""
    if pvc:
        return [workload]
    return (["%s/%s" % (workload, container)] if container else []) + ["%s/*" % workload]


def _variable(variables, workload, container=None, pvc=False):
    for key in _lookups(workload, container, pvc):
        if (variables or {}).get(key):
            return variables[key]
    return None


def _field_fix(variable, field):
    """'mlflow_tracking_resources.limits.memory', or the field alone when no variable is known."""
    return "%s.%s" % (variable, field) if variable else "%s of the container's resources" % field


# --------------------------------------------------------------------------------------------
# LimitRange validation: PodValidateLimitFunc, PersistentVolumeClaimValidateLimitFunc
# (plugin/pkg/admission/limitranger/admission.go) and request <= limit
# (ValidateContainerResourceRequirements, pkg/apis/core/validation/validation.go).
# --------------------------------------------------------------------------------------------


def _container_problems(c, limit_ranges, variables):
    problems = []
    var = _variable(variables, c.workload, c.name)
    # ValidateContainerResourceRequirements: a request above its limit makes the pod invalid
    # (e.g. a request written without a limit, and a smaller LimitRange default limit).
    for resource in sorted(set(c.requests) & set(c.limits)):
        if c.requests[resource] > c.limits[resource]:
            problems.append("%s: %s request %s is above its limit %s, which Kubernetes refuses: set %s >= %s or lower %s" % (
                c.subject, resource, c.value_text("requests", resource), c.value_text("limits", resource),
                _field_fix(var, "limits." + resource), format_quantity(c.requests[resource], resource), _field_fix(var, "requests." + resource)))
    for lr_name, item in _container_limit_items(limit_ranges, "Container"):
        where = "LimitRange %s" % lr_name
        for resource, minimum in sorted(_resource_list(item.get("min")).items()):
            # minConstraint
            shown = format_quantity(minimum, resource)
            if resource not in c.requests:
                problems.append("%s: no %s request, and %s has a minimum %s: set %s" % (
                    c.subject, resource, where, shown, _field_fix(var, "requests." + resource)))
                continue
            for field in ("requests", "limits"):
                have = getattr(c, field)
                if resource in have and _below(have[resource], minimum):
                    problems.append("%s: %s %s %s is below the minimum %s of %s: raise %s" % (
                        c.subject, resource, field[:-1], c.value_text(field, resource), shown, where, _field_fix(var, field + "." + resource)))
        for resource, maximum in sorted(_resource_list(item.get("max")).items()):
            # maxConstraint
            shown = format_quantity(maximum, resource)
            if resource not in c.limits:
                problems.append("%s: no %s limit, and %s has a maximum %s: set %s" % (c.subject, resource, where, shown, _field_fix(var, "limits." + resource)))
                continue
            for field in ("limits", "requests"):
                have = getattr(c, field)
                if resource in have and _above(have[resource], maximum):
                    problems.append("%s: %s %s %s is above the maximum %s of %s: lower %s" % (
                        c.subject, resource, field[:-1], c.value_text(field, resource), shown, where, _field_fix(var, field + "." + resource)))
        for resource, ratio in sorted(_resource_list(item.get("maxLimitRequestRatio")).items()):
            problems.extend(_ratio_problem(c.subject, c, resource, ratio, where, var))
    return problems


def _ratio_problem(subject, have, resource, ratio, where, var):
    """limitRequestRatioConstraint: limit / request must not exceed maxLimitRequestRatio.

    Kubernetes compares float64(limit) / float64(request) * 1000 with the ratio's MilliValue();
    this compares the same integers exactly: limit * 1000 <= ratio_milli * request.
    """
    shown = _ratio_text(ratio)
    fix = "set %s so that limits.%s <= %s x requests.%s" % (var or "the container's resources", resource, shown, resource)
    request, limit = have.requests.get(resource), have.limits.get(resource)
    values = [v for v in (request, limit) if v is not None]
    milli = all(_scaled_ceil(v, 0) <= _MAX_MILLI_VALUE for v in values + [ratio])
    unit = -3 if milli else 0
    req_c = _scaled_ceil(request, unit) if request is not None else 0
    lim_c = _scaled_ceil(limit, unit) if limit is not None else 0
    if not req_c:
        return ["%s: no %s request (or 0), and %s allows a limit at most %sx the request: %s" % (subject, resource, where, shown, fix)]
    if not lim_c:
        return ["%s: no %s limit (or 0), and %s allows a limit at most %sx the request: %s" % (subject, resource, where, shown, fix)]
    scale, enforced = (1000, _scaled_ceil(ratio, -3)) if _scaled_ceil(ratio, 0) <= _MAX_MILLI_VALUE else (1, _scaled_ceil(ratio, 0))
    if lim_c * scale <= enforced * req_c:
        return []
    need_request = Decimal(-(-lim_c * scale // enforced)).scaleb(unit)
    allow_limit = Decimal(enforced * req_c // scale).scaleb(unit)
    return ["%s: %s limit %s is %sx its request %s; %s allows at most %sx: %s (e.g. requests.%s %s, or limits.%s %s)" % (
        subject, resource, have.value_text("limits", resource), _ratio_text(Decimal(lim_c) / Decimal(req_c)), have.value_text("requests", resource),
        where, shown, fix, resource, format_quantity(need_request, resource), resource, format_quantity(allow_limit, resource))]


class _PodSums(object):
    """A pod's aggregated requests and limits, shaped like a Container for the constraint checks."""

    def __init__(self, containers, pod_spec):
        self.requests = _aggregate(containers, "requests", pod_spec)
        self.limits = _aggregate(containers, "limits", pod_spec)

    def value_text(self, field, resource):
        return format_quantity(getattr(self, field)[resource], resource)


def _pod_problems(workload, containers, pod_spec, limit_ranges, variables):
    """LimitRange type Pod: min/max/maxLimitRequestRatio on the pod's aggregated requests and limits."""
    items = list(_container_limit_items(limit_ranges, "Pod"))
    if not items:
        return []
    sums = _PodSums(containers, pod_spec)
    var = _variable(variables, workload) or "the resources of its containers"
    subject = "%s (pod)" % workload
    problems = []
    for lr_name, item in items:
        where = "LimitRange %s (type Pod)" % lr_name
        for resource, minimum in sorted(_resource_list(item.get("min")).items()):
            if resource not in sums.requests:
                problems.append("%s: no container requests %s, and %s has a minimum %s: set requests.%s in %s" % (
                    subject, resource, where, format_quantity(minimum, resource), resource, var))
                continue
            for field in ("requests", "limits"):
                have = getattr(sums, field)
                if resource in have and _below(have[resource], minimum):
                    problems.append("%s: the containers' %s.%s add up to %s, below the minimum %s of %s: raise them (%s)" % (
                        subject, field, resource, sums.value_text(field, resource), format_quantity(minimum, resource), where, var))
        for resource, maximum in sorted(_resource_list(item.get("max")).items()):
            if resource not in sums.limits:
                problems.append("%s: no container limits %s, and %s has a maximum %s: set limits.%s in %s" % (
                    subject, resource, where, format_quantity(maximum, resource), resource, var))
                continue
            for field in ("limits", "requests"):
                have = getattr(sums, field)
                if resource in have and _above(have[resource], maximum):
                    problems.append("%s: the containers' %s.%s add up to %s, above the maximum %s of %s: lower them (%s)" % (
                        subject, field, resource, sums.value_text(field, resource), format_quantity(maximum, resource), where, var))
        for resource, ratio in sorted(_resource_list(item.get("maxLimitRequestRatio")).items()):
            problems.extend(_ratio_problem(subject, sums, resource, ratio, where, var))
    return problems


def _pvc_problems(pvc, limit_ranges, variables):
    """LimitRange type PersistentVolumeClaim: min and max of spec.resources.requests (never limits)."""
    name = _name(pvc)
    requests = _resource_list(_get(pvc, "spec", "resources", "requests"))
    var = _variable(variables, name, pvc=True)
    fix = var or "spec.resources.requests.storage of the PVC"
    problems = []
    for lr_name, item in _container_limit_items(limit_ranges, "PersistentVolumeClaim"):
        where = "LimitRange %s" % lr_name
        for resource, minimum in sorted(_resource_list(item.get("min")).items()):
            if resource not in requests:
                problems.append("%s (PersistentVolumeClaim): no %s request, and %s has a minimum %s: set %s" % (
                    name, resource, where, format_quantity(minimum, resource), fix))
            elif _below(requests[resource], minimum):
                problems.append("%s (PersistentVolumeClaim): %s request %s is below the minimum %s of %s: raise %s" % (
                    name, resource, format_quantity(requests[resource], resource), format_quantity(minimum, resource), where, fix))
        for resource, maximum in sorted(_resource_list(item.get("max")).items()):
            if resource not in requests:
                problems.append("%s (PersistentVolumeClaim): no %s request, and %s has a maximum %s: set %s" % (
                    name, resource, where, format_quantity(maximum, resource), fix))
            elif _above(requests[resource], maximum):
                problems.append("%s (PersistentVolumeClaim): %s request %s is above the maximum %s of %s: lower %s" % (
                    name, resource, format_quantity(requests[resource], resource), format_quantity(maximum, resource), where, fix))
    return problems


# --------------------------------------------------------------------------------------------
# Workloads: how many pods of which shape a run creates, and at the worst moment.
# --------------------------------------------------------------------------------------------

_POD_OWNERS = ("Deployment", "StatefulSet", "ReplicaSet", "Job", "Pod")
# Live kinds whose pods the run releases; live ReplicaSets and Pods belong to those (not counted twice).
_RELEASED = ("Deployment", "StatefulSet", "Job")


def _pod_spec(obj):
    if obj.get("kind") == "Pod":
        return obj.get("spec") or {}
    return _get(obj, "spec", "template", "spec") or {}


def _desired_pods(obj, replicas):
    kind = obj.get("kind")
    if kind == "Pod":
        return 1
    if kind == "Job":
        # SetDefaults_Job (pkg/apis/batch/v1/defaults.go): parallelism 1; the Job controller runs
        # at most min(parallelism, completions) pods at once.
        parallelism = _get(obj, "spec", "parallelism")
        parallelism = 1 if parallelism is None else int(parallelism)
        completions = _get(obj, "spec", "completions")
        return parallelism if completions is None else min(parallelism, int(completions))
    name = _name(obj)
    if name in (replicas or {}):
        return int(replicas[name])
    count = _get(obj, "spec", "replicas")
    return 1 if count is None else int(count)  # SetDefaults_Deployment / _StatefulSet


def _live_pods(obj):
    """How many pods of a live workload exist now (and are in the quota's `used`)."""
    status = obj.get("status")
    kind = obj.get("kind")
    if kind == "Job":
        return int((status or {}).get("active") or 0) if status is not None else _desired_pods(obj, None)
    if kind == "Pod":
        return 0 if _get(obj, "status", "phase") in ("Succeeded", "Failed") else 1
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
                value = dict((k, _resource_list(v) if k in ("requests", "limits") and isinstance(v, dict) else v) for k, v in value.items())
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
    return _differs(_canonical(_get(obj, "spec", "template") or {}), _canonical(_get(live, "spec", "template") or {}))


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
    strategy = _get(obj, "spec", "strategy") or {}
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
# Quotas: ResourceQuota and OpenShift's (Applied)ClusterResourceQuota.
# --------------------------------------------------------------------------------------------

# pkg/quota/v1/evaluator/core/pods.go validationSet: a quota on any of these makes every
# container (and init container) of a pod state it, after LimitRange defaults. ephemeral-storage
# is deliberately not among them ("do not add more resources to this list!").
REQUIRED_BY_QUOTA = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


class _Quota(object):
    def __init__(self, obj):
        self.kind = obj.get("kind") or "ResourceQuota"
        self.name = _name(obj)
        if self.kind in ("AppliedClusterResourceQuota", "ClusterResourceQuota"):
            spec = _get(obj, "spec", "quota") or {}
            status = _get(obj, "status", "total") or {}
            self.family = "ClusterResourceQuota"
        else:
            spec = obj.get("spec") or {}
            status = obj.get("status") or {}
            self.family = "ResourceQuota"
        # The quota admission compares against status.hard (apiserver resourcequota/controller.go
        # checkRequest); spec.hard stands in before the quota controller has filled the status.
        self.hard = _resource_list(status.get("hard") or spec.get("hard"))
        self.used = _resource_list(status.get("used"))
        self.scopes = list(spec.get("scopes") or [])
        self.selectors = list(_get(spec, "scopeSelector", "matchExpressions") or [])

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


def _missing_required(quota, containers, pod_spec):
    """podEvaluator.Constraints: 'must specify <resource> for: <containers>'."""
    if _get(pod_spec, "resources", "requests") or _get(pod_spec, "resources", "limits"):
        return {}  # pod-level resources set: the check is skipped (PodLevelResources)
    required = [r for r in REQUIRED_BY_QUOTA if r in quota.hard]
    missing = {}
    for c in containers:
        have = _compute_usage(c.requests, c.limits)
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
            live_pvcs[_name(obj)] = obj
        elif isinstance(obj, dict) and obj.get("kind") in _RELEASED:
            live_index[(obj.get("kind"), _name(obj))] = obj

    workloads = []
    pvcs = []
    counted_jobs = set()
    for obj in objects or []:
        if not isinstance(obj, dict):
            continue
        kind = obj.get("kind")
        if kind == "PersistentVolumeClaim":
            pvcs.append(obj)
            found.extend(_pvc_problems(obj, limit_ranges, variables))
            continue
        if kind not in _POD_OWNERS:
            continue
        name = _name(obj)
        spec = _pod_spec(obj)
        containers = pod_containers(name, spec, limit_ranges)
        count = _desired_pods(obj, replicas)
        if count > 0:  # a workload scaled to 0 creates no pod the LimitRanger could refuse
            for c in containers:
                found.extend(_container_problems(c, limit_ranges, variables))
            found.extend(_pod_problems(name, containers, spec, limit_ranges, variables))
        if kind == "Job" and reserve:
            # The run starts its Jobs one after the other (store user, schema upgrade, artifact copy, backup): the
            # reserve stands for the largest of them, these included.
            continue
        if kind == "Job":
            counted_jobs.add(name)
        keys = [_lookups(name, c.name) for c in containers]
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
            found.extend(_container_problems(c, limit_ranges, variables))
        found.extend(_pod_problems(name, containers, spec, limit_ranges, variables))
        count = int((extra or {}).get("replicas", 1))
        workloads.append(_Workload(name, spec, containers, count, keys=[_lookups(name, c.name) for c in containers]))

    released_pods = []
    for (kind, name), obj in sorted(live_index.items()):
        if kind == "Job" and name not in counted_jobs:
            continue
        spec = _pod_spec(obj)
        containers = pod_containers(name, spec, limit_ranges)
        released_pods.append((spec, containers, pod_usage(containers, spec), _live_pods(obj)))

    seen = set()
    for raw in quotas or []:
        quota = _Quota(raw or {})
        if (quota.family, quota.name) in seen or not quota.hard:
            continue
        seen.add((quota.family, quota.name))
        found.extend(_quota_problems(quota, workloads, pvcs, live_pvcs, released_pods, variables))
    return _unique(found)


def _unique(lines):
    out = []
    for line in lines:
        if line not in out:
            out.append(line)
    return out


def _pvc_usage(pvc, live_pvc):
    """pvcEvaluator.Usage (pkg/quota/v1/evaluator/core/persistent_volume_claims.go), as a delta
    over the live PVC on an update (resourcequota/controller.go: SubtractWithNonNegativeResult)."""
    storage_class = _get(pvc, "spec", "storageClassName")
    size = _resource_list(_get(pvc, "spec", "resources", "requests")).get("storage")
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


def _quota_problems(quota, workloads, pvcs, live_pvcs, released_pods, variables):
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
        missing = _missing_required(quota, w.containers, w.pod_spec)
        for resource in sorted(missing):
            for c in missing[resource]:
                field = resource if "." in resource else "requests." + resource
                found.append("%s: no %s after the LimitRange defaults, and %s tracks %s, so Kubernetes refuses the pod (must specify %s): set %s" % (
                    c.subject, field, quota.title, resource, resource, _field_fix(_variable(variables, c.workload, c.name), field)))
        label = "%s%s" % (w.label, " (x%d)" % w.count if w.count > 1 else "")
        for resource, amount in w.peak.items():
            charge(resource, label + (" during its rolling update" if w.rolling else ""), amount, w.keys)
    if not quota.pods_only:
        for pvc in pvcs:
            name = _name(pvc)
            usage = _pvc_usage(pvc, live_pvcs[name] if name in live_pvcs else None)
            for resource, amount in usage.items():
                charge(resource, "%s (PVC)" % name if name not in live_pvcs else "%s (PVC growth)" % name, amount, [_lookups(name, pvc=True)])

    released = {}
    for spec, containers, usage, count in released_pods:
        if quota.matches_pod(spec, containers):
            _add(released, usage, count)
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
