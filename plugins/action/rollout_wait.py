# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for csc.mlflow.rollout_wait: the wait runs in the controller, over the collection's one client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.plugin_utils.rollout_wait import ARGUMENT_SPEC, Reader, RolloutError, _unique, wait
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_action import K8sAction
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import ClientUnavailable


class ActionModule(K8sAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, connection = self.task_options()
        if not (_unique(params["deployments"]) or _unique(params["routes"]) or _unique(params["jobs"])
                or _unique(params["httproutes"])):
            return dict(result, failed=True, msg="name at least one Deployment (deployments), Route (routes), Job (jobs)"
                                                 " or HTTPRoute (httproutes)")
        if params["timeout"] < 0 or params["poll"] <= 0 or params["settle"] < 0:
            return dict(result, failed=True, msg="timeout and settle must not be negative and poll must be positive")
        try:
            client = self.client(connection)
        except ClientUnavailable as exc:
            return dict(result, failed=True, msg="rollout_wait %s" % exc)
        except Exception as exc:  # pylint: disable=broad-except  # kubeconfig, connection, TLS
            return dict(result, failed=True, msg="could not reach the Kubernetes API: %s" % exc)
        try:
            answer, msg = wait(Reader(client.core, params["namespace"]), params, check_mode=self._task.check_mode)
        except RolloutError as exc:
            return dict(result, failed=True, changed=False, msg=str(exc))
        result.update(answer)
        if msg:
            result.update(failed=True, msg=msg)
        return result
