# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The stack as it runs: live objects indexed, current settings, public hosts, leftovers.

Pure logic behind the csc.mlflow.live_index, stack_state, route_hosts, obsolete_objects and
object_refs filters (the role's facts/live, state, hosts, obsolete and undeploy templates).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
from collections.abc import Mapping

from ansible_collections.csc.mlflow.plugins.plugin_utils import kinds
from ansible_collections.csc.mlflow.plugins.plugin_utils.apply_plan import applied_objects
from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import default_true, lookup, mapping, text

# The label of an object the stack owns in another namespace (an Istio AuthorizationPolicy in its Gateway's): the
# stack's namespace, which the stack's own labels do not say.
FOREIGN_LABEL = "csc.mlflow/namespace"
# Server bookkeeping: nothing compares against it, and every copy of the index would carry it.
BOOKKEEPING = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "selfLink")


def _b64decode(value):
    # Ansible's b64decode: invalid UTF-8 is kept as surrogate escapes.
    raw = value if isinstance(value, bytes) else text(value).encode("utf-8", "surrogateescape")
    return base64.b64decode(raw).decode("utf-8", "surrogateescape")


def index_live(objects):
    """The live objects keyed by "Kind/name", without bookkeeping metadata.

    A Secret becomes {'metadata', 'data' (each value base64-decoded to text), 'raw' (the data as
    the API returned it)}; other objects are kept whole.
    """
    out = {}
    for obj in objects or []:
        meta = dict((k, v) for k, v in obj["metadata"].items() if k not in BOOKKEEPING)
        name = text(obj["metadata"]["name"])
        if obj.get("kind") == "Secret":
            raw = default_true(obj.get("data"), {})
            data = dict((k, _b64decode(v)) for k, v in raw.items())
            out["Secret/" + name] = {"metadata": meta, "data": data, "raw": raw}
        else:
            entry = dict(obj)
            entry["metadata"] = meta
            out[text(obj.get("kind")) + "/" + name] = entry
    return out


def _annotation(obj, key):
    return default_true(lookup(obj, "metadata", "annotations"), {}).get(key, "")


def current_state(live, names, version_annotation):
    """Current settings of the running stack, read from the live index (nothing secret).

    `names` is the role's `_mlflow_names`; `version_annotation` the annotation with the MLflow
    version on the tracking Deployment and on the database Secret.
    """
    live = live or {}
    cfg = default_true(lookup(live.get("ConfigMap/" + names["config"]), "data"), {})
    trk = live.get("Deployment/" + names["tracking"], {})
    mdl = live.get("Deployment/" + names["models"], {})
    db = live.get("Secret/" + names["database"], live.get("Secret/" + names["postgresql"], {}))
    hosts = {}
    for key, obj in live.items():
        if key.startswith("Route/"):
            spec = mapping(obj.get("spec"))
            hosts[obj["metadata"]["name"]] = spec.get("host", "")
    containers = lookup(trk, "spec", "template", "spec", "containers")
    if containers is None:
        containers = [{}]
    mlflow = [c for c in containers if isinstance(c, Mapping) and c.get("name") == "mlflow"]
    models_cfg = default_true(lookup(live.get("ConfigMap/" + names["models_cfg"]), "data"), {})
    return {
        "exists": trk != {},
        "config": cfg,
        "version": default_true(_annotation(trk, version_annotation), _annotation(db, version_annotation)),
        "image": mlflow[0].get("image", "") if mlflow else "",
        "tracking_replicas": mapping(trk.get("spec")).get("replicas", 1),
        "models_replicas": mapping(mdl.get("spec")).get("replicas", 0),
        "models_uri": models_cfg.get("MODELS_URI", ""),
        "route_hosts": hosts,
    }


def _applied_hosts(applied_result):
    return dict((obj["metadata"]["name"], mapping(obj.get("spec")).get("host", "")) for obj in applied_objects(applied_result))


def route_hosts(given, live_hosts, applied_result, names):
    """Public host names: given, else from the Routes just applied, else from the live Routes.

    `given` = {'tracking', 'models', 'minio', 'presigned'} (the role's *_route_host variables); `live_hosts` =
    current_state()['route_hosts']; `applied_result` = the registered result of the
    kubernetes.core.k8s task that applied the Routes (None or skipped when it did not run): with
    a list of definitions its `result.results[*].result`, with one its `result`.
    """
    given = given or {}
    live_hosts = live_hosts or {}
    applied = _applied_hosts(applied_result)
    out = {}
    for role in ("tracking", "models", "minio", "presigned"):
        name = names.get(role)
        out[role] = given.get(role) or (applied.get(name, live_hosts.get(name, "")) if name else "")
    return out


def _ref(api_version, kind, name, namespace=None):
    ref = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    if namespace:
        ref["metadata"]["namespace"] = namespace
    return ref


def _stack_ref(kind, name, namespace=None):
    return _ref(kinds.api_version(kind), kind, name, namespace)


def obsolete_objects(live, objects):
    """The live objects of the stack (read by its labels) that this run did not render, of the kinds the table
    prunes (kinds.py: not Secrets and PVCs, which hold credentials and data, not Jobs), in reverse apply order.

    That is whatever an earlier configuration wanted and this one does not: the pre-signed path once it is off,
    the gc and backup CronJobs once their schedule is empty, the metrics objects, the tracking server's
    PodDisruptionBudget and autoscaler, the in-cluster PostgreSQL once the database is external, MinIO once it
    is no longer the store, its Route outside direct mode, an object a former version of the collection made.
    An object of another namespace (an Istio AuthorizationPolicy lives in its Gateway's) is referred to with it.
    """
    rendered = set("%s/%s" % (o.get("kind"), lookup(o, "metadata", "name")) for o in objects or [])
    pruned = kinds.pruned_kinds()
    gone = [key.split("/", 1) for key in (live or {}) if key not in rendered]
    gone = [(kind, name) for kind, name in gone if kind in pruned]
    gone.sort(key=lambda ref: (-kinds.apply_rank(ref[0]), ref[1]))
    return [_stack_ref(kind, name, _foreign_namespace(live["%s/%s" % (kind, name)])) for kind, name in gone]


def _foreign_namespace(obj):
    # The namespace of a live object kept apart from the stack's (its policies in a Gateway's namespace).
    labels = default_true(lookup(obj, "metadata", "labels"), {})
    return lookup(obj, "metadata", "namespace") if FOREIGN_LABEL in labels else None


def object_refs(objects, api_version=None, kind=None, namespace=None):
    """[{'apiVersion', 'kind', 'metadata': {'name'}}] for each object (to delete them).

    `api_version` and `kind`, when given, are used instead of the objects' own (list responses
    of the API may leave them out of the items); `namespace`, when given, is named in each reference (an object
    outside the stack's namespace).
    """
    return [
        _ref(api_version or obj.get("apiVersion"), kind or obj.get("kind"), obj["metadata"]["name"], namespace)
        for obj in objects or []
    ]
