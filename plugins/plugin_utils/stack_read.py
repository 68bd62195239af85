# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""One read of the cluster before anything changes: the platform, the stack's objects, the namespace's limits.

Behind the csc.mlflow.stack_read module (roles/mlflow/tasks/state.yml). The decisions (what the API groups
say about the platform, which kinds to list) are pure functions; ``read_stack`` makes the calls with one
client, each API group and list asked once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.plugin_utils.access_review import review_allowed, review_body
from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import KindNotServed, api_version, optional_kind, read_kinds
from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_state import current_state, index_live

PLATFORMS = ("auto", "openshift", "kubernetes")

# What managing the stack's ServiceMonitor takes: a project admin on OpenShift needs ClusterRole
# monitoring-edit for it, although the API is always served there.
SERVICE_MONITOR_QUESTIONS = tuple(
    "%s servicemonitors.monitoring.coreos.com" % verb for verb in ("list", "create", "patch", "delete"))


def platform_facts(requested, api_groups):
    """What the platform offers, from ``mlflow_platform`` and the API groups the server serves.

    ``api_groups`` is None when they were not asked for (``mlflow_platform: kubernetes``).
    """
    if requested not in PLATFORMS:
        raise ValueError("platform %r: not one of %s" % (requested, ", ".join(PLATFORMS)))
    groups = set(api_groups or ())
    return {
        "openshift": requested == "openshift" or (requested == "auto" and "route.openshift.io" in groups),
        "has_builds": "build.openshift.io" in groups,
        "has_monitoring_api": "monitoring.coreos.com" in groups,
        "has_quota_api": "quota.openshift.io" in groups,
    }


def read_stack(api, namespace, label_selector, platform="auto", names=None, version_annotation=None):
    """Read the platform, the stack's objects (by label) and the namespace's LimitRanges and quotas.

    ``api`` answers ``api_groups()``, ``items(api_version, kind, namespace, label_selector)`` and
    ``create(api_version, kind, body)`` (plugin_utils/k8s_client.py, the collection's one client over
    kubernetes.core's). Returns ``openshift``, ``has_builds``, ``has_monitoring_api``, ``may_monitor``,
    ``limits`` ({'limit_ranges', 'quotas'}: lists of objects), ``live`` (the stack's objects indexed by
    "Kind/name", ``stack_state.index_live``: Secrets decoded) and, given the role's ``names`` and
    ``version_annotation``, ``state`` (``stack_state.current_state``).
    """
    groups = api.api_groups() if platform != "kubernetes" else None
    facts = platform_facts(platform, groups)
    may_monitor = False
    if facts["has_monitoring_api"]:
        may_monitor = all(review_allowed(api.create(api_version("SelfSubjectAccessReview"), "SelfSubjectAccessReview",
                                                    review_body(question, namespace)))
                          for question in SERVICE_MONITOR_QUESTIONS)
    objects = []
    for version, kind in read_kinds(facts["openshift"], may_monitor, groups):
        try:
            objects.extend(api.items(version, kind, namespace, label_selector))
        except Exception as exc:  # pylint: disable=broad-except  # the client's KindNotServed, ApiError
            # A Gateway API kind the cluster does not serve, or that the caller may not list (a project admin on an
            # OpenShift that serves the API, a CRD no role aggregates): the stack has none the caller could manage.
            if not (optional_kind(kind) and (isinstance(exc, KindNotServed) or getattr(exc, "status", None) in (403, 404))):
                raise
    quotas = api.items(api_version("ResourceQuota"), "ResourceQuota", namespace)
    if facts["has_quota_api"]:
        quotas.extend(api.items(api_version("AppliedClusterResourceQuota"), "AppliedClusterResourceQuota", namespace))
    live = index_live(objects)
    result = {
        "openshift": facts["openshift"],
        "has_builds": facts["has_builds"],
        "has_monitoring_api": facts["has_monitoring_api"],
        "may_monitor": may_monitor,
        "limits": {"limit_ranges": api.items(api_version("LimitRange"), "LimitRange", namespace), "quotas": quotas},
        "live": live,
    }
    if names is not None:
        result["state"] = current_state(live, names, version_annotation)
    return result
