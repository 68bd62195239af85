# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Where templates rendered together find what they import or include (the csc.mlflow.manifests lookup)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


def template_search_path(files, task_search_path):
    """Each file's directory and the one above it (a role's ``templates``, so that ``postgresql/x.j2``
    names one file whichever role's template includes it), then each entry of the task's search path
    with its ``templates`` before it, as ``ansible.builtin.template`` has them. Duplicates are dropped,
    the first place kept."""
    path = []
    around_files = [d for f in files for d in (os.path.dirname(f), os.path.dirname(os.path.dirname(f)))]
    of_task = [d for p in task_search_path or [] for d in (os.path.join(p, "templates"), p)]
    for entry in around_files + of_task:
        if entry not in path:
            path.append(entry)
    return path
