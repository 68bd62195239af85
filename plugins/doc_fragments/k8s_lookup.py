# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the lookups that ask the API server (access_review, stack_read).
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description: Path to a kubeconfig (default C(K8S_AUTH_KUBECONFIG), then C(~/.kube/config)).
    type: str
  context:
    description: Context of the kubeconfig (default C(K8S_AUTH_CONTEXT), then the current context).
    type: str
notes:
  - Other connection options of C(kubernetes.core) (host, api_key, validate_certs, ...) are passed on.
requirements:
  - kubernetes >= 24.2.0 (Python library)
"""
