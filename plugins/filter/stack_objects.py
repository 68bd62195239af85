# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The csc.mlflow.stack_objects filter (documentation in stack_objects.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.csc.mlflow.plugins.plugin_utils.plain import plain
from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_objects import stack_objects as _stack_objects


def stack_objects(parts, secrets=None, annotations=None):
    """The services' rendered objects in apply order, with the pods' checksum annotations."""
    try:
        return _stack_objects([list(p or []) for p in plain(parts) or []], list(plain(secrets) or []), dict(plain(annotations) or {}))
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("stack_objects: every object needs kind and metadata.name (%s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"stack_objects": stack_objects}
