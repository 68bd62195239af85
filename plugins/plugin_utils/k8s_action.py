# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What the collection's controller-side API actions (stack_read, stack_apply, rollout_wait) share: their options
checked against their spec, kubernetes.core's connection options passed on to the one client as they are."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import Client


class K8sAction(ActionBase):
    """An action that talks to the API from the controller. Subclasses set ``ARGUMENT_SPEC``."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    ARGUMENT_SPEC = {}

    def task_options(self):
        """``(options, connection)``: the task's own options, validated, and the connection options
        (kubeconfig, context, host, ...: checked by kubernetes.core's get_api_client)."""
        spec = dict(self.ARGUMENT_SPEC)
        spec.update(dict((name, {"type": "raw"}) for name in self._task.args if name not in self.ARGUMENT_SPEC))
        _validation, params = self.validate_argument_spec(argument_spec=spec)
        connection = dict((k, v) for k, v in params.items() if k not in self.ARGUMENT_SPEC)
        return params, connection

    @staticmethod
    def client(connection):
        return Client(connection)
