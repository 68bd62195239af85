# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: stack_read
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
  - Connects like C(kubernetes.core.k8s) lookups do (kubeconfig, context or C(K8S_AUTH_*)). When the
    connection is one kubeconfig's token or client certificate, it asks over a plain HTTPS connection
    with that kubeconfig's CA (importing the C(kubernetes) client takes longer than the read); anything
    else (in-cluster, C(K8S_AUTH_HOST)/C(K8S_AUTH_API_KEY), exec plugins, proxies, ...) goes through
    the C(kubernetes) client.
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
  - csc.mlflow.k8s_lookup
"""

EXAMPLES = r"""
- name: Read the stack
  ansible.builtin.set_fact:
    stack: >-
      {{ lookup('csc.mlflow.stack_read', namespace='my-project',
                label_selector='app.kubernetes.io/instance=mlflow,app.kubernetes.io/part-of=mlflow') }}
  no_log: true
"""

RETURN = r"""
_raw:
  description: One dictionary.
  type: list
  elements: dict
  contains:
    openshift:
      description: Whether the cluster is OpenShift (Routes instead of Ingresses).
      type: bool
    has_builds:
      description: Whether the OpenShift build API (C(build.openshift.io)) is served.
      type: bool
    has_monitoring_api:
      description: Whether the Prometheus operator's API (C(monitoring.coreos.com)) is served.
      type: bool
    may_monitor:
      description: Whether the caller may list, create, patch and delete ServiceMonitors in the namespace.
      type: bool
    limits:
      description: The namespace's C(limit_ranges) and C(quotas) (ResourceQuotas and AppliedClusterResourceQuotas).
      type: dict
    live:
      description: The stack's objects keyed by C(Kind/name), Secrets decoded (filter csc.mlflow.live_index).
      type: dict
    state:
      description: The current settings of the stack (filter csc.mlflow.stack_state), with O(names).
      type: dict
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.csc.mlflow.plugins.module_utils.k8s_api import ClientUnavailable, api_message, lookup_client
from ansible_collections.csc.mlflow.plugins.module_utils.stack_read import PLATFORMS, read_stack
from ansible_collections.csc.mlflow.plugins.plugin_utils.kubeconfig_client import DynamicReader, kubeconfig_client


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        namespace = kwargs.pop("namespace", None)
        label_selector = kwargs.pop("label_selector", None)
        platform = kwargs.pop("platform", "auto")
        names = kwargs.pop("names", None)
        version_annotation = kwargs.pop("version_annotation", None)
        if not namespace or not label_selector:
            raise AnsibleError("stack_read: namespace and label_selector are required")
        if platform not in PLATFORMS:
            raise AnsibleError("stack_read: platform must be one of %s, not %r" % (", ".join(PLATFORMS), platform))
        api = None
        try:
            api = kubeconfig_client(kwargs) or DynamicReader(lookup_client(kwargs))
            return [read_stack(api, namespace, label_selector, platform, names, version_annotation)]
        except ClientUnavailable as exc:
            raise AnsibleError("stack_read %s" % exc)
        except Exception as exc:  # pylint: disable=broad-except  # connection, TLS, authentication, RBAC
            raise AnsibleError("stack_read: could not read namespace %s: %s" % (namespace, api_message(exc)))
        finally:
            if api is not None:
                api.close()
