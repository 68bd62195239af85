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
    every named Route is admitted by a router (C(Admitted=True) in C(status.ingress)) and every named
    Job has completed.
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
  - Runs in the controller (an action plugin) with the collection's one API client
    (C(plugins/plugin_utils/k8s_client.py)) and connects like C(kubernetes.core) modules do, with the
    same options and C(K8S_AUTH_*) environment variables, kubeconfig or in-cluster configuration.
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
  jobs:
    description:
      - Names of the Jobs to wait for (condition C(Complete)). A Job whose condition C(Failed) is true fails with its
        reason and message, as does one whose pod cannot start a container (the reasons listed above).
    type: list
    elements: str
    default: []
  httproutes:
    description:
      - Names of the Gateway API HTTPRoutes to wait for, each until the controller of the Gateway its first parentRef
        names reports, for the route's current generation, C(Accepted=True) and C(ResolvedRefs=True) in
        C(status.parents).
      - C(Accepted=False) (C(NoMatchingParent), C(NotAllowedByListeners), C(NoMatchingListenerHostname), ...) and
        C(ResolvedRefs=False) (C(BackendNotFound), C(RefNotPermitted), ...) fail with the controller's reason and message.
    type: list
    elements: str
    default: []
  httproutes_accepted_only:
    description: Wait for the HTTPRoutes' C(Accepted=True) only (before the Services they name exist).
    type: bool
    default: false
  timeout:
    description: Seconds to wait in all for everything to be ready.
    type: int
    default: 600
  poll:
    description: Seconds between two polls (the waits start at 0.1 s and double up to it).
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
  - csc.mlflow.k8s_module
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
    deployments: [mlflow-postgresql, mlflow-versitygw, mlflow, mlflow-nginx]
    routes: [mlflow, mlflow-presigned]
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
