# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""How csc.mlflow.stack_apply applies: every object server-side, in order, as one field manager.

Stacks deployed by earlier versions of the collection were applied client-side (kubernetes.core ``apply: true``: field manager
``OpenAPI-Generator``, operation ``Update``; and the collection's earlier plain client, ``csc.mlflow``
``Update``). A server-side apply does not remove a field another manager owns, so before the first
server-side apply of such an object its client-side managers' fields are moved to the applying manager,
as ``kubectl apply --server-side`` does (client-go's csaupgrade): a field the stack no longer renders is
then removed.

Every object but a Secret carries kubectl's last-applied-configuration annotation: what the run applied,
which the stack's plan compares (plugin_utils/apply_plan.py). A Secret never does: it would hold the values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.csc.mlflow.plugins.plugin_utils.apply_plan import LAST_APPLIED, last_applied_text

# Managers that wrote the stack's objects client-side (operation Update), whose fields the first
# server-side apply takes over: kubernetes.core's (the kubernetes library's user agent), kubectl's, and
# the collection's own earlier client.
CLIENT_SIDE_MANAGERS = ("OpenAPI-Generator", "kubectl-client-side-apply", "csc.mlflow")
# What the API server sets on an object; what an apply changes is the rest.
SERVER_SET_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


def in_namespace(obj, namespace):
    """A copy of ``obj`` with ``metadata.namespace`` set unless it names one."""
    obj = copy.deepcopy(obj)
    if namespace:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return obj


def annotated(obj):
    """``obj`` with the last-applied annotation of ``obj`` itself; a Secret as it is."""
    if obj.get("kind") == "Secret":
        return obj
    body = copy.deepcopy(obj)
    annotations = body["metadata"].get("annotations") or {}
    annotations[LAST_APPLIED] = last_applied_text(obj)
    body["metadata"]["annotations"] = annotations
    return body


def fields_union(left, right):
    """The union of two managedFields ``fieldsV1`` sets (nested maps; a leaf is ``{}``)."""
    merged = copy.deepcopy(left or {})
    for key, value in (right or {}).items():
        merged[key] = fields_union(merged.get(key), value) if key in merged else copy.deepcopy(value)
    return merged


def ownership_takeover(managed_fields, field_manager, client_side_managers=CLIENT_SIDE_MANAGERS):
    """``managed_fields`` with the fields of the client-side managers (operation ``Update``, not a subresource)
    moved into ``field_manager``'s ``Apply`` entry, or None when none of them owns anything."""
    moved, kept, applying = [], [], None
    for entry in managed_fields or []:
        if entry.get("subresource"):
            kept.append(entry)
        elif entry.get("manager") == field_manager and entry.get("operation") == "Apply":
            applying = copy.deepcopy(entry)
        elif entry.get("manager") in client_side_managers and entry.get("operation") == "Update":
            moved.append(entry)
        else:
            kept.append(entry)
    if not moved:
        return None
    if applying is None:
        applying = dict((k, v) for k, v in moved[0].items() if k != "fieldsV1")
        applying.update(manager=field_manager, operation="Apply", fieldsType="FieldsV1", fieldsV1={})
    for entry in moved:
        applying["fieldsV1"] = fields_union(applying.get("fieldsV1"), entry.get("fieldsV1"))
    return [applying] + kept


def content(obj):
    """``obj`` without what the API server sets (status, resourceVersion, managedFields, ...)."""
    if not obj:
        return {}
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    for key in SERVER_SET_METADATA:
        obj.get("metadata", {}).pop(key, None)
    return obj


def _elsewhere_hint(obj_namespace, namespace, exc):
    """What to do when the API server refuses an object outside the run's namespace (an Istio AuthorizationPolicy in
    the Gateway's namespace) for want of rights there."""
    if obj_namespace and namespace and obj_namespace != namespace and getattr(exc, "status", None) == 403:
        return (" (namespace %s is not the stack's: the deploying user may not write there. Ask the platform team for"
                " the right to manage it there, or for the policy to be made for you)" % obj_namespace)
    return ""


class ApplyFailed(Exception):
    """An object was refused; ``results`` are those applied before it."""

    def __init__(self, message, error, results):
        super(ApplyFailed, self).__init__(message)
        self.error = error
        self.results = results


def apply_objects(client, objects, namespace, field_manager, force_conflicts=True, check_mode=False, diff=False):
    """Apply ``objects`` in order server-side over ``client`` (plugin_utils/k8s_client.py), each after its
    client-side managers' fields were moved to ``field_manager``. In check mode the applies are dry runs and
    nothing moves.

    Returns kubernetes.core-shaped results, one per object. Raises ApplyFailed when the API server refuses one.
    """
    results = []
    for item in objects:
        obj = annotated(in_namespace(item, namespace))
        meta = obj["metadata"]
        name = "%s %s" % (obj.get("kind"), meta.get("name"))
        try:
            before = client.get(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
            takeover = ownership_takeover((before or {}).get("metadata", {}).get("managedFields"), field_manager)
            if takeover is not None and not check_mode:
                before = client.replace_managed_fields(before, takeover)
            after, warnings = client.server_side_apply(obj, meta.get("namespace"), field_manager, force_conflicts,
                                                       dry_run=check_mode)
        except Exception as exc:  # the client's ApiError, or a connection's
            raise ApplyFailed("Failed to apply %s: %s%s" % (name, exc, _elsewhere_hint(meta.get("namespace"), namespace, exc)),
                              exc, results)
        if check_mode:
            changed = content(before) != content(after)
        else:
            changed = before is None or before["metadata"].get("resourceVersion") != after["metadata"].get("resourceVersion")
        result = {"changed": changed, "method": "apply", "result": after}
        if warnings:
            result["warnings"] = list(warnings)  # e.g. PodSecurity's "would violate"
        if diff:
            result["diff"] = {"before": content(before), "after": content(after)}
        results.append(result)
    return results


def combined(results):
    """One answer for ``results`` shaped as kubernetes.core.k8s gives it: one object's result at the top, several
    under ``result.results``."""
    if len(results) == 1:
        return dict(results[0])
    return {"changed": any(r.get("changed") for r in results), "result": {"results": list(results)}}
