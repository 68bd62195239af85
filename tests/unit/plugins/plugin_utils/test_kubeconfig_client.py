"""kubeconfig_client: which connections the plain HTTPS client makes itself (exactly as kubernetes.core would)
and which it leaves to kubernetes.core; the paths and list items it works with. The reads themselves are
compared with kubernetes.core's against the test cluster (tests/integration/test_read_clients.py)."""

import base64

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils.kubeconfig_client import (
    kubeconfig_path, list_items, list_path, simple_connection, warning_texts)

HOME = "/home/u"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def config(cluster=None, user=None, current="c"):
    return {
        "current-context": current,
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "ns"}},
                     {"name": "other", "context": {"cluster": "k", "user": "u2"}}],
        "clusters": [{"name": "k", "cluster": cluster if cluster is not None else
                      {"server": "https://api.example:6443", "certificate-authority-data": b64("CA")}}],
        "users": [{"name": "u", "user": user if user is not None else {"token": "sha256~t"}},
                  {"name": "u2", "user": {"client-certificate": "c.crt", "client-key": "/abs/c.key"}}],
    }


def test_the_kubeconfig_kubernetes_core_would_use():
    assert kubeconfig_path({}, {}, HOME) == ("/home/u/.kube/config", None)
    assert kubeconfig_path({}, {"KUBECONFIG": "/k/a"}, HOME) == ("/k/a", None)
    assert kubeconfig_path({}, {"KUBECONFIG": "/k/a", "K8S_AUTH_KUBECONFIG": "/k/b"}, HOME) == ("/k/b", None)
    assert kubeconfig_path({"kubeconfig": "/k/c", "context": None}, {"K8S_AUTH_KUBECONFIG": "/k/b",
                                                                     "K8S_AUTH_CONTEXT": "x"}, HOME) == ("/k/c", "x")
    assert kubeconfig_path({"context": "y", "kubeconfig": ""}, {}, HOME) == ("/home/u/.kube/config", "y")


def test_other_connections_are_left_to_kubernetes_core():
    # connection settings only kubernetes.core knows
    assert kubeconfig_path({"host": "https://h"}, {}, HOME) is None
    assert kubeconfig_path({}, {"K8S_AUTH_API_KEY": "t"}, HOME) is None
    assert kubeconfig_path({}, {"K8S_AUTH_VERIFY_SSL": "no", "KUBECONFIG": "/k/a"}, HOME) is None
    assert kubeconfig_path({}, {"K8S_AUTH_PROXY_HEADERS_BASIC_AUTH": "a:b"}, HOME) is None
    # in a pod (AWX), kubernetes.core tries the pod's service account first
    assert kubeconfig_path({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBECONFIG": "/k/a"}, HOME) is None
    # ... unless a kubeconfig or a context is named
    assert kubeconfig_path({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "K8S_AUTH_KUBECONFIG": "/k/a"}, HOME) == ("/k/a", None)
    # several files are merged; a kubeconfig given as a dictionary
    assert kubeconfig_path({}, {"KUBECONFIG": "/k/a:/k/b"}, HOME) is None
    assert kubeconfig_path({"kubeconfig": {"clusters": []}}, {}, HOME) is None


def test_a_token_and_the_ca_of_the_current_context():
    assert simple_connection(config(), None, "/k") == {
        "server": "https://api.example:6443", "verify": True, "ca_file": None, "ca_data": "CA",
        "token": "sha256~t", "cert_file": None, "key_file": None, "cert_data": None, "key_data": None}


def test_a_client_certificate_of_a_named_context_files_relative_to_the_kubeconfig():
    conn = simple_connection(config(), "other", "/k")
    assert (conn["cert_file"], conn["key_file"], conn["token"]) == ("/k/c.crt", "/abs/c.key", None)
    data = simple_connection(config(user={"client-certificate-data": b64("C"), "client-key-data": b64("K")}), None, "/k")
    assert (data["cert_data"], data["key_data"]) == (b"C", b"K")


def test_a_token_file_is_read(tmp_path):
    (tmp_path / "token").write_text("from-file\n")
    conn = simple_connection(config(user={"tokenFile": "token"}), None, str(tmp_path))
    assert conn["token"] == "from-file"
    assert simple_connection(config(user={"tokenFile": "missing"}), None, str(tmp_path)) is None


def test_verification_is_off_only_when_the_kubeconfig_says_so():
    conn = simple_connection(config(cluster={"server": "https://h", "insecure-skip-tls-verify": True}), None, "/k")
    assert conn["verify"] is False and conn["ca_data"] is None
    conn = simple_connection(config(cluster={"server": "https://h", "certificate-authority": "ca.crt"}), None, "/k")
    assert conn["verify"] is True and conn["ca_file"] == "/k/ca.crt"
    # the data wins over the file, as in the kubernetes client: only one CA is trusted
    conn = simple_connection(config(cluster={"server": "https://h", "certificate-authority": "ca.crt",
                                             "certificate-authority-data": b64("CA")}), None, "/k")
    assert (conn["ca_file"], conn["ca_data"]) == (None, "CA")


@pytest.mark.parametrize("cluster, user", [
    ({"server": "https://h", "proxy-url": "http://proxy:3128"}, None),
    ({"server": "https://h", "tls-server-name": "api"}, None),
    ({"server": "http://h"}, None),
    ({"server": ""}, None),
    (None, {"exec": {"command": "oidc-login"}}),
    (None, {"auth-provider": {"name": "oidc"}}),
    (None, {"username": "a", "password": "b"}),
    (None, {"token": "t", "as": "someone-else"}),
    (None, {"client-certificate": "c.crt"}),
    (None, {}),
], ids=["proxy", "tls-server-name", "plain-http", "no-server", "exec", "auth-provider", "basic", "impersonate",
        "cert-without-key", "no-credentials"])
def test_what_only_kubernetes_core_does_is_left_to_it(cluster, user):
    assert simple_connection(config(cluster=cluster, user=user), None, "/k") is None


def test_a_missing_context_is_left_to_kubernetes_core_to_report():
    assert simple_connection(config(current="gone"), None, "/k") is None
    assert simple_connection(config(), "gone", "/k") is None
    assert simple_connection("not a mapping", None, "/k") is None


def test_list_paths_of_core_and_group_kinds():
    assert list_path("v1", "Secret", "my-ns") == "/api/v1/namespaces/my-ns/secrets"
    assert list_path("apps/v1", "Deployment", "p") == "/apis/apps/v1/namespaces/p/deployments"
    assert list_path("authorization.k8s.io/v1", "SelfSubjectAccessReview", None) == (
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
    with pytest.raises(KeyError):
        list_path("v1", "Namespace", None)


def test_list_items_get_their_kind_and_api_version():
    answer = {"kind": "DeploymentList", "apiVersion": "apps/v1",
              "items": [{"metadata": {"name": "a"}}, {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {}}]}
    assert [(i["kind"], i["apiVersion"]) for i in list_items(answer)] == [("Deployment", "apps/v1")] * 2
    assert list_items({"kind": "SecretList", "apiVersion": "v1", "items": None}) == []


def test_warning_headers_give_their_texts():
    pod_security = ('299 - "would violate PodSecurity \\"restricted:latest\\": allowPrivilegeEscalation != false '
                    '(container \\"main\\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true"')
    assert warning_texts([pod_security, '299 - "second"']) == [
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "main" must set '
        'securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true', "second"]
    assert warning_texts(['299 - "one", 299 - "two, with a comma"']) == ["one", "two, with a comma"]  # folded
    assert warning_texts(None) == [] and warning_texts(["not a warning"]) == []
