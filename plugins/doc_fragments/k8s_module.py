# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Attributes and requirements shared by the modules that talk to the cluster
    # (route_whitelist, rollout_wait); each module documents its own check_mode and diff_mode.
    DOCUMENTATION = r"""
options: {}
attributes:
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
"""
