#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: stack_apply
short_description: Apply objects as kubernetes.core.k8s apply does, the single-request applies in the controller
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Applies O(definition) in its order exactly as C(kubernetes.core.k8s) with C(state=present) and
    C(apply=true) does (client-side apply with the C(kubectl.kubernetes.io/last-applied-configuration)
    annotation), or with O(field_manager) as it does with C(server_side_apply).
  - Runs in the controller (an action plugin). When the connection is one kubeconfig file's token or
    client certificate (the connections the C(csc.mlflow.stack_read) lookup makes itself), it makes the
    requests that are single requests over a plain HTTPS connection - the create of an object that does not
    exist yet (with its last-applied annotation), and every server-side apply - and runs
    C(kubernetes.core.k8s) for the rest, from the first object that exists on (a three-way merge), so that
    the order is kept. A cold deploy then starts no module process and imports no C(kubernetes) client.
  - Everything runs as C(kubernetes.core.k8s) in check mode, in diff mode, with a task C(environment), on
    a host other than the controller (a connection other than C(local)), and with any connection option
    or C(K8S_AUTH_*) variable besides the kubeconfig and the context.
options:
  namespace:
    description: Namespace (OpenShift project) of the objects that name none.
    type: str
    required: true
  definition:
    description: The objects, complete (C(apiVersion), C(kind), C(metadata.name)), in the order to apply them.
    type: list
    elements: dict
    required: true
  field_manager:
    description:
      - Apply server-side, as this field manager (C(server_side_apply.field_manager) of C(kubernetes.core.k8s)).
      - Empty (the default) applies client-side.
    type: str
    default: ""
  force_conflicts:
    description: With O(field_manager), take over fields another manager owns (C(server_side_apply.force_conflicts)).
    type: bool
    default: false
extends_documentation_fragment:
  - csc.mlflow.k8s_module
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Runs C(kubernetes.core.k8s) in check mode (a dry run).
  diff_mode:
    support: full
    description: Runs C(kubernetes.core.k8s) in diff mode.
notes:
  - The result is shaped as C(kubernetes.core.k8s)'s - one object's result at the top level, several under
    C(result.results) - so that a task can change to this module and back.
seealso:
  - module: kubernetes.core.k8s
  - plugin: csc.mlflow.stack_read
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Apply the stack (client-side apply, as kubernetes.core.k8s apply=true)
  csc.mlflow.stack_apply:
    namespace: my-project
    definition: "{{ objects }}"
  register: applied

- name: Apply the Secrets server-side
  csc.mlflow.stack_apply:
    namespace: my-project
    definition: "{{ secrets }}"
    field_manager: csc-mlflow
    force_conflicts: true
  no_log: true
"""

RETURN = r"""
changed:
  description: Whether some object changed.
  returned: always
  type: bool
method:
  description: C(apply) (one object).
  returned: with one object
  type: str
result:
  description:
    - With one object, the object as the API server returned it.
    - With several, C(results), one entry per object with its C(changed), C(method) and C(result) (and
      C(diff) in diff mode).
  returned: always
  type: dict
"""
