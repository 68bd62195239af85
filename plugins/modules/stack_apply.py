#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: stack_apply
short_description: Apply complete objects server-side, in order, as one field manager
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Applies O(definition) in its order, each object server-side (C(kubectl apply --server-side)) as
    O(field_manager), taking over with O(force_conflicts) fields another manager set.
  - An object that was applied client-side (C(kubernetes.core.k8s) with C(apply=true), C(kubectl apply),
    as earlier versions of this collection did) is taken over first, as C(kubectl apply --server-side)
    does - the fields its client-side managers own are moved to O(field_manager) - so that a field the
    definition no longer has is removed by the apply.
  - Every object but a Secret carries the C(kubectl.kubernetes.io/last-applied-configuration) annotation
    with the applied definition, which the collection's plan compares; a Secret never does (it would hold
    the values).
  - Runs in the controller (an action plugin) with the collection's one API client
    (C(plugins/plugin_utils/k8s_client.py)) and connects like C(kubernetes.core) modules do (kubeconfig,
    context, C(K8S_AUTH_*), in-cluster configuration).
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
    description: The field manager of the server-side applies.
    type: str
    default: csc.mlflow
  force_conflicts:
    description: Take over fields another manager owns; without it such a conflict fails the task.
    type: bool
    default: true
extends_documentation_fragment:
  - csc.mlflow.k8s_module
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Every apply is a server-side dry run; nothing is taken over.
  diff_mode:
    support: full
    description: Each object's result has C(diff) (C(before), C(after)), without what the API server sets.
notes:
  - The result is shaped as C(kubernetes.core.k8s)'s - one object's result at the top level, several under
    C(result.results) - so that a task can change to this module and back.
seealso:
  - module: kubernetes.core.k8s
  - module: csc.mlflow.stack_read
"""

EXAMPLES = r"""
- name: Apply the stack
  csc.mlflow.stack_apply:
    namespace: my-project
    definition: "{{ objects }}"
  register: applied

- name: Apply the Secrets
  csc.mlflow.stack_apply:
    namespace: my-project
    definition: "{{ secrets }}"
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
