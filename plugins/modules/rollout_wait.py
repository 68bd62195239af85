#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_wait
short_description: Wait for Deployments and Routes together and fail fast with the reason
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Waits until every named Deployment has rolled out (observed, all replicas updated, ready and
    available, no old replicas left; a Deployment scaled to 0 is ready when it has no pods) and
    every named Route is admitted by a router (C(Admitted=True) in C(status.ingress)).
  - Fails as soon as one of them cannot get there, with one line per object taken from the
    cluster, instead of waiting out a timeout. A ReplicaSet that cannot create pods
    (C(FailedCreate), for example a LimitRange or quota refusal) gives the API server's
    message, with its numbers. A pod of the current ReplicaSet whose container waits with
    C(ImagePullBackOff), C(InvalidImageName), C(CreateContainerConfigError),
    C(CreateContainerError), C(RunContainerError), C(CrashLoopBackOff) (with the last exit code),
    or C(ErrImagePull) once the pull has failed twice or is backed off, fails. So do a Deployment
    condition C(ReplicaFailure=True) or C(Progressing=False) (C(ProgressDeadlineExceeded)), a
    Route a router refuses (C(HostAlreadyClaimed), ...), and an object that does not exist.
  - Unschedulable pods (C(FailedScheduling)) and everything else that is merely slow keep it
    waiting; the last reason is reported if O(timeout) passes.
  - Each poll makes one list request per kind (Deployments, ReplicaSets, Pods, Events, Routes)
    in O(namespace); ReplicaSets, Pods and Events are listed only while a Deployment is not
    ready. It never writes.
  - Talks to the cluster like C(kubernetes.core) modules do, with the same options and
    C(K8S_AUTH_*) environment variables, kubeconfig or in-cluster configuration.
options:
  namespace:
    description: Namespace (OpenShift project) of the objects.
    type: str
    required: true
  deployments:
    description: Names of the Deployments to wait for.
    type: list
    elements: str
    default: []
  routes:
    description:
      - Names of the OpenShift Routes to wait for (admitted by a router).
      - A cluster without an OpenShift router never admits a Route; leave this empty there.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait in all for everything to be ready.
    type: int
    default: 600
  poll:
    description: Seconds between two polls.
    type: float
    default: 1
  settle:
    description:
      - Seconds a failure must persist (on every poll) before the module fails. V(0) fails on
        the first poll that sees it.
      - C(ErrImagePull) needs no settle time (it counts as a failure only once it repeated);
        set this when containers are expected to crash a few times while a dependency starts
        (C(CrashLoopBackOff) is a failure at once otherwise).
    type: float
    default: 0
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description:
      - Reads the state once and returns it without waiting. Fails only on a failure other than
        a missing object (in check mode an earlier task's create was a dry run).
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
  action_group:
    support: full
    description: Use C(group/csc.mlflow.k8s) in C(module_defaults) to set the connection options once.
    membership: [csc.mlflow.k8s]
  platform:
    support: full
    description: Runs wherever the kubernetes Python library can reach the API server.
    platforms: posix
requirements:
  - kubernetes >= 24.2.0 (Python library)
  - PyYAML >= 3.11
notes:
  - The module never reports C(changed).
  - A failure that heals within O(settle) (a pod that crashes once while its database starts)
    does not fail the task.
seealso:
  - module: kubernetes.core.k8s
  - module: csc.mlflow.route_whitelist
"""

EXAMPLES = r"""
- name: Wait for the whole stack, failing fast with the reason
  csc.mlflow.rollout_wait:
    namespace: my-project
    deployments: [mlflow-postgresql, mlflow-minio, mlflow, mlflow-nginx]
    routes: [mlflow, mlflow-minio]
    timeout: 300

- name: Tolerate a container that crashes while PostgreSQL starts
  csc.mlflow.rollout_wait:
    namespace: my-project
    deployments: [mlflow]
    settle: 30

- name: Connection options from module_defaults (credentials from K8S_AUTH_* as in AWX)
  module_defaults:
    group/csc.mlflow.k8s:
      validate_certs: true
  block:
    - name: Wait
      csc.mlflow.rollout_wait:
        namespace: my-project
        deployments: [mlflow]
      register: rollout
"""

RETURN = r"""
ready:
  description: The objects that are ready, as C(Kind/name).
  returned: always
  type: list
  elements: str
  sample: ["Deployment/mlflow", "Route/mlflow"]
failures:
  description:
    - The objects that failed, C(Kind/name) to a one-line reason.
    - Not named C(failed), which Ansible reserves for the task's own outcome.
  returned: always
  type: dict
  sample:
    Deployment/mlflow-postgresql: >-
      ReplicaSet mlflow-postgresql-6d9f8c7b5: FailedCreate: pods "mlflow-postgresql-6d9f8c7b5-x2k4q" is forbidden:
      maximum cpu usage per Container is 4, but limit is 8
waiting:
  description: The objects neither ready nor failed, C(Kind/name) to what they wait for.
  returned: always
  type: dict
  sample:
    Route/mlflow: not admitted by any router yet (no status.ingress for host mlflow.2.rahtiapp.fi)
elapsed:
  description: Seconds spent.
  returned: always
  type: float
  sample: 1.52
polls:
  description: How many times the state was read.
  returned: always
  type: int
  sample: 3
"""

import time
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

    HAS_K8S_CORE = True
    K8S_CORE_IMPORT_ERROR = None
except ImportError:
    HAS_K8S_CORE = False
    K8S_CORE_IMPORT_ERROR = traceback.format_exc()
    AUTH_ARG_SPEC = {}

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
except ImportError:  # pragma: no cover - the module reports the missing library

    class DynamicApiError(Exception):
        pass

    class ResourceNotFoundError(Exception):
        pass

from ansible_collections.csc.mlflow.plugins.module_utils.rollout import (
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
    timeout=dict(type="int", default=600),
    poll=dict(type="float", default=1.0),
    settle=dict(type="float", default=0.0),
)

KINDS = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Pod": "v1",
    "Event": "v1",
    "Route": "route.openshift.io/v1",
}
REQUEST_TIMEOUT = 20


class RolloutError(Exception):
    pass


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(ARGUMENT_SPEC)
    return spec


def _api_message(exc):
    summary_ = getattr(exc, "summary", None)
    if callable(summary_):
        try:
            return summary_()
        except Exception:  # pylint: disable=broad-except
            pass
    return str(exc)


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
                self.resources[kind] = self.client.resource(kind, KINDS[kind])
            except ResourceNotFoundError:
                hint = " (not an OpenShift cluster? leave routes empty)" if kind == "Route" else ""
                raise RolloutError("the API %s %s is not served by this cluster%s" % (KINDS[kind], kind, hint))
        return self.resources[kind]

    def list(self, kind):
        resource = self.resource(kind)
        result = self.client.get(resource, namespace=self.namespace, _request_timeout=REQUEST_TIMEOUT)
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        return data.get("items") or []

    def read(self, deployments, routes):
        lists = dict(deployments=[], replicasets=[], pods=[], events=[], routes=[])
        if deployments:
            lists["deployments"] = self.list("Deployment")
            pending = evaluate(deployments, [], deployments=lists["deployments"])
            if any(status != READY for status, _reason in pending.values()):
                lists["replicasets"] = self.list("ReplicaSet")
                lists["pods"] = self.list("Pod")
                try:
                    lists["events"] = self.list("Event")
                except DynamicApiError:
                    lists["events"] = []  # no right to read events: conditions and statuses still tell a lot
        if routes:
            lists["routes"] = self.list("Route")
        return evaluate(deployments, routes, **lists)


def wait(reader, params, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Poll until all is ready, something failed (for ``settle`` s) or ``timeout`` passed; -> (result, msg)."""
    deployments = _unique(params.get("deployments"))
    routes = _unique(params.get("routes"))
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
            states = reader.read(deployments, routes)
            api_error = None
        except DynamicApiError as exc:
            status = getattr(exc, "status", None)
            if status in (401, 403):
                raise RolloutError("could not read %s: %s" % (params["namespace"], _api_message(exc)))
            api_error = one_line("API error: %s" % _api_message(exc))
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
        sleep(max(0.0, min(poll, timeout - elapsed)))
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


def main():
    if not HAS_K8S_CORE:
        from ansible.module_utils.basic import AnsibleModule

        module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
        module.fail_json(
            msg=missing_required_lib("the kubernetes.core collection (>= 5.0.0)"), exception=K8S_CORE_IMPORT_ERROR
        )
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not _unique(params["deployments"]) and not _unique(params["routes"]):
        module.fail_json(msg="name at least one Deployment (deployments) or Route (routes)")
    if params["timeout"] < 0 or params["poll"] <= 0 or params["settle"] < 0:
        module.fail_json(msg="timeout and settle must not be negative and poll must be positive")
    try:
        client = get_api_client(module)
    except CoreException as exc:
        module.fail_from_exception(exc)
    except Exception as exc:  # pylint: disable=broad-except  # connection refused, TLS, ...
        module.fail_json(msg="could not reach the Kubernetes API: %s" % exc, exception=traceback.format_exc())
    try:
        result, msg = wait(Reader(client, params["namespace"]), params, check_mode=module.check_mode)
    except RolloutError as exc:
        module.fail_json(msg=str(exc), changed=False)
    if msg:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
