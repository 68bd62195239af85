# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for csc.mlflow.stack_read: one read of the cluster from the controller (module_utils/stack_read.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.csc.mlflow.plugins.module_utils.stack_read import PLATFORMS, read_stack
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import Client, ClientUnavailable

ARGUMENT_SPEC = {
    "namespace": {"type": "str", "required": True},
    "label_selector": {"type": "str", "required": True},
    "platform": {"type": "str", "default": "auto", "choices": list(PLATFORMS)},
    "names": {"type": "dict"},
    "version_annotation": {"type": "str"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        spec = dict(ARGUMENT_SPEC)
        # The connection options are kubernetes.core's (get_api_client checks them).
        spec.update(dict((name, {"type": "raw"}) for name in self._task.args if name not in ARGUMENT_SPEC))
        _validation, params = self.validate_argument_spec(argument_spec=spec)
        namespace = params["namespace"]
        try:
            client = Client(dict((k, v) for k, v in params.items() if k not in ARGUMENT_SPEC))
            result.update(read_stack(client, namespace, params["label_selector"], params["platform"], params["names"],
                                     params["version_annotation"]))
        except ClientUnavailable as exc:
            result.update(failed=True, msg="stack_read %s" % exc)
        except Exception as exc:  # pylint: disable=broad-except  # kubeconfig, connection, TLS, authentication, RBAC
            result.update(failed=True, msg="stack_read: could not read namespace %s: %s" % (namespace, exc))
        result["changed"] = False
        return result
