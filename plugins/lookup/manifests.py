# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: manifests
short_description: Render several template files with one set of variables and one Jinja environment
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Renders each file like C(ansible.builtin.template) does (the task's variables, C(trim_blocks)), and
    returns the rendered texts in order.
  - Unlike C(ansible.builtin.template), the variables are copied once for all the files, and the files share
    one Jinja environment, so templates they import or include (macros) are compiled once.
  - A file finds the templates it imports or includes in its own directory, in the directory above it (the
    role's C(templates), so that C(postgresql/deployment.yaml.j2) names one file whichever role includes
    it), in the task's search path (with C(templates)), and last in the shared role C(csc.mlflow.mlflow) (its
    macros, C(job.j2), C(pod.j2), C(objects.j2)), in that order, so that a service role's task finds the shared
    macros without being included from the shared role. Since the files share one environment, a name means the
    same file in all of them.
options:
  _terms:
    description: The template files (absolute, or found like C(ansible.builtin.template) finds them).
    type: list
    elements: path
    required: true
  template_vars:
    description: Variables added to those of the task, for all the files.
    type: dict
    default: {}
seealso:
  - plugin: ansible.builtin.template
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Render the services' manifests
  ansible.builtin.set_fact:
    objects: "{{ query('csc.mlflow.manifests', *manifest_files) | map('from_yaml_all') | map('list') | list }}"
"""

RETURN = r"""
_list:
  description: The rendered text of each file, in order.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

from ansible_collections.csc.mlflow.plugins.plugin_utils.template_paths import template_search_path

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: rendered by ansible.builtin.template, one file at a time
    trust_as_template = None


# The shared role, whose templates hold the macros every service role's templates import.
SHARED_ROLE = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "roles", "mlflow"))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = dict(variables or {})
        variables["ansible_search_path"] = list(variables.get("ansible_search_path") or []) + [SHARED_ROLE]
        files = []
        for term in terms:
            found = self.find_file_in_search_path(variables, "templates", term)
            if not found:
                raise AnsibleError("manifests: the template file %s could not be found" % term)
            files.append(found)
        if trust_as_template is None:
            builtin = lookup_loader.get("ansible.builtin.template", loader=self._loader, templar=self._templar)
            return builtin.run(files, variables, template_vars=self.get_option("template_vars"))
        # One shallow copy for all the files: the templates read the variables, they do not change them.
        template_vars = variables
        template_vars.update(self.get_option("template_vars"))
        templar = self._templar.copy_with_new_env(
            available_variables=template_vars,
            searchpath=template_search_path(files, variables.get("ansible_search_path", [])))
        return [templar.template(trust_as_template(self._loader.get_text_file_contents(path)),
                                 escape_backslashes=False, overrides={"trim_blocks": True})
                for path in files]
