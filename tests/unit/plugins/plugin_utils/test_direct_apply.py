"""plugin_utils/stack_apply.py: what the plain client applies itself and what it leaves to kubernetes.core, on an
in-memory API that answers as the API server does (409 AlreadyExists, resourceVersion kept when nothing changes).
The objects it makes are compared with kubernetes.core's on the test cluster (tests/modules/test_stack_apply.py)."""

import json

import pytest

from ansible_collections.csc.mlflow.plugins.module_utils.apply_plan import LAST_APPLIED, applied_objects
from ansible_collections.csc.mlflow.plugins.plugin_utils.kubeconfig_client import ApiError
from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_apply import (
    ApplyFailed, annotated, apply_directly, combined, in_namespace, module_results)
from ansible_collections.kubernetes.core.plugins.module_utils.apply import annotate


class MemoryApi(object):
    """Objects by (kind, namespace, name); creates refuse what exists, applies bump resourceVersion on a change."""

    def __init__(self, existing=(), refuse=()):
        self.objects = dict(((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]), o) for o in existing)
        self.refuse = set(refuse)
        self.version = 0

    def _stored(self, body):
        self.version += 1
        stored = json.loads(json.dumps(body))
        stored["metadata"]["resourceVersion"] = str(self.version)
        return stored

    def create(self, api_version, kind, body, namespace=None):
        key = (kind, namespace, body["metadata"]["name"])
        if body["metadata"]["name"] in self.refuse:
            raise ApiError(422, "Unprocessable Entity", "%s is invalid" % body["metadata"]["name"], "Invalid")
        if key in self.objects:
            raise ApiError(409, "Conflict", "already exists", "AlreadyExists")
        self.objects[key] = self._stored(body)
        return self.objects[key]

    def get(self, api_version, kind, namespace, name):
        return self.objects.get((kind, namespace, name))

    def server_side_apply(self, body, namespace, field_manager, force_conflicts):
        key = (body["kind"], namespace, body["metadata"]["name"])
        before = self.objects.get(key)
        if before is not None and dict(before, metadata=body["metadata"]) == dict(body, metadata=body["metadata"]):
            return before
        self.objects[key] = self._stored(body)
        return self.objects[key]


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "annotations": {"a": "1"}}, "data": {"K": "v"}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
DEP = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 0}}


def test_the_created_object_carries_kubernetes_cores_annotation():
    obj = in_namespace(CM, "ns")
    assert obj["metadata"]["namespace"] == "ns" and "namespace" not in CM["metadata"]
    assert in_namespace(dict(CM, metadata={"name": "x", "namespace": "other"}), "ns")["metadata"]["namespace"] == "other"
    body = annotated(obj)
    # kubernetes.core's apply_object creates dict_merge(definition, annotate(definition))
    assert body["metadata"]["annotations"] == dict(obj["metadata"]["annotations"],
                                                   **annotate(obj)["metadata"]["annotations"])
    assert json.loads(body["metadata"]["annotations"][LAST_APPLIED]) == obj
    assert LAST_APPLIED not in obj["metadata"]["annotations"]  # the input is left alone


def test_creates_until_an_object_exists_then_leaves_it_and_the_rest():
    api = MemoryApi(existing=[in_namespace(SVC, "ns")])
    done, rest = apply_directly(api, [CM, SVC, DEP], "ns")
    assert [(r["result"]["kind"], r["changed"], r["method"]) for r in done] == [("ConfigMap", True, "apply")]
    assert rest == [SVC, DEP]  # in order, as given: kubernetes.core sets the namespace again
    assert ("Deployment", "ns", "web") not in api.objects  # nothing after the first existing object


def test_a_kind_it_does_not_know_and_the_rest_are_left_to_kubernetes_core():
    other = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
    done, rest = apply_directly(MemoryApi(), [CM, other, DEP], "ns")
    assert [r["result"]["kind"] for r in done] == ["ConfigMap"] and rest == [other, DEP]


def test_server_side_apply_goes_on_over_existing_objects_and_says_what_changed():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "x"}}
    api = MemoryApi(existing=[in_namespace(secret, "ns")])
    done, rest = apply_directly(api, [secret, dict(secret, stringData={"p": "y"}), SVC], "ns", field_manager="m")
    assert rest == [] and [r["changed"] for r in done] == [False, True, True]
    assert LAST_APPLIED not in (api.objects[("Secret", "ns", "s")]["metadata"].get("annotations") or {})


def test_a_refusal_names_the_object_and_keeps_what_was_applied_before_it():
    with pytest.raises(ApplyFailed) as failed:
        apply_directly(MemoryApi(refuse={"web"}), [CM, SVC, DEP], "ns")
    assert str(failed.value) == "Failed to apply Service web: 422 Unprocessable Entity: web is invalid"
    assert failed.value.error.status_reason == "Invalid" and [r["result"]["kind"] for r in failed.value.results] == ["ConfigMap"]


def test_results_are_shaped_as_kubernetes_cores():
    one = {"changed": True, "method": "apply", "result": {"kind": "Service"}, "invocation": {"module_args": {}}}
    several = {"changed": True, "result": {"results": [one, dict(one, changed=False)]}}
    assert module_results(one) == [{"changed": True, "method": "apply", "result": {"kind": "Service"}}]
    assert [r["changed"] for r in module_results(several)] == [True, False]
    assert "invocation" not in module_results(several)[0]
    assert combined(module_results(one)) == module_results(one)[0]
    assert combined(module_results(several)) == {"changed": True, "result": {"results": module_results(several)}}
    # what stack_plan and route_hosts read back from either shape
    assert applied_objects(combined(module_results(several))) == [{"kind": "Service"}] * 2
    assert applied_objects(one) == [{"kind": "Service"}] and applied_objects({"skipped": True}) == []
