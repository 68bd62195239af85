# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for csc.mlflow.stack_read: one read of the cluster from the controller (plugin_utils/stack_read.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_read import PLATFORMS, read_stack
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_action import K8sAction
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import ClientUnavailable


class ActionModule(K8sAction):
    ARGUMENT_SPEC = {
        "namespace": {"type": "str", "required": True},
        "label_selector": {"type": "str", "required": True},
        "platform": {"type": "str", "default": "auto", "choices": list(PLATFORMS)},
        "names": {"type": "dict"},
        "version_annotation": {"type": "str"},
    }

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, connection = self.task_options()
        namespace = params["namespace"]
        try:
            result.update(read_stack(self.client(connection), namespace, params["label_selector"], params["platform"],
                                     params["names"], params["version_annotation"]))
        except ClientUnavailable as exc:
            result.update(failed=True, msg="stack_read %s" % exc)
        except Exception as exc:  # pylint: disable=broad-except  # kubeconfig, connection, TLS, authentication, RBAC
            result.update(failed=True, msg="stack_read: could not read namespace %s: %s" % (namespace, exc))
        result["changed"] = False
        return result
