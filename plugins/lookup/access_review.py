# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: access_review
short_description: Ask the API server what the caller may do in a namespace
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Sends one C(SelfSubjectAccessReview) per question and returns, per question, whether the
    caller (the credentials in use) may do it. Nothing is written to the cluster.
  - A question is C(verb resource[/subresource][.group]), for example
    C(create servicemonitors.monitoring.coreos.com); no group means the core API group.
  - Connects like C(kubernetes.core.k8s) lookups do (kubeconfig, context or C(K8S_AUTH_*)).
options:
  _terms:
    description: The questions (a list among them counts as its items).
    type: list
    elements: str
    required: true
  namespace:
    description: The namespace the questions are about.
    type: str
    required: true
extends_documentation_fragment:
  - csc.mlflow.k8s_lookup
"""

EXAMPLES = r"""
- name: May this user manage ServiceMonitors here?
  ansible.builtin.set_fact:
    can_monitor: >-
      {{ query('csc.mlflow.access_review', 'create servicemonitors.monitoring.coreos.com',
               'delete servicemonitors.monitoring.coreos.com', namespace='my-project') is all }}
"""

RETURN = r"""
_list:
  description: One boolean per question, in order.
  type: list
  elements: bool
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.csc.mlflow.plugins.plugin_utils.access_review import review_allowed, review_body
from ansible_collections.csc.mlflow.plugins.module_utils.k8s_api import ClientUnavailable, api_message, lookup_client


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        namespace = kwargs.pop("namespace", None)
        if not namespace:
            raise AnsibleError("access_review: namespace is required")
        questions = [q for term in terms for q in (term if isinstance(term, (list, tuple)) else [term])]
        try:
            bodies = [review_body(question, namespace) for question in questions]
        except ValueError as exc:
            raise AnsibleError("access_review: %s" % exc)
        if not bodies:
            return []
        try:
            client = lookup_client(kwargs)
            reviews = client.resource("SelfSubjectAccessReview", "authorization.k8s.io/v1")
            return [review_allowed(client.create(reviews, body).to_dict()) for body in bodies]
        except ClientUnavailable as exc:
            raise AnsibleError("access_review %s" % exc)
        except Exception as exc:  # pylint: disable=broad-except  # connection, TLS, authentication
            raise AnsibleError("access_review: could not ask the API server: %s" % api_message(exc))
