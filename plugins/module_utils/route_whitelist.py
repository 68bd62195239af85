# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Set, merge or clear the IP whitelist annotations of Routes and Ingresses.

The pure part (``plan``) decides the new annotation value; ``apply`` talks to the
cluster through a kubernetes.core ``K8SClient`` (same auth options and
``K8S_AUTH_*`` variables as kubernetes.core's modules).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.module_utils.ip_whitelist import (
    WhitelistError,
    default_annotation_keys,
    normalize,
    to_annotation,
)
from ansible_collections.csc.mlflow.plugins.module_utils.k8s_api import api_message

try:
    from kubernetes.dynamic.exceptions import (
        ConflictError,
        DynamicApiError,
        NotFoundError,
        ResourceNotFoundError,
    )
except ImportError:  # pragma: no cover - the module reports the missing library

    class DynamicApiError(Exception):
        pass

    class ConflictError(DynamicApiError):
        pass

    class NotFoundError(DynamicApiError):
        pass

    class ResourceNotFoundError(Exception):
        pass

API_VERSIONS = {
    "Route": "route.openshift.io/v1",
    "Ingress": "networking.k8s.io/v1",
}

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    name=dict(type="list", elements="str", required=True),
    kind=dict(type="str", default="Route", choices=["Route", "Ingress"]),
    whitelist=dict(type="raw"),
    state=dict(type="str", default="present", choices=["present", "merged", "absent"]),
    allow_all=dict(type="bool", default=False),
    collapse=dict(type="bool", default=False),
    max_entries=dict(type="int"),
    annotation_key=dict(type="str", no_log=False),
)

CONFLICT_RETRIES = 5


class RouteWhitelistError(Exception):
    pass


def plan(current_value, whitelist, state, kind="Route", allow_all=False, collapse=False, max_entries=None):
    """The annotation value to write (None = no annotation) for one object.

    ``current_value`` is the annotation now (None when absent). Raises
    RouteWhitelistError (bad entries, too many, or an open result without allow_all).
    """
    # No limit by default, for Routes too: the router accepts lists longer than its docs' 61.
    limit = max_entries or 0
    if state == "absent":
        return None, []
    try:
        wanted = normalize(whitelist, collapse=collapse, max_entries=0)
    except WhitelistError as exc:
        raise RouteWhitelistError(str(exc))
    if state == "merged" and current_value:
        try:
            existing = normalize(current_value, collapse=False, max_entries=0)
        except WhitelistError as exc:
            raise RouteWhitelistError("the current annotation cannot be merged: %s; use state=present to replace it" % exc)
        wanted = wanted + existing
    try:
        entries = normalize(wanted, collapse=collapse, max_entries=limit)
    except WhitelistError as exc:
        raise RouteWhitelistError(str(exc))
    if not entries:
        if not allow_all:
            raise RouteWhitelistError(
                "the whitelist is empty, which opens the %s to everyone; give addresses, "
                "or set allow_all=true to allow all (or state=absent to clear it)" % kind
            )
        return None, []
    return to_annotation(entries, kind), entries


def validate(params):
    """Check the options before talking to the cluster (same errors as ``apply``)."""
    state = params["state"]
    if state == "present" and params.get("whitelist") is None and not params.get("allow_all"):
        raise RouteWhitelistError("whitelist is required with state=present (or set allow_all=true to open)")
    if state == "present":
        plan(None, params.get("whitelist"), state, kind=params["kind"], allow_all=params.get("allow_all", False),
             collapse=params.get("collapse", False), max_entries=params.get("max_entries"))
    elif state == "merged":
        try:
            normalize(params.get("whitelist"), collapse=False, max_entries=0)
        except WhitelistError as exc:
            raise RouteWhitelistError(str(exc))


def _annotations(obj):
    meta = obj.get("metadata") or {}
    return dict(meta.get("annotations") or {})


def apply(client, params):
    """Apply the whitelist to every named object; returns the module result dict."""
    kind = params["kind"]
    keys = [params["annotation_key"]] if params.get("annotation_key") else list(default_annotation_keys(kind))
    namespace = params["namespace"]
    names = []
    for name in params["name"]:
        if name and name not in names:
            names.append(name)
    if not names:
        raise RouteWhitelistError("name must list at least one %s" % kind)
    validate(params)

    try:
        resource = client.resource(kind, API_VERSIONS[kind])
    except ResourceNotFoundError:
        hint = " (not an OpenShift cluster? use kind=Ingress)" if kind == "Route" else ""
        raise RouteWhitelistError("the API %s %s is not served by this cluster%s" % (API_VERSIONS[kind], kind, hint))
    except Exception as exc:  # pylint: disable=broad-except  # connection refused, TLS, auth, ...
        raise RouteWhitelistError("could not reach the Kubernetes API: %s" % api_message(exc))

    # Read every object first, so that a missing one stops the run before any change.
    current = {}
    for name in names:
        current[name] = _get(client, resource, kind, name, namespace)

    results = []
    for name in names:
        obj = current[name]
        for attempt in range(CONFLICT_RETRIES):
            annotations = _annotations(obj)
            # what the reader enforces now: the first of its annotations that is set
            before = next((annotations[k] for k in keys if annotations.get(k)), None)
            after, entries = plan(
                before,
                params.get("whitelist"),
                params["state"],
                kind=kind,
                allow_all=params.get("allow_all", False),
                collapse=params.get("collapse", False),
                max_entries=params.get("max_entries"),
            )
            changed = any(annotations.get(k) != after for k in keys)
            entry = dict(name=name, before=before, after=after, whitelist=entries, changed=changed)
            if not changed:
                break
            patch = {
                "metadata": {
                    "annotations": dict((k, after) for k in keys),
                    # optimistic concurrency: fail (and re-read) if someone wrote in between
                    "resourceVersion": obj["metadata"]["resourceVersion"],
                }
            }
            try:
                client.patch(
                    resource,
                    patch,
                    name=name,
                    namespace=namespace,
                    content_type="application/merge-patch+json",
                )
                break
            except ConflictError:
                if attempt + 1 == CONFLICT_RETRIES:
                    raise RouteWhitelistError("%s %s/%s kept changing while being patched" % (kind, namespace, name))
                obj = _get(client, resource, kind, name, namespace)
            except DynamicApiError as exc:
                raise RouteWhitelistError(
                    "could not patch %s %s/%s: %s" % (kind, namespace, name, api_message(exc))
                )
        results.append(entry)

    changed = any(r["changed"] for r in results)
    out = dict(
        changed=changed,
        annotation_keys=keys,
        # not `results`: Ansible reserves that key for loop aggregates (the default
        # callback then looks for per-item diffs in it and shows none)
        objects=results,
        whitelist=results[0]["whitelist"] if results else [],
    )
    out["diff"] = dict(
        before="".join("%s/%s: %s\n" % (kind, r["name"], _show(r["before"])) for r in results),
        after="".join("%s/%s: %s\n" % (kind, r["name"], _show(r["after"])) for r in results),
        before_header="%s %s" % (namespace, " ".join(keys)),
        after_header="%s %s" % (namespace, " ".join(keys)),
    )
    return out


def _show(value):
    return "(no annotation: open to all)" if value is None else value


def _get(client, resource, kind, name, namespace):
    try:
        obj = client.get(resource, name=name, namespace=namespace)
    except NotFoundError:
        raise RouteWhitelistError("%s %s/%s not found" % (kind, namespace, name))
    except DynamicApiError as exc:
        raise RouteWhitelistError("could not read %s %s/%s: %s" % (kind, namespace, name, api_message(exc)))
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
