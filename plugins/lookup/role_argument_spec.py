# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_argument_spec
short_description: The options of several of this collection's role entry points as one argument spec
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Reads C(meta/argument_specs.yml) of the named roles of this collection and returns the options of
    the named entry points merged into one dictionary, for M(ansible.builtin.validate_argument_spec).
  - A playbook that runs several roles checks all their variables in one task this way, and
    includes the roles with C(rolespec_validate=false).
  - An option that several entry points declare must be declared alike (the shared option sets are
    written once, as YAML anchors); an unknown role or entry point is an error.
options:
  _terms:
    description: C(role) (entry point C(main)) or C(role:entry_point), role names without the collection prefix.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Check the variables of the roles of this run
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ lookup('csc.mlflow.role_argument_spec', 'mlflow:prepare', 'mlflow_minio', 'mlflow:apply') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary, option name -> its spec (C(type), C(default), C(choices), ...).
  type: list
  elements: dict
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.csc.mlflow.plugins.plugin_utils.argument_specs import merged_options, parse_entry_point

try:
    import yaml
    SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        try:
            entry_points = [parse_entry_point(term) for term in terms]
        except ValueError as exc:
            raise AnsibleError("role_argument_spec: %s" % exc)
        specs = {}
        for role in sorted(set(role for role, _entry_point in entry_points)):
            path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
            try:
                with open(path) as handle:
                    specs[role] = (yaml.load(handle, Loader=SafeLoader) or {}).get("argument_specs") or {}
            except (IOError, OSError):
                continue  # merged_options names the role
            except yaml.YAMLError as exc:
                raise AnsibleError("role_argument_spec: %s: %s" % (path, exc))
        try:
            return [merged_options(specs, entry_points)]
        except ValueError as exc:
            raise AnsibleError("role_argument_spec: %s" % exc)
