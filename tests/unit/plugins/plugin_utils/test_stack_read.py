"""stack_read and template_paths: what the API groups say about the platform, where
templates rendered together find their includes (pure logic; the reads themselves run against the test
cluster in every lifecycle test)."""

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_read import platform_facts
from ansible_collections.csc.mlflow.plugins.plugin_utils.template_paths import template_search_path

OPENSHIFT_GROUPS = ["", "apps", "route.openshift.io", "build.openshift.io", "quota.openshift.io", "monitoring.coreos.com"]


def test_auto_detects_openshift_from_its_route_api():
    assert platform_facts("auto", OPENSHIFT_GROUPS) == {
        "openshift": True, "has_builds": True, "has_monitoring_api": True, "has_quota_api": True}
    assert platform_facts("auto", ["", "apps", "networking.k8s.io"]) == {
        "openshift": False, "has_builds": False, "has_monitoring_api": False, "has_quota_api": False}


def test_a_named_platform_wins_over_the_groups():
    assert platform_facts("openshift", [])["openshift"] is True
    # mlflow_platform: kubernetes asks for no groups at all
    assert platform_facts("kubernetes", None) == {
        "openshift": False, "has_builds": False, "has_monitoring_api": False, "has_quota_api": False}
    assert platform_facts("kubernetes", OPENSHIFT_GROUPS)["openshift"] is False


def test_an_unknown_platform_is_refused():
    with pytest.raises(ValueError, match="openshif"):
        platform_facts("openshif", [])


def test_templates_find_their_own_directory_the_role_templates_then_the_task_path():
    files = ["/c/roles/mlflow_postgresql/templates/postgresql/manifests.yaml.j2",
             "/c/roles/mlflow_minio/templates/minio/manifests.yaml.j2"]
    assert template_search_path(files, ["/c/roles/mlflow", "/c/playbooks"]) == [
        "/c/roles/mlflow_postgresql/templates/postgresql", "/c/roles/mlflow_postgresql/templates",
        "/c/roles/mlflow_minio/templates/minio", "/c/roles/mlflow_minio/templates",
        "/c/roles/mlflow/templates", "/c/roles/mlflow", "/c/playbooks/templates", "/c/playbooks"]


def test_a_directory_is_searched_once_in_its_first_place():
    assert template_search_path(["/r/templates/a.j2", "/r/templates/b.j2"], ["/r"]) == ["/r/templates", "/r"]
    assert template_search_path([], None) == []


def test_a_gateway_kind_the_cluster_does_not_serve_reads_as_none():
    from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import KindNotServed
    from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_read import read_stack

    class Api(object):
        asked = []

        def api_groups(self):
            raise AssertionError("mlflow_platform=kubernetes asks for no groups")

        def items(self, version, kind, namespace, label_selector=None):
            self.asked.append(kind)
            if kind in ("SecurityPolicy", "AuthorizationPolicy"):
                raise KindNotServed(kind)
            if kind == "HTTPRoute":
                return [{"kind": "HTTPRoute", "metadata": {"name": "ml"}}]
            return []

    api = Api()
    got = read_stack(api, "ml", "x=y", platform="kubernetes")
    assert "HTTPRoute/ml" in got["live"] and {"SecurityPolicy", "AuthorizationPolicy"} <= set(api.asked)

    class Forbidden(Exception):
        status = 403

    class Denied(Api):  # a project admin where the cluster serves the API but no role grants it
        def items(self, version, kind, namespace, label_selector=None):
            if kind in ("HTTPRoute", "SecurityPolicy", "AuthorizationPolicy"):
                raise Forbidden(kind)
            return []

    assert read_stack(Denied(), "ml", "x=y", platform="kubernetes")["live"] == {}

    class Strict(Api):
        def items(self, version, kind, namespace, label_selector=None):
            raise KindNotServed(kind)

    with pytest.raises(KindNotServed):
        read_stack(Strict(), "ml", "x=y", platform="kubernetes")  # a kind every stack has is not optional
