# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The csc.mlflow.needs_apply, rollout_targets, stack_plan and created_objects filters (documentation in <name>.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.csc.mlflow.plugins.plugin_utils.apply_plan import (
    created_objects as _created_objects, plan, stack_plan as _stack_plan, wait_targets)
from ansible_collections.csc.mlflow.plugins.plugin_utils.plain import plain


def needs_apply(objects, live):
    """The rendered objects an apply would change, and the Deployments that are not ready."""
    try:
        return plan(plain(objects), plain(live) or {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("needs_apply: every object needs kind and metadata.name (%s)" % exc)


def rollout_targets(plan_objects, objects, live):
    """The Deployments and Routes to wait for after applying plan_objects (see wait_targets)."""
    try:
        return wait_targets(plain(plan_objects) or [], plain(objects) or [], plain(live) or {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("rollout_targets: every object needs kind and metadata.name (%s)" % exc)


def stack_plan(objects, live, apply_all=False, live_hosts=None, applied=None, admitted=None):
    """The rendered stack with what to apply, what to wait for and which Routes go first."""
    try:
        return _stack_plan(plain(objects) or [], plain(live) or {}, bool(apply_all), plain(live_hosts) or {},
                           plain(applied) if applied else None, plain(admitted) or ())
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("stack_plan: every object needs kind and metadata.name (%s)" % exc)


def created_objects(applied, live):
    """References to what an apply earlier in the run created (not live before it)."""
    try:
        return _created_objects(plain(applied) if applied else None, plain(live) or {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("created_objects: every object needs apiVersion, kind and metadata.name (%s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"needs_apply": needs_apply, "rollout_targets": rollout_targets, "stack_plan": stack_plan,
                "created_objects": created_objects}
