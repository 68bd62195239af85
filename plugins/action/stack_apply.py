# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for csc.mlflow.stack_apply: the single-request applies over the plain client, in the controller.

A kubernetes.core.k8s task is a Python process that imports the ``kubernetes`` client (~0.5 s) and discovers
the API before its first request; a cold deploy ran three of them. Here the creates and server-side applies
are requests from the controller (plugin_utils/stack_apply.py); kubernetes.core.k8s runs for what they
cannot do as it would (plugins/modules/stack_apply.py says when).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from http.client import HTTPException

from ansible.plugins.action import ActionBase
from ansible_collections.csc.mlflow.plugins.plugin_utils.kubeconfig_client import kubeconfig_client
from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_apply import (
    ApplyFailed,
    apply_directly,
    combined,
    module_results,
)

ARGUMENT_SPEC = {
    "namespace": {"type": "str", "required": True},
    "definition": {"type": "list", "elements": "dict", "required": True},
    "field_manager": {"type": "str", "default": ""},
    "force_conflicts": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        spec = dict(ARGUMENT_SPEC)
        # The connection options are kubernetes.core's; they are checked where they are used.
        spec.update(dict((name, {"type": "raw"}) for name in self._task.args if name not in ARGUMENT_SPEC))
        _validation, params = self.validate_argument_spec(argument_spec=spec)
        connection = dict((k, v) for k, v in params.items() if k not in ARGUMENT_SPEC)
        objects = params["definition"]
        done, rest = [], objects
        # The module would run where the task runs, with that host's kubeconfig: only on the controller is
        # the controller's kubeconfig the one it would use.
        local = getattr(self._connection, "transport", None) == "local"
        if local and not (self._task.check_mode or self._task.diff or any(self._task.environment or [])):
            client = None
            try:
                client = kubeconfig_client(connection)
                if client is not None:
                    done, rest = apply_directly(client, objects, params["namespace"], params["field_manager"] or None,
                                                params["force_conflicts"])
            except ApplyFailed as exc:
                result.update(failed=True, msg=str(exc), reason=exc.error.status_reason, status=exc.error.status,
                              changed=bool(exc.results))
                return result
            except (OSError, HTTPException, ValueError) as exc:  # connection, TLS: kubernetes.core tries (and says why)
                done, rest = [], objects
                result.setdefault("warnings", []).append("could not apply over a plain connection (%s)" % exc)
            finally:
                if client is not None:
                    client.close()
        if rest:
            answer = self._execute_module(module_name="kubernetes.core.k8s", module_args=self._module_args(
                connection, params, rest), task_vars=task_vars)
            if answer.get("failed"):
                answer["changed"] = bool(done) or answer.get("changed", False)
                result.update(answer)
                return result
            done = done + module_results(answer)
        result.update(combined(done) if done else {"changed": False, "result": {"results": []}})
        return result

    @staticmethod
    def _module_args(connection, params, objects):
        args = dict(connection)
        args.update(namespace=params["namespace"], state="present", apply=True, definition=objects)
        if params["field_manager"]:
            args["server_side_apply"] = {"field_manager": params["field_manager"],
                                         "force_conflicts": params["force_conflicts"]}
        return args
