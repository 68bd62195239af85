# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for csc.mlflow.stack_apply: server-side applies from the controller (plugin_utils/stack_apply.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_action import K8sAction
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import ClientUnavailable
from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_apply import ApplyFailed, apply_objects, combined


class ActionModule(K8sAction):
    ARGUMENT_SPEC = {
        "namespace": {"type": "str", "required": True},
        "definition": {"type": "list", "elements": "dict", "required": True},
        "field_manager": {"type": "str", "default": "csc.mlflow"},
        "force_conflicts": {"type": "bool", "default": True},
    }

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, connection = self.task_options()
        try:
            results = apply_objects(self.client(connection), params["definition"], params["namespace"],
                                    params["field_manager"], params["force_conflicts"], check_mode=self._task.check_mode,
                                    diff=self._task.diff)
        except ApplyFailed as exc:
            error = exc.error
            result.update(failed=True, msg=str(exc), changed=any(r["changed"] for r in exc.results),
                          status=getattr(error, "status", None), reason=getattr(error, "status_reason", ""))
            return result
        except ClientUnavailable as exc:
            result.update(failed=True, msg="stack_apply %s" % exc)
            return result
        except Exception as exc:  # pylint: disable=broad-except  # kubeconfig, connection, TLS
            result.update(failed=True, msg="stack_apply: could not reach the Kubernetes API: %s" % exc)
            return result
        result.update(combined(results) if results else {"changed": False, "result": {"results": []}})
        return result
