"""What a namespace holds, as a comparable snapshot: which objects a playbook wrote, and with what."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

# Kinds that churn on their own (or mirror other objects) and say nothing about
# what a playbook changed; left out of snapshots.
_SNAPSHOT_SKIP = {
    ("", "events"),
    ("events.k8s.io", "events"),
    ("", "bindings"),
    ("coordination.k8s.io", "leases"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
}
_VOLATILE_META = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")


def object_hash(obj: Mapping[str, Any]) -> str:
    """sha256 (16 hex) of an object without status and server-set metadata."""
    o = dict(obj)
    o.pop("status", None)
    meta = dict(o.get("metadata") or {})
    for k in _VOLATILE_META:
        meta.pop(k, None)
    o["metadata"] = meta
    return hashlib.sha256(json.dumps(o, sort_keys=True, default=str).encode()).hexdigest()[:16]


def written_stamp(obj: Mapping[str, Any], content_hash: str) -> str:
    """What changes with every write to ``obj`` except writes to its status subresource."""
    writes = sorted(
        (f.get("manager", ""), f.get("operation", ""), f.get("time", ""), json.dumps(f.get("fieldsV1"), sort_keys=True))
        for f in (obj.get("metadata") or {}).get("managedFields") or [] if f.get("subresource") != "status")
    return hashlib.sha256(json.dumps([content_hash, writes]).encode()).hexdigest()[:16]


class Snapshots:
    """Snapshots of a namespace (a part of Cluster)."""

    def _namespaced_list_paths(self) -> list[tuple[str, str, str]]:
        """(group, resource, list path template) for every listable namespaced resource."""
        out: list[tuple[str, str, str]] = []
        core = self.get_json("/api/v1")
        for r in core.get("resources", []):
            if r.get("namespaced") and "/" not in r["name"] and "list" in r.get("verbs", []):
                out.append(("", r["name"], "/api/v1/namespaces/{ns}/" + r["name"]))
        groups = self.get_json("/apis")
        for g in groups.get("groups", []):
            gv = g["preferredVersion"]["groupVersion"]
            try:
                res = self.get_json(f"/apis/{gv}")
            except Exception:  # an aggregated API that is down
                continue
            for r in res.get("resources", []):
                if r.get("namespaced") and "/" not in r["name"] and "list" in r.get("verbs", []):
                    out.append((g["name"], r["name"], f"/apis/{gv}/namespaces/{{ns}}/" + r["name"]))
        return [t for t in out if (t[0], t[1]) not in _SNAPSHOT_SKIP]

    def snapshot(self, namespace: str) -> dict[str, tuple[str, int | None, str]]:
        """Every object in ``namespace``: ``{"Kind/name": (written, generation, hash)}``.

        The hash covers the whole object except status and server-set metadata, so
        two snapshots differ exactly where an object was written with other content.
        ``written`` also changes when a write with equal content changed who manages a
        field; the status writes of the cluster's controllers (an autoscaler's
        conditions, a Deployment's ready count) change neither.
        """
        snap: dict[str, tuple[str, int | None, str]] = {}
        for group, _resource, tmpl in self._namespaced_list_paths():
            lst = self.get_json(tmpl.format(ns=namespace))
            kind = (lst.get("kind") or "").removesuffix("List")
            for item in lst.get("items", []):
                meta = item.get("metadata", {})
                key = f"{kind}/{meta.get('name')}"
                if key in snap and group:
                    key = f"{kind}.{group}/{meta.get('name')}"
                content = object_hash(item)
                snap[key] = (written_stamp(item, content), meta.get("generation"), content)
        return snap
