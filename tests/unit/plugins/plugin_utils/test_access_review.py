"""access_review: questions as SelfSubjectAccessReview bodies, and which answers allow (pure logic)."""

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils.access_review import review_allowed, review_body


def attributes(question, namespace="p"):
    return review_body(question, namespace)["spec"]["resourceAttributes"]


def test_questions_become_resource_attributes():
    assert attributes("create servicemonitors.monitoring.coreos.com") == {
        "namespace": "p", "verb": "create", "group": "monitoring.coreos.com", "resource": "servicemonitors"}
    assert attributes("list pods") == {"namespace": "p", "verb": "list", "group": "", "resource": "pods"}
    assert attributes("create routes/custom-host.route.openshift.io") == {
        "namespace": "p", "verb": "create", "group": "route.openshift.io", "resource": "routes",
        "subresource": "custom-host"}
    body = review_body("delete servicemonitors.monitoring.coreos.com", "proj")
    assert (body["apiVersion"], body["kind"]) == ("authorization.k8s.io/v1", "SelfSubjectAccessReview")


@pytest.mark.parametrize("question", ["", "create", "create  ", "Create pods", "create pods now", "get pods/",
                                      "get Pods", None, ["list", "pods"], "list pods;rm"])
def test_malformed_questions_are_refused(question):
    with pytest.raises(ValueError):
        review_body(question, "p")


@pytest.mark.parametrize("review, allowed", [
    ({"status": {"allowed": True}}, True),
    ({"status": {"allowed": False, "reason": "RBAC: no rule"}}, False),
    ({"status": {"allowed": True, "denied": True}}, False),
    ({"status": {}}, False),
    ({}, False),
    (None, False),
])
def test_only_an_allowing_answer_allows(review, allowed):
    assert review_allowed(review) is allowed
