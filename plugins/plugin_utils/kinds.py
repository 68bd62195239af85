# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The kinds of object a stack owns, in one table: read by the stack read, the apply order, the prune, undeploy,
the rollout wait and the API clients. Add a kind here and nowhere else."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

# kind, its apiVersion and resource name (plural);
# scope: when a stack has objects of the kind: "always", "openshift" (Routes), "kubernetes" (Ingresses; undeploy
#   looks for them on every platform), "builds" (OpenShift builds), "monitoring" (a caller who may manage them),
#   "gateway" (Gateway API HTTPRoutes and the implementations' policies: read, pruned and removed where the cluster
#   serves their API group; a cluster without it has none, and its read does not fail);
# read: the stack read lists them by label (Jobs too: one that exists as rendered is not applied again);
# kept: data and credentials, which undeploy leaves unless mlflow_purge;
# pruned: a live one (read by label) that the run did not render is deleted at the end of the run (not the kept
#   ones, and not Jobs: each runs once, and a backup the CronJob started may be running).
Kind = namedtuple("Kind", "kind api_version plural scope read kept pruned")

# In apply order: dependencies before their users (storage and configuration, then Services, builds, workloads,
# the ways in, the Jobs that need the servers running); undeploy removes them in the reverse order.
STACK_KINDS = (
    Kind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", "always", True, False, True),
    Kind("PersistentVolumeClaim", "v1", "persistentvolumeclaims", "always", True, True, False),
    Kind("ConfigMap", "v1", "configmaps", "always", True, False, True),
    Kind("Secret", "v1", "secrets", "always", True, True, False),
    Kind("Service", "v1", "services", "always", True, False, True),
    Kind("ImageStream", "image.openshift.io/v1", "imagestreams", "builds", False, False, False),
    Kind("BuildConfig", "build.openshift.io/v1", "buildconfigs", "builds", False, False, False),
    Kind("Deployment", "apps/v1", "deployments", "always", True, False, True),
    Kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", "always", True, False, True),
    Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers", "always", True, False, True),
    Kind("Route", "route.openshift.io/v1", "routes", "openshift", True, False, True),
    Kind("Ingress", "networking.k8s.io/v1", "ingresses", "kubernetes", True, False, True),
    # The whitelist of an HTTPRoute before the route itself: applied first, removed last (no moment without it).
    Kind("SecurityPolicy", "gateway.envoyproxy.io/v1alpha1", "securitypolicies", "gateway", True, False, True),
    Kind("AuthorizationPolicy", "security.istio.io/v1", "authorizationpolicies", "gateway", True, False, True),
    Kind("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes", "gateway", True, False, True),
    Kind("Job", "batch/v1", "jobs", "always", True, False, False),
    Kind("CronJob", "batch/v1", "cronjobs", "always", True, False, True),
    Kind("ServiceMonitor", "monitoring.coreos.com/v1", "servicemonitors", "monitoring", True, False, True),
)
BY_KIND = dict((k.kind, k) for k in STACK_KINDS)

# Kinds the run reads but never owns (quota, limits, access reviews, the rollout wait's).
OTHER_KINDS = (
    Kind("ResourceQuota", "v1", "resourcequotas", "always", False, False, False),
    Kind("LimitRange", "v1", "limitranges", "always", False, False, False),
    Kind("AppliedClusterResourceQuota", "quota.openshift.io/v1", "appliedclusterresourcequotas", "openshift", False,
         False, False),
    Kind("SelfSubjectAccessReview", "authorization.k8s.io/v1", "selfsubjectaccessreviews", "always", False, False, False),
    Kind("ReplicaSet", "apps/v1", "replicasets", "always", False, False, False),
    Kind("Pod", "v1", "pods", "always", False, False, False),
    Kind("Event", "v1", "events", "always", False, False, False),
    Kind("Gateway", "gateway.networking.k8s.io/v1", "gateways", "gateway", False, False, False),
)
PLURALS = dict((k.kind, k.plural) for k in STACK_KINDS + OTHER_KINDS)
API_VERSIONS = dict((k.kind, k.api_version) for k in STACK_KINDS + OTHER_KINDS)


class KindNotServed(LookupError):
    """The cluster does not serve the API of a kind (its CRD is not installed)."""


def api_version(kind):
    return API_VERSIONS[kind]


def api_group(kind):
    """The API group of `kind` ('' for the core group)."""
    version = API_VERSIONS[kind]
    return version.split("/", 1)[0] if "/" in version else ""


def _gateway_kind_served(kind, api_groups):
    # api_groups None: not asked (mlflow_platform=kubernetes); the read tries and tolerates a kind not served.
    return api_groups is None or api_group(kind.kind) in api_groups


def apply_rank(kind):
    """The place of `kind` in the apply order (kinds not in the table last)."""
    order = [k.kind for k in STACK_KINDS]
    return order.index(kind) if kind in order else len(order)


def read_kinds(openshift, may_monitor, api_groups=None):
    """(apiVersion, kind) of what the stack read lists by label: Routes on OpenShift, else Ingresses; ServiceMonitors
    when the caller may manage them; the Gateway API kinds whose group the cluster serves (`api_groups`; None = not
    known: all of them, a kind the cluster does not serve reads as none)."""
    scopes = set(["always", "openshift" if openshift else "kubernetes"] + (["monitoring"] if may_monitor else []))
    return [(k.api_version, k.kind) for k in STACK_KINDS
            if k.read and (k.scope in scopes or (k.scope == "gateway" and _gateway_kind_served(k, api_groups)))]


def optional_kind(kind):
    """Whether a cluster may lack the API of `kind` (its read then finds none)."""
    return BY_KIND[kind].scope == "gateway" if kind in BY_KIND else False


def undeploy_kinds(openshift, has_builds=False, has_monitoring=False, purge=False, api_groups=None):
    """[apiVersion, kind] of what undeploy removes by label, in reverse apply order: the ways in and the workloads
    before the NetworkPolicies that fence them (an HTTPRoute before its whitelist policy); Secrets and PVCs only with
    `purge`; the Gateway API kinds whose group is among `api_groups` (the groups the cluster serves)."""
    scopes = set(["always", "kubernetes"] + (["openshift"] if openshift else []) + (["builds"] if has_builds else [])
                 + (["monitoring"] if has_monitoring else []))
    groups = set(api_groups or ())
    return [[k.api_version, k.kind] for k in reversed(STACK_KINDS)
            if (k.scope in scopes or (k.scope == "gateway" and api_group(k.kind) in groups)) and (purge or not k.kept)]


def pruned_kinds():
    """The kinds whose live objects the run deletes when it did not render them."""
    return [k.kind for k in STACK_KINDS if k.pruned]
