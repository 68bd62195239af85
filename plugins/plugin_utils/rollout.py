# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Is a rollout ready, still waiting, or failed -- and why, in one line.

Pure functions over objects as the API server returns them (plain dicts, no I/O):

* ``deployment_state(deployment, replicasets, pods, events)`` -> ``(status, reason)``
* ``route_state(route)`` -> ``(status, reason)``
* ``httproute_state(route, parent_ref=None, resolved_refs=True)`` -> ``(status, reason)``

``status`` is one of ``READY``, ``WAITING``, ``FAILED``. ``reason`` is one line
(empty when ready). The module ``csc.mlflow.rollout_wait`` polls the cluster and
calls these.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

READY = "ready"
WAITING = "waiting"
FAILED = "failed"

REVISION = "deployment.kubernetes.io/revision"

# Container waiting reasons that do not go away by themselves.
FATAL_WAITING = frozenset(
    [
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
        "RunContainerError",
        "ErrImageNeverPull",
    ]
)
# ErrImagePull is the first failed pull; the kubelet backs off and retries. It is
# fatal once it repeats (ImagePullBackOff, a BackOff event, a Failed event counted twice).
RETRIED_WAITING = frozenset(["ErrImagePull"])

MAX_REASON = 1000


def one_line(text, limit=MAX_REASON):
    """``text`` with all whitespace runs (newlines included) made single spaces, cut to ``limit``."""
    text = re.sub(r"\s+", " ", str(text or "")).strip()
    if limit and len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def parse_time(value):
    """RFC 3339 time of the API (``2026-01-02T03:04:05Z``, fractions allowed) -> naive UTC datetime."""
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_UTC).replace(tzinfo=None)
        return value
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$", str(value).strip())
    if not m:
        return None
    out = datetime.datetime.strptime(m.group(1) + "T" + m.group(2), "%Y-%m-%dT%H:%M:%S")
    if m.group(3):
        out = out.replace(microsecond=int((m.group(3) + "000000")[:6]))
    tz = m.group(4)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        out -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return out


class _UTCZone(datetime.tzinfo):
    def utcoffset(self, dt):
        return datetime.timedelta(0)

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "UTC"


_UTC = _UTCZone()


# ---------------------------------------------------------------------------- helpers
def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _status(obj):
    return (obj or {}).get("status") or {}


def _spec(obj):
    return (obj or {}).get("spec") or {}


def _name(obj):
    return _meta(obj).get("name") or ""


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _condition(obj, ctype):
    for cond in _status(obj).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def owned_by(obj, owner):
    """Whether ``owner`` is among ``obj``'s ownerReferences (by uid, else by kind and name)."""
    uid = _meta(owner).get("uid")
    kind = owner.get("kind")
    name = _name(owner)
    for ref in _meta(obj).get("ownerReferences") or []:
        if uid and ref.get("uid"):
            if ref.get("uid") == uid:
                return True
        elif ref.get("name") == name and (not kind or ref.get("kind") == kind):
            return True
    return False


def event_time(event):
    """When an event last happened (series, lastTimestamp, eventTime, firstTimestamp or creation)."""
    series = event.get("series") or {}
    for value in (
        series.get("lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("eventTime"),
        event.get("firstTimestamp"),
        _meta(event).get("creationTimestamp"),
    ):
        t = parse_time(value)
        if t is not None:
            return t
    return None


def event_count(event):
    series = event.get("series") or {}
    return max(_int(event.get("count"), 1), _int(series.get("count"), 0))


def events_for(events, kind, name, reasons=None, since=None):
    """Events about ``kind``/``name`` (optionally with one of ``reasons``, not older than ``since``), newest first."""
    out = []
    for ev in events or []:
        inv = ev.get("involvedObject") or ev.get("regarding") or {}
        if inv.get("kind") != kind or inv.get("name") != name:
            continue
        if reasons and ev.get("reason") not in reasons:
            continue
        t = event_time(ev)
        # Second granularity on both sides: an event of the same second counts.
        if since is not None and t is not None and t < since.replace(microsecond=0):
            continue
        out.append((t or datetime.datetime.min, ev))
    out.sort(key=lambda pair: pair[0], reverse=True)
    return [ev for _t, ev in out]


def _event_message(event):
    msg = event.get("message") or event.get("note") or ""
    # The ReplicaSet controller prefixes the apiserver's refusal with "Error creating: ".
    return re.sub(r"^Error creating:\s*", "", msg.strip())


# ---------------------------------------------------------------------------- deployments
def newest_replicaset(deployment, replicasets):
    """The Deployment's current ReplicaSet: owned by it, revision annotation equal to the Deployment's."""
    revision = (_meta(deployment).get("annotations") or {}).get(REVISION)
    if not revision:
        return None
    for rs in replicasets or []:
        if owned_by(rs, deployment) and (_meta(rs).get("annotations") or {}).get(REVISION) == revision:
            return rs
    return None


def replicaset_failure(rs, events):
    """One-line FailedCreate reason of a ReplicaSet, or None.

    The ReplicaSet's own ``ReplicaFailure`` condition is the current state (the controller
    removes it once a pod is created); events are the fallback, only when the ReplicaSet
    still lacks pods and only events not older than the ReplicaSet.
    """
    name = _name(rs)
    cond = _condition(rs, "ReplicaFailure")
    if cond and cond.get("status") == "True":
        return one_line("ReplicaSet %s: %s: %s" % (name, cond.get("reason") or "ReplicaFailure", _event_message(cond)))
    wanted = _int(_spec(rs).get("replicas"), 1)
    have = _int(_status(rs).get("replicas"))
    if have >= wanted:
        return None
    since = parse_time(_meta(rs).get("creationTimestamp"))
    for ev in events_for(events, "ReplicaSet", name, reasons=("FailedCreate",), since=since):
        return one_line("ReplicaSet %s: FailedCreate: %s" % (name, _event_message(ev)))
    return None


def _pulls_repeated(pod, container_name, events):
    """Evidence that a pull failed more than once: a BackOff event, a Failed event counted twice."""
    for ev in events_for(events, "Pod", _name(pod)):
        inv = ev.get("involvedObject") or {}
        field = inv.get("fieldPath") or ""
        if field and container_name and ("{%s}" % container_name) not in field:
            continue
        if ev.get("reason") == "BackOff" and "pull" in (ev.get("message") or "").lower():
            return True
        if ev.get("reason") in ("Failed", "ErrImagePull") and event_count(ev) >= 2:
            return True
    return False


def container_failure(pod, status, events, init=False):
    """(fatal, text) for one containerStatuses entry; text None when the container is fine."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if not reason:
        return False, None
    cname = status.get("name") or "?"
    what = "init container" if init else "container"
    text = "pod %s: %s %s: %s" % (_name(pod), what, cname, reason)
    message = waiting.get("message")
    if reason == "CrashLoopBackOff":
        last = (status.get("lastState") or {}).get("terminated") or {}
        bits = []
        if last.get("exitCode") is not None:
            bits.append("exit code %s" % last.get("exitCode"))
        if last.get("reason"):
            bits.append(last["reason"])
        if last.get("message"):
            bits.append(last["message"])
        bits.append("%s restarts" % _int(status.get("restartCount")))
        text += ": last termination: %s" % ", ".join(bits)
    elif message:
        text += ": %s" % message
    if reason in FATAL_WAITING:
        return True, one_line(text)
    if reason in RETRIED_WAITING:
        return _pulls_repeated(pod, cname, events), one_line(text)
    return False, one_line(text)  # ContainerCreating, PodInitializing, ...


def pod_state(pod, events):
    """(status, reason) of one pod of the current ReplicaSet; (READY, "") when it is ready."""
    name = _name(pod)
    waiting = []
    for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
        for cs in _status(pod).get(key) or []:
            fatal, text = container_failure(pod, cs, events, init=init)
            if fatal:
                return FAILED, text
            if text:
                waiting.append(text)
    ready = _condition(pod, "Ready")
    if ready and ready.get("status") == "True":
        return READY, ""
    sched = _condition(pod, "PodScheduled")
    if sched and sched.get("status") == "False":
        return WAITING, one_line("pod %s: %s: %s" % (name, sched.get("reason") or "Unschedulable", sched.get("message") or ""))
    if not _spec(pod).get("nodeName"):
        for ev in events_for(events, "Pod", name, reasons=("FailedScheduling",)):
            return WAITING, one_line("pod %s: FailedScheduling: %s" % (name, ev.get("message") or ""))
    if waiting:
        return WAITING, waiting[0]
    phase = _status(pod).get("phase") or "Pending"
    return WAITING, "pod %s: %s, not ready" % (name, phase)


def deployment_ready(deployment):
    """The Deployment's rollout is complete: observed, every replica updated, ready and available, no old ones."""
    meta, spec, st = _meta(deployment), _spec(deployment), _status(deployment)
    if _int(st.get("observedGeneration"), -1) < _int(meta.get("generation"), 0):
        return False
    want = _int(spec.get("replicas"), 1)
    replicas = _int(st.get("replicas"))
    if want == 0:
        return replicas == 0
    return (
        replicas == want
        and _int(st.get("updatedReplicas")) == want
        and _int(st.get("readyReplicas")) == want
        and _int(st.get("availableReplicas")) == want
    )


def deployment_state(deployment, replicasets=(), pods=(), events=()):
    """(status, reason) of one Deployment from its ReplicaSets, pods and the namespace's events.

    ``replicasets``, ``pods`` and ``events`` may hold the whole namespace; only what
    belongs to ``deployment`` is looked at.
    """
    if not deployment:
        return FAILED, "not found"
    meta, spec, st = _meta(deployment), _spec(deployment), _status(deployment)
    if meta.get("deletionTimestamp"):
        return FAILED, "being deleted"
    if deployment_ready(deployment):
        return READY, ""
    generation = _int(meta.get("generation"), 0)
    if _int(st.get("observedGeneration"), -1) < generation:
        # Conditions and counters still describe the previous spec.
        return WAITING, "the deployment controller has not observed generation %d yet" % generation

    rs = newest_replicaset(deployment, replicasets)
    if rs is not None:
        failure = replicaset_failure(rs, events)
        if failure:
            return FAILED, failure
        first_wait = None
        for pod in pods or []:
            if not owned_by(pod, rs) or _meta(pod).get("deletionTimestamp"):
                continue
            status, reason = pod_state(pod, events)
            if status == FAILED:
                return FAILED, reason
            if status == WAITING and first_wait is None:
                first_wait = reason
    else:
        first_wait = None

    cond = _condition(deployment, "ReplicaFailure")
    if cond and cond.get("status") == "True":
        return FAILED, one_line("%s: %s" % (cond.get("reason") or "ReplicaFailure", _event_message(cond)))
    cond = _condition(deployment, "Progressing")
    if cond and cond.get("status") == "False":
        reason = one_line("%s: %s" % (cond.get("reason") or "Progressing=False", cond.get("message") or ""))
        if first_wait:
            reason = one_line("%s (%s)" % (reason, first_wait))
        return FAILED, reason

    if spec.get("paused"):
        return WAITING, "the Deployment is paused"
    if first_wait:
        return WAITING, first_wait
    want = _int(spec.get("replicas"), 1)
    if rs is None:
        return WAITING, "no ReplicaSet for revision %s yet" % ((meta.get("annotations") or {}).get(REVISION) or "?")
    replicas = _int(st.get("replicas"))
    if replicas > want:
        return WAITING, "%d old replica(s) pending termination" % (replicas - want)
    return WAITING, "%d of %d updated replicas available (%d ready)" % (
        min(_int(st.get("availableReplicas")), _int(st.get("updatedReplicas"))),
        want,
        _int(st.get("readyReplicas")),
    )


# ---------------------------------------------------------------------------- routes
def route_state(route):
    """(status, reason) of a Route from the routers' reports in ``status.ingress``.

    Admitted=True by a router -> ready; Admitted=False by any router (HostAlreadyClaimed,
    ...) -> failed; no report for the current ``spec.host`` yet -> waiting.
    """
    if not route:
        return FAILED, "not found"
    host = _spec(route).get("host")
    admitted = False
    seen = False
    for ingress in _status(route).get("ingress") or []:
        if host and ingress.get("host") and ingress.get("host") != host:
            continue  # a report about a previous host
        router = ingress.get("routerName") or "?"
        for cond in ingress.get("conditions") or []:
            if cond.get("type") != "Admitted":
                continue
            seen = True
            if cond.get("status") == "True":
                admitted = True
            elif cond.get("status") == "False":
                text = "not admitted by router %s" % router
                if cond.get("reason"):
                    text += ": %s" % cond["reason"]
                if cond.get("message"):
                    text += ": %s" % cond["message"]
                return FAILED, one_line(text)
    if admitted:
        return READY, ""
    if seen:
        return WAITING, "admission pending"
    return WAITING, "not admitted by any router yet (no status.ingress%s)" % (" for host %s" % host if host else "")


# ---------------------------------------------------------------------------- HTTPRoutes (Gateway API)
GATEWAY_GROUP = "gateway.networking.k8s.io"


def _parent_key(ref, route_namespace):
    """A parentRef with the API's defaults filled in: (group, kind, namespace, name, sectionName)."""
    ref = ref or {}
    return (ref.get("group") or GATEWAY_GROUP, ref.get("kind") or "Gateway", ref.get("namespace") or route_namespace,
            ref.get("name") or "", ref.get("sectionName") or "")


def httproute_state(route, parent_ref=None, resolved_refs=True):
    """(status, reason) of an HTTPRoute from its Gateway controller's report in ``status.parents``.

    The report on ``parent_ref`` (default: the route's first parentRef) for the route's current generation decides:
    ``Accepted=False`` -> failed with the controller's reason and message (NoMatchingParent, NotAllowedByListeners,
    NoMatchingListenerHostname, ...); ``Accepted=True`` -> ready, or with ``resolved_refs`` only once
    ``ResolvedRefs=True`` too (``False``: failed, e.g. BackendNotFound, RefNotPermitted); no report, or one about an
    older generation -> waiting.
    """
    if not route:
        return FAILED, "not found"
    namespace = _meta(route).get("namespace") or ""
    refs = _spec(route).get("parentRefs") or []
    ours = _parent_key(parent_ref if parent_ref is not None else (refs[0] if refs else {}), namespace)
    gateway = "%s %s/%s%s" % (ours[1], ours[2], ours[3], (" listener %s" % ours[4]) if ours[4] else "")
    generation = _int(_meta(route).get("generation"), 0)
    report = None
    for parent in _status(route).get("parents") or []:
        if _parent_key(parent.get("parentRef"), namespace) == ours:
            report = parent
            break
    if report is None:
        return WAITING, "no report of the Gateway's controller on %s yet (status.parents)" % gateway
    conditions = dict((c.get("type"), c) for c in report.get("conditions") or [])
    accepted = conditions.get("Accepted")
    if accepted is None or accepted.get("status") not in ("True", "False"):
        return WAITING, "acceptance by %s pending" % gateway
    if _int(accepted.get("observedGeneration"), generation) < generation:
        return WAITING, "the Gateway's controller has not observed generation %d yet" % generation
    if accepted.get("status") == "False":
        return FAILED, one_line("not accepted by %s: %s: %s"
                                % (gateway, accepted.get("reason") or "Accepted=False", accepted.get("message") or ""))
    if not resolved_refs:
        return READY, ""
    resolved = conditions.get("ResolvedRefs")
    if resolved is None or resolved.get("status") not in ("True", "False") or \
            _int(resolved.get("observedGeneration"), generation) < generation:
        return WAITING, "references not resolved by %s yet" % gateway
    if resolved.get("status") == "False":
        return FAILED, one_line("references not resolved by %s: %s: %s"
                                % (gateway, resolved.get("reason") or "ResolvedRefs=False", resolved.get("message") or ""))
    return READY, ""


def job_state(job, pods=(), events=()):
    """(status, reason) of a Job: ready when it completed; failed when it failed (its condition's reason and
    message), when the Job controller cannot create its pod (FailedCreate: a quota, a LimitRange, an invalid pod)
    or when a container of one of its pods cannot start (as for a Deployment's pods); waiting otherwise."""
    if not job:
        return FAILED, "not found"
    for ctype, status in (("Failed", FAILED), ("FailureTarget", FAILED)):
        cond = _condition(job, ctype)
        if cond and cond.get("status") == "True":
            return status, one_line("%s: %s" % (cond.get("reason") or ctype, cond.get("message") or ""))
    cond = _condition(job, "Complete")
    if cond and cond.get("status") == "True":
        return READY, ""
    mine = [pod for pod in pods or [] if owned_by(pod, job)]
    for pod in mine:
        status, reason = pod_state(pod, events)
        if status == FAILED:
            return status, reason
    if not mine:
        since = parse_time(_meta(job).get("creationTimestamp"))
        for ev in events_for(events, "Job", _name(job), reasons=("FailedCreate",), since=since):
            return FAILED, one_line("Job %s: FailedCreate: %s" % (_name(job), _event_message(ev)))
    status = _status(job)
    return WAITING, "not complete yet (%d active, %d succeeded)" % (_int(status.get("active")), _int(status.get("succeeded")))


# ---------------------------------------------------------------------------- a whole run
def evaluate(deployment_names, route_names, deployments=(), replicasets=(), pods=(), events=(), routes=(),
             job_names=(), jobs=(), httproute_names=(), httproutes=(), accepted_only=False):
    """``{"Deployment/x": (status, reason), "Route/y": ..., "Job/z": ..., "HTTPRoute/h": ...}`` for the named
    objects (lists of the namespace); HTTPRoutes accepted and their references resolved, or with `accepted_only`
    only accepted (before the Services they name exist)."""
    by_name = dict((_name(d), d) for d in deployments or [])
    out = {}
    for name in deployment_names or []:
        out["Deployment/%s" % name] = deployment_state(by_name.get(name), replicasets, pods, events)
    by_name = dict((_name(r), r) for r in routes or [])
    for name in route_names or []:
        out["Route/%s" % name] = route_state(by_name.get(name))
    by_name = dict((_name(j), j) for j in jobs or [])
    for name in job_names or []:
        out["Job/%s" % name] = job_state(by_name.get(name), pods, events)
    by_name = dict((_name(r), r) for r in httproutes or [])
    for name in httproute_names or []:
        out["HTTPRoute/%s" % name] = httproute_state(by_name.get(name), resolved_refs=not accepted_only)
    return out


class Settler(object):
    """Holds back failures until they have persisted ``settle`` seconds (times from any monotonic clock)."""

    def __init__(self, settle=0):
        self.settle = max(0.0, float(settle or 0))
        self.since = {}

    def update(self, states, now):
        """``states`` as ``evaluate`` returns; -> the failures that have lasted long enough, ``{key: reason}``."""
        confirmed = {}
        for key, (status, reason) in states.items():
            if status != FAILED:
                self.since.pop(key, None)
                continue
            first = self.since.setdefault(key, now)
            if now - first >= self.settle:
                confirmed[key] = reason
        return confirmed


def summary(states, confirmed, timed_out=False, elapsed=0):
    """The module's one message: ``"; ".join("<Kind>/<name>: <reason>")`` (failures first), or None when all is well."""
    parts = ["%s: %s" % (key, confirmed[key]) for key in sorted(confirmed)]
    if timed_out:
        for key in sorted(states):
            status, reason = states[key]
            if status == READY or key in confirmed:
                continue
            parts.append("%s: not ready after %d s: %s" % (key, int(round(elapsed)), reason or status))
    return "; ".join(parts) or None
