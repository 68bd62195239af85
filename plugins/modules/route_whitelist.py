#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: route_whitelist
short_description: Set, merge or clear the IP whitelist of OpenShift Routes or NGINX Ingresses
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Manages the IP whitelist annotations of one or more existing Routes
    (C(haproxy.router.openshift.io/ip_allowlist) and C(haproxy.router.openshift.io/ip_whitelist),
    space-separated, the same value in both) or, on plain Kubernetes, Ingresses of the NGINX
    ingress controller (C(nginx.ingress.kubernetes.io/whitelist-source-range), comma-separated).
  - OpenShift routers of 4.17 and later read C(ip_allowlist) when it is set, else C(ip_whitelist);
    older ones read only C(ip_whitelist). Writing both makes every router enforce the list, and
    a value left in one of them by someone else cannot override it.
  - Validates and normalises the entries and writes the one format the router honours; the
    OpenShift router silently ignores a list with any separator but spaces.
  - Refuses a silently open result. An empty whitelist needs O(allow_all=true); O(state=absent)
    clears the annotation on purpose.
  - Only the annotations are changed (a JSON merge patch guarded by the object's
    C(resourceVersion), retried on conflict); C(changed) is true only when a value really
    changes. In check mode the patch is sent as a server-side dry run, so the API server
    still validates it.
  - Talks to the cluster like C(kubernetes.core) modules do, with the same options and
    C(K8S_AUTH_*) environment variables, kubeconfig or in-cluster configuration.
options:
  namespace:
    description: Namespace (OpenShift project) of the objects.
    type: str
    required: true
  name:
    description: Name of the Route or Ingress, or a list of names. All must exist; none is changed if one is missing.
    type: list
    elements: str
    required: true
  kind:
    description: V(Route) (OpenShift) or V(Ingress) (Kubernetes with the NGINX ingress controller).
    type: str
    choices: [Route, Ingress]
    default: Route
  whitelist:
    description:
      - IPv4/IPv6 addresses and CIDRs, as a list or as one string with any common separator.
      - Required with O(state=present) unless O(allow_all=true).
    type: raw
  state:
    description:
      - V(present) sets the whitelist to exactly O(whitelist).
      - V(merged) adds O(whitelist) to the entries already in the annotation (the union,
        normalised; an entry is never removed). Use it to admit one more address without
        knowing the rest.
      - V(absent) removes the annotation, which opens the objects to every address.
    type: str
    choices: [present, merged, absent]
    default: present
  allow_all:
    description:
      - Allow a result with no entries (the annotation is then removed, which opens the objects to everyone).
        Without it, an empty result is an error, so that a typo or an empty variable never
        opens a route silently.
    type: bool
    default: false
  max_entries:
    description:
      - The most entries the result may have. Defaults to no limit. The OpenShift docs
        name 61 for Routes, but the router has accepted longer lists since 2018.
  annotation_key:
    description:
      - Manage only this annotation. Defaults to both C(haproxy.router.openshift.io/ip_allowlist)
        and C(haproxy.router.openshift.io/ip_whitelist) for Routes, and to
        C(nginx.ingress.kubernetes.io/whitelist-source-range) for Ingresses.
    type: str
extends_documentation_fragment:
  - csc.mlflow.ip_whitelist
  - csc.mlflow.k8s_module
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Sends the patch as a server-side dry run.
  diff_mode:
    support: full
    description: Shows the annotation of each object before and after.
seealso:
  - module: kubernetes.core.k8s
  - name: OpenShift route-specific annotations
    description: The router reads the whitelist from this annotation.
    link: https://docs.redhat.com/en/documentation/openshift_container_platform/4.20/html/ingress_and_load_balancing/routes
"""

EXAMPLES = r"""
- name: Allow only the campus network and one VPN address
  csc.mlflow.route_whitelist:
    namespace: my-project
    name: [mlflow, mlflow-models]
    whitelist:
      - 193.166.0.0/16
      - 2001:708::/32
      - 86.50.1.7

- name: Admit one more address, keeping what is there
  csc.mlflow.route_whitelist:
    namespace: my-project
    name: mlflow
    state: merged
    whitelist: "203.0.113.10"

- name: A long list from a file, merging overlapping networks to stay short
  csc.mlflow.route_whitelist:
    namespace: my-project
    name: mlflow
    whitelist: "{{ lookup('ansible.builtin.file', 'allowed.txt') }}"
    collapse: true

- name: Open the route to everyone, on purpose
  csc.mlflow.route_whitelist:
    namespace: my-project
    name: mlflow
    state: absent

- name: Same on plain Kubernetes with ingress-nginx, credentials from K8S_AUTH_* (AWX)
  csc.mlflow.route_whitelist:
    namespace: my-namespace
    name: mlflow
    kind: Ingress
    whitelist: 10.0.0.0/8, 192.0.2.1
"""

RETURN = r"""
whitelist:
  description: The normalised entries written to the first object (empty when the annotation was removed).
  returned: success
  type: list
  elements: str
  sample: ["86.50.1.7", "193.166.0.0/16", "2001:708::/32"]
annotation_keys:
  description: The annotations that were managed.
  returned: success
  type: list
  elements: str
  sample: [haproxy.router.openshift.io/ip_allowlist, haproxy.router.openshift.io/ip_whitelist]
objects:
  description: One item per object (named so because Ansible reserves C(results) for loops).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Object name.
      type: str
      sample: mlflow
    before:
      description: The annotation value before (null when there was none).
      type: str
      sample: 10.0.0.0/8
    after:
      description: The annotation value after (null when removed).
      type: str
      sample: 10.0.0.0/8 192.0.2.1
    whitelist:
      description: The entries after.
      type: list
      elements: str
      sample: ["10.0.0.0/8", "192.0.2.1"]
    changed:
      description: Whether this object's annotation changed.
      type: bool
      sample: true
"""

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

from ansible_collections.csc.mlflow.plugins.module_utils.route_whitelist import (
    ARGUMENT_SPEC,
    RouteWhitelistError,
    apply,
    validate,
)


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(ARGUMENT_SPEC)
    return spec


def main():
    if not HAS_K8S_CORE:
        from ansible.module_utils.basic import AnsibleModule

        module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
        module.fail_json(
            msg=missing_required_lib("the kubernetes.core collection (>= 5.0.0)"), exception=K8S_CORE_IMPORT_ERROR
        )
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        validate(module.params)
    except RouteWhitelistError as exc:
        module.fail_json(msg=str(exc))
    try:
        client = get_api_client(module)
    except CoreException as exc:
        module.fail_from_exception(exc)
    except Exception as exc:  # pylint: disable=broad-except  # connection refused, TLS, ...
        module.fail_json(msg="could not reach the Kubernetes API: %s" % exc, exception=traceback.format_exc())
    try:
        result = apply(client, module.params)
    except RouteWhitelistError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
