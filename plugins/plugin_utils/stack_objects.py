# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The stack's objects from the services' rendered parts: one list in apply order, each
Deployment's pod template annotated with checksums of the ConfigMaps and Secrets it reads (so
that a change of what a pod reads rolls exactly the pods that read it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import apply_rank

CHECKSUM_PREFIX = "checksum/"
WHOLE = None


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _to_json(value):
    # Ansible's to_json (json.dumps defaults): the checksums stay those earlier releases wrote.
    return json.dumps(value)


def _read_keys(reads, kind, name, key):
    """Record that the pod reads `key` of kind/name (WHOLE: every key)."""
    ref = (kind, name)
    if key is WHOLE or reads.get(ref, set()) is WHOLE:
        reads[ref] = WHOLE
    else:
        reads.setdefault(ref, set()).add(key)


def pod_reads(pod_spec):
    """{(kind, name): set of keys, or None for the whole object} that a pod spec reads."""
    reads = {}
    volumes = {}
    for volume in pod_spec.get("volumes") or []:
        for kind, field, name_key in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
            source = volume.get(field)
            if source:
                volumes[volume["name"]] = (kind, source[name_key], [i["key"] for i in source.get("items") or []])
    containers = (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or [])
    sub_paths = {}
    for container in containers:
        for ref in container.get("envFrom") or []:
            if "configMapRef" in ref:
                _read_keys(reads, "ConfigMap", ref["configMapRef"]["name"], WHOLE)
            if "secretRef" in ref:
                _read_keys(reads, "Secret", ref["secretRef"]["name"], WHOLE)
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            if "configMapKeyRef" in source:
                _read_keys(reads, "ConfigMap", source["configMapKeyRef"]["name"], source["configMapKeyRef"]["key"])
            if "secretKeyRef" in source:
                _read_keys(reads, "Secret", source["secretKeyRef"]["name"], source["secretKeyRef"]["key"])
        for mount in container.get("volumeMounts") or []:
            if mount["name"] in volumes:
                sub_paths.setdefault(mount["name"], []).append(mount.get("subPath"))
    for volume, mounted in sub_paths.items():
        kind, name, items = volumes[volume]
        keys = items or ([] if None in mounted else mounted)
        if not keys:
            _read_keys(reads, kind, name, WHOLE)
        for key in keys:
            _read_keys(reads, kind, name, key)
    return reads


def read_checksum(obj, keys):
    """The checksum of what a pod reads of obj: one key's value (what enable_models.yml writes for
    MODELS_URI), the whole data when it reads every key, else the keys it reads."""
    data = obj.get("data") or {}
    if keys is not WHOLE and len(keys) == 1:
        return _sha256(str(data.get(next(iter(keys)), "")))
    if keys is WHOLE or set(keys) >= set(data):
        return _sha256(_to_json(data))
    return _sha256(_to_json(dict((k, data.get(k)) for k in sorted(keys))))


def checksum_annotations(pod_spec, sources):
    """checksum/<name> for every ConfigMap and Secret of `sources` the pod spec reads."""
    out = {}
    for (kind, name), keys in sorted(pod_reads(pod_spec).items(), key=lambda item: item[0]):
        obj = sources.get((kind, name))
        if obj is not None:
            out[CHECKSUM_PREFIX + name] = read_checksum(obj, keys)
    return out


def _rank(obj):
    return apply_rank(obj.get("kind"))


def stack_objects(parts, secrets=None, annotations=None):
    """The objects of every part (lists, in service order) in apply order (stable), with
    checksum annotations on the Deployments' pod templates, computed from the ConfigMaps of the
    parts and the given Secrets. `annotations` adds metadata annotations: {"Kind/name": {...}}."""
    objects = [obj for part in parts for obj in (part or []) if obj]
    objects.sort(key=_rank)
    sources = dict(((o["kind"], o["metadata"]["name"]), o) for o in objects + list(secrets or [])
                   if o.get("kind") in ("ConfigMap", "Secret"))
    out = []
    for obj in objects:
        key = "%s/%s" % (obj["kind"], obj["metadata"]["name"])
        extra = (annotations or {}).get(key)
        if extra or obj["kind"] == "Deployment":
            obj = json.loads(json.dumps(obj))
        if extra:
            obj["metadata"].setdefault("annotations", {}).update(extra)
        if obj["kind"] == "Deployment":
            template = obj["spec"]["template"]
            sums = checksum_annotations(template["spec"], sources)
            if sums:
                template.setdefault("metadata", {}).setdefault("annotations", {}).update(sums)
        out.append(obj)
    return out
