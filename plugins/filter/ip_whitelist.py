# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The csc.mlflow.ip_whitelist filter (documentation in ip_whitelist.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.csc.mlflow.plugins.module_utils.ip_whitelist import (
    WhitelistError,
    normalize,
)


def ip_whitelist(value, collapse=False, max_entries=0):
    """Normalise an IP whitelist (list or string) to a sorted list of unique entries."""
    try:
        return normalize(value, collapse=bool(collapse), max_entries=max_entries)
    except WhitelistError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"ip_whitelist": ip_whitelist}
