# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Read Deployments, Routes and Jobs from the cluster and wait until they are ready or one fails (controller code:
the csc.mlflow.rollout_wait action plugin).

``Reader`` makes one list request per kind and poll through a kubernetes.core
``K8SClient`` (same auth options and ``K8S_AUTH_*`` variables as kubernetes.core's
modules); ``wait`` polls it and decides with the pure logic of plugin_utils/rollout.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
except ImportError:  # pragma: no cover - the module reports the missing library

    class DynamicApiError(Exception):
        pass

    class ResourceNotFoundError(Exception):
        pass

from ansible_collections.csc.mlflow.plugins.module_utils.k8s_api import api_message
from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import api_version
from ansible_collections.csc.mlflow.plugins.plugin_utils.rollout import (
    FAILED,
    READY,
    WAITING,
    Settler,
    evaluate,
    one_line,
    summary,
)

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    deployments=dict(type="list", elements="str", default=[]),
    routes=dict(type="list", elements="str", default=[]),
    jobs=dict(type="list", elements="str", default=[]),
    httproutes=dict(type="list", elements="str", default=[]),
    httproutes_accepted_only=dict(type="bool", default=False),
    timeout=dict(type="int", default=600),
    poll=dict(type="float", default=1.0),
    settle=dict(type="float", default=0.0),
)

REQUEST_TIMEOUT = 20


class RolloutError(Exception):
    pass


def _unique(names):
    out = []
    for name in names or []:
        if name and name not in out:
            out.append(name)
    return out


class Reader(object):
    """One list request per kind and poll."""

    def __init__(self, client, namespace):
        self.client = client
        self.namespace = namespace
        self.resources = {}

    def resource(self, kind):
        if kind not in self.resources:
            try:
                self.resources[kind] = self.client.resource(kind, api_version(kind))
            except ResourceNotFoundError:
                hint = {"Route": " (not an OpenShift cluster? leave routes empty)",
                        "HTTPRoute": " (no Gateway API on this cluster? leave httproutes empty)"}.get(kind, "")
                raise RolloutError("the API %s %s is not served by this cluster%s" % (api_version(kind), kind, hint))
        return self.resources[kind]

    def list(self, kind):
        resource = self.resource(kind)
        result = self.client.get(resource, namespace=self.namespace, _request_timeout=REQUEST_TIMEOUT)
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        return data.get("items") or []

    def read(self, deployments, routes, jobs=(), httproutes=(), accepted_only=False):
        lists = dict(deployments=[], replicasets=[], pods=[], events=[], routes=[], jobs=[], httproutes=[])
        if deployments:
            lists["deployments"] = self.list("Deployment")
        if jobs:
            lists["jobs"] = self.list("Job")
        pending = evaluate(deployments, [], deployments=lists["deployments"], job_names=jobs, jobs=lists["jobs"])
        if any(status != READY for status, _reason in pending.values()):
            if deployments:
                lists["replicasets"] = self.list("ReplicaSet")
            lists["pods"] = self.list("Pod")
            try:
                lists["events"] = self.list("Event")
            except DynamicApiError:
                lists["events"] = []  # no right to read events: conditions and statuses still tell a lot
        if routes:
            lists["routes"] = self.list("Route")
        if httproutes:
            lists["httproutes"] = self.list("HTTPRoute")
        return evaluate(deployments, routes, job_names=jobs, httproute_names=httproutes, accepted_only=accepted_only,
                        **lists)


# The first wait between two polls; each next one doubles, up to `poll`.
FIRST_WAIT = 0.1


def wait(reader, params, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Poll until all is ready, something failed (for ``settle`` s) or ``timeout`` passed; -> (result, msg)."""
    deployments = _unique(params.get("deployments"))
    routes = _unique(params.get("routes"))
    jobs = _unique(params.get("jobs"))
    httproutes = _unique(params.get("httproutes"))
    accepted_only = bool(params.get("httproutes_accepted_only"))
    timeout = max(0, params.get("timeout") or 0)
    poll = max(0.05, float(params.get("poll") or 1))
    settler = Settler(params.get("settle") or 0)
    start = clock()
    polls = 0
    states = {}
    confirmed = {}
    api_error = None
    while True:
        polls += 1
        try:
            states = reader.read(deployments, routes, jobs, httproutes, accepted_only) if httproutes else \
                reader.read(deployments, routes, jobs)
            api_error = None
        except DynamicApiError as exc:
            status = getattr(exc, "status", None)
            if status in (401, 403):
                raise RolloutError("could not read %s: %s" % (params["namespace"], api_message(exc)))
            api_error = one_line("API error: %s" % api_message(exc))
        except RolloutError:
            raise
        except Exception as exc:  # pylint: disable=broad-except  # connection refused, timeouts, ...
            api_error = one_line("could not reach the Kubernetes API: %s" % exc)
        now = clock()
        elapsed = now - start
        if api_error:
            # keep the last known state, but say why it is not fresher
            if not states:
                states = dict(("Deployment/%s" % n, (WAITING, api_error)) for n in deployments)
                states.update(("Route/%s" % n, (WAITING, api_error)) for n in routes)
                states.update(("Job/%s" % n, (WAITING, api_error)) for n in jobs)
                states.update(("HTTPRoute/%s" % n, (WAITING, api_error)) for n in httproutes)
            if check_mode or elapsed >= timeout:
                raise RolloutError(api_error)
        else:
            confirmed = settler.update(states, now)
        if check_mode:
            confirmed = dict(
                (k, r) for k, (s, r) in states.items() if s == FAILED and r != "not found"
            )
            break
        if confirmed or all(s == READY for s, _r in states.values()):
            break
        if elapsed >= timeout:
            break
        # Waits of 0.1, 0.2, 0.4 s ... up to `poll` (polls at 0.1, 0.3, 0.7, 1.5 s): what ends within a second or two
        # (the stack's Jobs, rollouts under way) is seen soon after, and a long wait (image pulls) asks once per `poll`.
        sleep(max(0.0, min(poll, FIRST_WAIT * 2 ** (polls - 1), timeout - elapsed)))
    elapsed = clock() - start
    result = dict(
        changed=False,
        ready=sorted(k for k, (s, _r) in states.items() if s == READY),
        failures=dict((k, r) for k, (s, r) in states.items() if s == FAILED),
        waiting=dict((k, r) for k, (s, r) in states.items() if s not in (READY, FAILED)),
        elapsed=round(elapsed, 2),
        polls=polls,
    )
    if check_mode:
        return result, summary(states, confirmed) if confirmed else None
    timed_out = not confirmed and any(s != READY for s, _r in states.values())
    if timed_out:
        # failures still inside their settle time are reported with the rest
        confirmed = dict((k, r) for k, (s, r) in states.items() if s == FAILED)
    return result, summary(states, confirmed, timed_out=timed_out, elapsed=elapsed)
