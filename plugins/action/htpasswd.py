# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for csc.mlflow.htpasswd: computes the content on the controller.

Running in the controller process (no module transfer) is faster, and it keeps the
result away from the module-side masking of no_log values, which replaces every
occurrence of a password inside other return values (a short password would mangle
the hashes in ``content``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.csc.mlflow.plugins.module_utils.htpasswd import (
    ARGUMENT_SPEC,
    HtpasswdError,
    diff_of,
    run,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            out = run(params)
        except HtpasswdError as exc:
            raise AnsibleActionFail(str(exc))
        if self._task.diff:
            out["diff"] = diff_of(out, params.get("existing") or "")
        result.update(out)
        return result
