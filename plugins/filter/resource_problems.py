# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The csc.mlflow.resource_problems filter (documentation in resource_problems.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.csc.mlflow.plugins.plugin_utils.plain import plain
from ansible_collections.csc.mlflow.plugins.plugin_utils.quantity import QuantityError
from ansible_collections.csc.mlflow.plugins.plugin_utils.resources import problems


def resource_problems(objects, limit_ranges=None, quotas=None, live=None, replicas=None, reserve=None, variables=None):
    """Why the namespace's LimitRanges and quotas would refuse some pod or PVC of the run ([] if none)."""
    live = plain(live) or []
    if isinstance(live, dict):  # the live index (csc.mlflow.live_index): its objects (Secrets there have no kind)
        live = [obj for obj in live.values() if "kind" in obj]
    try:
        return problems(
            plain(objects) or [], limit_ranges=plain(limit_ranges) or [], quotas=plain(quotas) or [], live=live,
            replicas=plain(replicas) or {}, reserve=plain(reserve) or [], variables=plain(variables) or {},
        )
    except QuantityError as exc:
        raise AnsibleFilterError("resource_problems: %s" % exc)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("resource_problems: malformed input (%s: %s)" % (type(exc).__name__, exc))


class FilterModule(object):
    def filters(self):
        return {"resource_problems": resource_problems}
