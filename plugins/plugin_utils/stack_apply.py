# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The applies ``kubernetes.core.k8s`` would make, made over the plain client where they are single requests.

``apply: true`` (client-side apply) of an object that does not exist is a create of the object with its
``kubectl.kubernetes.io/last-applied-configuration`` annotation; of an object that exists it is a three-way
merge (kubernetes.core's ``apply_patch``). Server-side apply is one request either way. ``apply_directly``
makes the creates and the server-side applies; from the first object that exists (client-side) or whose kind
it does not know, it leaves that object and all that follow to kubernetes.core, so that the objects are still
applied in their order (a ConfigMap before the Deployment that reads it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.csc.mlflow.plugins.module_utils.apply_plan import LAST_APPLIED, last_applied_text
from ansible_collections.csc.mlflow.plugins.module_utils.kinds import BY_KIND
from ansible_collections.csc.mlflow.plugins.plugin_utils.kubeconfig_client import ApiError

# What one object's result carries in kubernetes.core.k8s's answer.
RESULT_KEYS = ("changed", "method", "result", "diff", "warnings", "duration", "error")


def in_namespace(obj, namespace):
    """A copy of ``obj`` with ``metadata.namespace`` set unless it names one (kubernetes.core's merge_params)."""
    obj = copy.deepcopy(obj)
    if namespace:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return obj


def annotated(obj):
    """``obj`` as client-side apply creates it: with the last-applied annotation of ``obj`` itself."""
    body = copy.deepcopy(obj)
    annotations = body["metadata"].get("annotations") or {}
    annotations[LAST_APPLIED] = last_applied_text(obj)
    body["metadata"]["annotations"] = annotations
    return body


def _resource_version(obj):
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


class ApplyFailed(Exception):
    """An object was refused; ``results`` are those applied before it."""

    def __init__(self, message, error, results):
        super(ApplyFailed, self).__init__(message)
        self.error = error
        self.results = results


def apply_directly(client, objects, namespace, field_manager=None, force_conflicts=False):
    """Apply ``objects`` in order over ``client`` (``create``, ``get``, ``server_side_apply``) as far as that is
    what kubernetes.core would do: with ``field_manager`` server-side, else client-side.

    Returns ``(results, rest)``: kubernetes.core-shaped results of the objects applied, and the objects left for
    kubernetes.core (the first one that exists, when applied client-side, or of a kind the stack does not own (module_utils/kinds.py), and all
    after it). Raises ApplyFailed when the API server refuses an object.
    """
    results = []
    for index, item in enumerate(objects):
        obj = in_namespace(item, namespace)
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind not in BY_KIND or not api_version:
            return results, list(objects[index:])
        ns = obj["metadata"].get("namespace")
        try:
            if field_manager:
                before = client.get(api_version, kind, ns, obj["metadata"]["name"])
                after = client.server_side_apply(obj, ns, field_manager, force_conflicts)
                results.append(_result(_resource_version(before) != _resource_version(after), after, client))
                continue
            created = client.create(api_version, kind, annotated(obj), ns)
        except ApiError as exc:
            if not field_manager and exc.status == 409 and exc.status_reason == "AlreadyExists":
                return results, list(objects[index:])
            raise ApplyFailed("Failed to apply %s %s: %s" % (kind, obj["metadata"].get("name"), exc), exc, results)
        results.append(_result(True, created, client))
    return results, []


def _result(changed, obj, client):
    result = {"changed": changed, "method": "apply", "result": obj}
    if getattr(client, "warnings", None):
        result["warnings"] = list(client.warnings)  # e.g. PodSecurity's "would violate"
    return result


def module_results(answer):
    """The per-object results in a kubernetes.core.k8s answer (one definition: the answer itself)."""
    inner = answer.get("result")
    if isinstance(inner, dict) and isinstance(inner.get("results"), list) and "method" not in answer:
        return [dict((k, r[k]) for k in RESULT_KEYS if k in r) for r in inner["results"]]
    return [dict((k, answer[k]) for k in RESULT_KEYS if k in answer)]


def combined(results):
    """One answer for ``results`` shaped as kubernetes.core.k8s gives it: one object's result at the top, several
    under ``result.results``."""
    if len(results) == 1:
        return dict(results[0])
    return {"changed": any(r.get("changed") for r in results), "result": {"results": list(results)}}
