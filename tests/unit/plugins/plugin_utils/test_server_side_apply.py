"""plugin_utils/stack_apply.py: the server-side applies in order, the first one's ownership takeover from the
client-side appliers, check mode, a refusal, on an in-memory API that answers as the API server does
(resourceVersion kept when nothing changes). tests/modules/test_stack_apply.py runs it against the test
cluster's API server."""

import copy
import json

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils.apply_plan import LAST_APPLIED, applied_objects
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import ApiError, warning_texts
from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_apply import (
    ApplyFailed, annotated, apply_objects, combined, fields_union, in_namespace, ownership_takeover)


class MemoryApi(object):
    """Objects by (kind, namespace, name); an apply bumps resourceVersion when it changes the object."""

    def __init__(self, existing=(), refuse=()):
        self.objects = dict(((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]), o) for o in existing)
        self.refuse = set(refuse)
        self.version = 0
        self.requests = []

    def _stored(self, body, managed_fields):
        self.version += 1
        stored = copy.deepcopy(body)
        stored["metadata"].update(resourceVersion=str(self.version), managedFields=managed_fields)
        return stored

    def get(self, api_version, kind, namespace, name):
        self.requests.append(("get", kind, name))
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def replace_managed_fields(self, obj, managed_fields):
        self.requests.append(("takeover", obj["kind"], obj["metadata"]["name"]))
        key = (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        self.objects[key] = self._stored(self.objects[key], managed_fields)
        return copy.deepcopy(self.objects[key])

    def server_side_apply(self, body, namespace, field_manager, force_conflicts=True, dry_run=False):
        self.requests.append(("apply", body["kind"], body["metadata"]["name"]))
        if body["metadata"]["name"] in self.refuse:
            raise ApiError(422, "Invalid", "%s %s is invalid" % (body["kind"], body["metadata"]["name"]))
        key = (body["kind"], namespace, body["metadata"]["name"])
        before = self.objects.get(key)
        unchanged = before is not None and dict(before, metadata=None) == dict(body, metadata=None) and (
            before["metadata"].get("annotations") == body["metadata"].get("annotations"))
        after = before if unchanged else self._stored(body, [{"manager": field_manager, "operation": "Apply"}])
        if not dry_run:
            self.objects[key] = after
        return copy.deepcopy(after), ["a warning"] if body["kind"] == "Deployment" else []


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "annotations": {"a": "1"}}, "data": {"K": "v"}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
DEP = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 0}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "x"}}


def test_every_object_but_a_secret_carries_what_was_applied():
    obj = in_namespace(CM, "ns")
    assert obj["metadata"]["namespace"] == "ns" and "namespace" not in CM["metadata"]
    assert in_namespace(dict(CM, metadata={"name": "x", "namespace": "other"}), "ns")["metadata"]["namespace"] == "other"
    body = annotated(obj)
    assert json.loads(body["metadata"]["annotations"][LAST_APPLIED]) == obj and body["metadata"]["annotations"]["a"] == "1"
    assert LAST_APPLIED not in obj["metadata"]["annotations"]  # the input is left alone
    assert annotated(SECRET) == SECRET  # the annotation would hold the values


def test_the_client_side_appliers_fields_move_to_the_applying_manager():
    status = {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
              "fieldsV1": {"f:status": {}}}
    hand = {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:spec": {"f:paused": {}}}}
    core = {"manager": "OpenAPI-Generator", "operation": "Update", "apiVersion": "apps/v1", "time": "t1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {".": {}}}}}}
    mine = {"manager": "csc.mlflow", "operation": "Update", "apiVersion": "apps/v1", "time": "t0",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}}}
    moved = ownership_takeover([mine, core, status, hand], "csc.mlflow")
    assert moved[1:] == [status, hand]  # a subresource's and a hand edit's stay theirs
    assert moved[0] == {"manager": "csc.mlflow", "operation": "Apply", "apiVersion": "apps/v1", "time": "t0",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": fields_union(mine["fieldsV1"], core["fieldsV1"])}
    assert moved[0]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}},
                                    "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {".": {}}}}}
    applying = {"manager": "csc.mlflow", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {"f:x": {}}}}}
    again = ownership_takeover([applying, core], "csc.mlflow")
    assert again == [dict(applying, fieldsV1={"f:spec": {"f:replicas": {}, "f:template": {"f:x": {}, "f:spec": {".": {}}}}})]
    assert ownership_takeover([applying, status, hand], "csc.mlflow") is None  # nothing to move: no request
    assert ownership_takeover(None, "csc.mlflow") is None


def test_applies_in_order_taking_over_once_and_says_what_changed():
    core = {"manager": "OpenAPI-Generator", "operation": "Update", "fieldsV1": {"f:spec": {}}}
    existing = dict(in_namespace(annotated(in_namespace(SVC, "ns")), "ns"))
    existing["metadata"].update(resourceVersion="100", managedFields=[core])
    api = MemoryApi(existing=[existing])
    results = apply_objects(api, [CM, SVC, DEP], "ns", "csc.mlflow")
    assert [(r["result"]["kind"], r["changed"]) for r in results] == [
        ("ConfigMap", True), ("Service", False), ("Deployment", True)]
    assert [r for r in api.requests if r[0] == "takeover"] == [("takeover", "Service", "web")]
    assert results[2]["warnings"] == ["a warning"] and "warnings" not in results[0]
    api.requests.clear()
    assert not any(r["changed"] for r in apply_objects(api, [CM, SVC, DEP], "ns", "csc.mlflow"))
    assert [r for r in api.requests if r[0] == "takeover"] == []


def test_check_mode_writes_nothing_and_diff_shows_both_sides():
    api = MemoryApi()
    results = apply_objects(api, [CM, SECRET], "ns", "csc.mlflow", check_mode=True, diff=True)
    assert [r["changed"] for r in results] == [True, True] and api.objects == {}
    assert results[0]["diff"]["before"] == {} and results[0]["diff"]["after"]["data"] == {"K": "v"}
    assert "resourceVersion" not in results[0]["diff"]["after"]["metadata"]


def test_a_refusal_names_the_object_and_keeps_what_was_applied_before_it():
    with pytest.raises(ApplyFailed) as failed:
        apply_objects(MemoryApi(refuse={"web"}), [CM, SVC, DEP], "ns", "csc.mlflow")
    assert str(failed.value) == "Failed to apply Service web: 422 Service web is invalid"
    assert failed.value.error.status_reason == "Invalid" and [r["result"]["kind"] for r in failed.value.results] == ["ConfigMap"]


def test_a_refusal_in_another_namespace_says_the_user_may_not_write_there():
    class Forbidden(MemoryApi):
        def server_side_apply(self, body, namespace, field_manager, force_conflicts=True, dry_run=False):
            raise ApiError(403, "Forbidden", "authorizationpolicies is forbidden: User cannot create in %s" % namespace)

    policy = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "ml-mlflow-allowlist", "namespace": "infra"}}
    with pytest.raises(ApplyFailed) as failed:
        apply_objects(Forbidden(), [policy], "ml", "csc.mlflow")
    assert "namespace infra is not the stack's: the deploying user may not write there" in str(failed.value)
    with pytest.raises(ApplyFailed) as failed:
        apply_objects(Forbidden(), [CM], "ml", "csc.mlflow")
    assert "is not the stack's" not in str(failed.value)


def test_results_are_shaped_as_kubernetes_cores():
    one = {"changed": True, "method": "apply", "result": {"kind": "Service"}}
    assert combined([one]) == one
    assert combined([one, dict(one, changed=False)]) == {"changed": True, "result": {"results": [one, dict(one, changed=False)]}}
    # what stack_plan and route_hosts read back from either shape
    assert applied_objects(combined([one, one])) == [{"kind": "Service"}] * 2
    assert applied_objects(one) == [{"kind": "Service"}] and applied_objects({"skipped": True}) == []


def test_warning_headers_give_their_texts():
    pod_security = '299 - "would violate PodSecurity \\"restricted:latest\\": a, b"'
    assert warning_texts({"Warning": pod_security}) == ['would violate PodSecurity "restricted:latest": a, b']
    assert warning_texts({"Warning": pod_security + ', 299 - "second"'})[1:] == ["second"]
    assert warning_texts({}) == [] and warning_texts({"Warning": "not a warning"}) == []
