"""The collection's one API client (plugin_utils/k8s_client.py, kubernetes.core's) against the test cluster's
API server: the stack read with the admin's client certificate and a project admin's token, the server's
certificate checked against the kubeconfig's CA, the server's message in an error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import certifi
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".ansible" / "collections"))  # make setup links it

from ansible_collections.csc.mlflow.plugins.plugin_utils.stack_read import read_stack
from ansible_collections.csc.mlflow.plugins.plugin_utils.k8s_client import ApiError, Client

SELECTOR = "app.kubernetes.io/instance=rd,app.kubernetes.io/part-of=mlflow"
NAMES = {"tracking": "rd", "models": "rd-models", "postgresql": "rd-postgresql", "database": "rd-database",
         "minio": "rd-minio", "config": "rd-config", "models_cfg": "models-cfg", "s3": "rd-s3",
         "htpasswd": "rd-htpasswd", "users": "rd-users", "crypto": "rd-crypto", "backup": "rd-backup"}
LABELS = {"app.kubernetes.io/instance": "rd", "app.kubernetes.io/part-of": "mlflow"}


def objects(ns):
    return [
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "rd-database", "namespace": ns, "labels": LABELS,
                      "annotations": {"csc.mlflow/mlflow-version": "3.1.0"}},
         "stringData": {"password": "p\u00e4ss:w0rd"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rd-config", "namespace": ns, "labels": LABELS},
         "data": {"MLFLOW_S3_ENDPOINT_URL": "http://rd-minio:9000"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-the-stack", "namespace": ns}, "data": {}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "rd", "namespace": ns, "labels": LABELS},
         "spec": {"ports": [{"port": 8080}], "selector": {"app": "rd"}}},
    ]


def test_it_reads_the_stack_with_a_certificate_and_a_token(cluster, namespace):
    cluster.kubectl_run("apply", "-f", "-", input="\n".join(json.dumps(o) for o in objects(namespace)))
    for kubeconfig in (cluster.kubeconfig, cluster.project_admin_kubeconfig(namespace)):
        read = read_stack(Client({"kubeconfig": str(kubeconfig)}), namespace, SELECTOR, "auto", NAMES,
                          "csc.mlflow/mlflow-version")
        assert sorted(read["live"]) == ["ConfigMap/rd-config", "Secret/rd-database", "Service/rd"]
        assert read["live"]["Secret/rd-database"]["data"] == {"password": "p\u00e4ss:w0rd"}
        assert read["state"]["version"] == "3.1.0"
        assert read["limits"]["limit_ranges"] or cluster.profile != "rahti"


def test_a_server_the_kubeconfig_ca_did_not_sign_is_refused(cluster, tmp_path):
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    for entry in config["clusters"]:
        entry["cluster"].pop("certificate-authority-data", None)
        entry["cluster"]["certificate-authority"] = certifi.where()
    wrong_ca = tmp_path / "wrong-ca.kubeconfig"
    wrong_ca.write_text(json.dumps(config))
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        Client({"kubeconfig": str(wrong_ca)}).items("v1", "ConfigMap", "default")
    for entry in config["clusters"]:
        entry["cluster"].pop("certificate-authority")
        entry["cluster"]["insecure-skip-tls-verify"] = True
    wrong_ca.write_text(json.dumps(config))
    assert Client({"kubeconfig": str(wrong_ca)}).items("v1", "Namespace", None)


def test_an_api_error_carries_the_servers_message(cluster, namespace):
    client = Client({"kubeconfig": str(cluster.project_admin_kubeconfig(namespace))})
    with pytest.raises(ApiError, match="403 .*cannot list resource \"secrets\".*kube-system") as refused:
        client.items("v1", "Secret", "kube-system")
    assert refused.value.status == 403 and refused.value.status_reason == "Forbidden"
