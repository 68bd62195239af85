#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: stack_read
short_description: Read an MLflow stack, the platform and the namespace's limits in one go
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - With one client, asks the API server for its API groups (unless O(platform=kubernetes)), whether
    the caller may manage ServiceMonitors (when that API is served), the stack's objects by label
    (Secrets, ConfigMaps, Deployments, Jobs, CronJobs, Services, PVCs, NetworkPolicies, PodDisruptionBudgets,
    HorizontalPodAutoscalers, Routes on OpenShift or else Ingresses, ServiceMonitors when allowed) and
    the namespace's LimitRanges and quotas (also AppliedClusterResourceQuotas on OpenShift).
    Nothing is written to the cluster.
  - Runs in the controller (an action plugin) with the collection's one API client
    (C(plugins/plugin_utils/k8s_client.py)) and connects like C(kubernetes.core) modules do (kubeconfig,
    context, C(K8S_AUTH_*), in-cluster configuration).
  - The result holds the stack's Secrets decoded, so use it in a task with C(no_log).
options:
  namespace:
    description: The namespace of the stack.
    type: str
    required: true
  label_selector:
    description: Selects the stack's objects.
    type: str
    required: true
  platform:
    description:
      - C(auto) detects OpenShift from its Route API; C(openshift) or C(kubernetes) say which it is
        (C(kubernetes) asks for no API groups).
    type: str
    default: auto
    choices: [auto, openshift, kubernetes]
  names:
    description: The role's object names (C(_mlflow_names)); with them the result holds C(state) too.
    type: dict
  version_annotation:
    description: The annotation with the deployed MLflow version (with O(names)).
    type: str
extends_documentation_fragment:
  - csc.mlflow.k8s_module
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: Nothing is changed.
"""

EXAMPLES = r"""
- name: Read the stack
  csc.mlflow.stack_read:
    namespace: my-project
    label_selector: app.kubernetes.io/instance=mlflow,app.kubernetes.io/part-of=mlflow
  register: stack
  no_log: true
"""

RETURN = r"""
openshift:
  description: Whether the cluster is OpenShift (Routes instead of Ingresses).
  returned: always
  type: bool
has_builds:
  description: Whether the OpenShift build API (C(build.openshift.io)) is served.
  returned: always
  type: bool
has_monitoring_api:
  description: Whether the Prometheus operator's API (C(monitoring.coreos.com)) is served.
  returned: always
  type: bool
may_monitor:
  description: Whether the caller may list, create, patch and delete ServiceMonitors in the namespace.
  returned: always
  type: bool
limits:
  description: The namespace's C(limit_ranges) and C(quotas) (ResourceQuotas and AppliedClusterResourceQuotas).
  returned: always
  type: dict
live:
  description: The stack's objects keyed by C(Kind/name), Secrets decoded (filter csc.mlflow.live_index).
  returned: always
  type: dict
state:
  description: The current settings of the stack (filter csc.mlflow.stack_state), with O(names).
  returned: always
  type: dict
"""
