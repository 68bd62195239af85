"""Pure logic of plugins/plugin_utils/stack_objects.py: apply order and the pods' checksums."""

from __future__ import annotations

import hashlib
import json

from ansible_collections.csc.mlflow.plugins.plugin_utils import stack_objects as so


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


CFG = {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"A": "1", "B": "2"}}
NGINX = {"kind": "ConfigMap", "metadata": {"name": "nginx"}, "data": {"nginx.conf": "x", "models.conf": "y"}}
SECRET = {"kind": "Secret", "metadata": {"name": "s3"}, "data": {"KEY": "a2V5", "SECRET": "c2Vj"}}


def deployment(name, pod_spec):
    return {"kind": "Deployment", "metadata": {"name": name}, "spec": {"template": {"metadata": {}, "spec": pod_spec}}}


def sums(obj):
    return obj["spec"]["template"]["metadata"].get("annotations", {})


def test_objects_are_sorted_by_kind_and_keep_their_order_within_a_kind():
    parts = [[deployment("pg", {}), {"kind": "Service", "metadata": {"name": "pg"}}],
             [{"kind": "Route", "metadata": {"name": "t"}}, CFG, {"kind": "Service", "metadata": {"name": "t"}}]]
    out = so.stack_objects(parts)
    assert [(o["kind"], o["metadata"]["name"]) for o in out] == [
        ("ConfigMap", "cfg"), ("Service", "pg"), ("Service", "t"), ("Deployment", "pg"), ("Route", "t")]


def test_a_whole_object_read_sums_its_data_as_ansible_to_json_does():
    pod = {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "s3"}}]}]}
    out = so.stack_objects([[CFG, deployment("d", pod)]], secrets=[SECRET])
    assert sums(out[1]) == {"checksum/cfg": sha(json.dumps(CFG["data"])), "checksum/s3": sha(json.dumps(SECRET["data"]))}


def test_one_key_read_sums_that_value_only():
    pod = {"containers": [{"name": "c", "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "A"}}}]}]}
    out = so.stack_objects([[CFG, deployment("d", pod)]])
    assert sums(out[1]) == {"checksum/cfg": sha("1")}


def test_every_key_read_one_by_one_counts_as_the_whole_object():
    env = [{"name": k, "valueFrom": {"secretKeyRef": {"name": "s3", "key": k}}} for k in ("KEY", "SECRET")]
    out = so.stack_objects([[deployment("d", {"containers": [{"name": "c", "env": env}]})]], secrets=[SECRET])
    assert sums(out[0]) == {"checksum/s3": sha(json.dumps(SECRET["data"]))}


def test_a_volume_mounted_by_sub_path_sums_the_mounted_key_only():
    pod = {"volumes": [{"name": "conf", "configMap": {"name": "nginx"}}],
           "containers": [{"name": "n", "volumeMounts": [{"name": "conf", "mountPath": "/etc/nginx/nginx.conf", "subPath": "models.conf"}]}]}
    out = so.stack_objects([[NGINX, deployment("m", pod)]])
    assert sums(out[1]) == {"checksum/nginx": sha("y")}


def test_volume_items_and_whole_volumes():
    pod = {"volumes": [{"name": "ht", "secret": {"secretName": "s3", "items": [{"key": "KEY", "path": "k"}]}},
                       {"name": "conf", "configMap": {"name": "nginx"}}],
           "containers": [{"name": "n", "volumeMounts": [{"name": "ht", "mountPath": "/a"}, {"name": "conf", "mountPath": "/b"}]}]}
    out = so.stack_objects([[NGINX, deployment("m", pod)]], secrets=[SECRET])
    assert sums(out[1]) == {"checksum/nginx": sha(json.dumps(NGINX["data"])), "checksum/s3": sha("a2V5")}


def test_what_is_not_rendered_is_not_summed_and_inputs_are_not_changed():
    pod = {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "elsewhere"}}]}]}
    dep = deployment("d", pod)
    out = so.stack_objects([[dep]])
    assert sums(out[0]) == {}
    assert dep["spec"]["template"]["metadata"] == {}


def test_annotations_are_added_by_kind_and_name():
    out = so.stack_objects([[CFG]], annotations={"ConfigMap/cfg": {"csc.mlflow/settings": "{}"}})
    assert out[0]["metadata"]["annotations"] == {"csc.mlflow/settings": "{}"}
    assert "annotations" not in CFG["metadata"]
