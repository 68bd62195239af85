"""The stack read's plain HTTPS client against the test cluster's API server: for the admin's client
certificate and a project admin's token it reads exactly what kubernetes.core's client reads, and it
checks the server's certificate against the kubeconfig's CA."""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path

import certifi
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".ansible" / "collections"))  # make setup links it

from ansible_collections.csc.mlflow.plugins.module_utils.k8s_api import lookup_client
from ansible_collections.csc.mlflow.plugins.module_utils.stack_read import read_stack
from ansible_collections.csc.mlflow.plugins.plugin_utils.kubeconfig_client import (
    DynamicReader, KubeconfigClient, kubeconfig_client)

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


def both_reads(kubeconfig, ns):
    fast = kubeconfig_client({"kubeconfig": str(kubeconfig)})
    assert isinstance(fast, KubeconfigClient)  # the plain client is what the lookup uses for this kubeconfig
    try:
        plain = read_stack(fast, ns, SELECTOR, "auto", NAMES, "csc.mlflow/mlflow-version")
    finally:
        fast.close()
    dynamic = read_stack(DynamicReader(lookup_client({"kubeconfig": str(kubeconfig)})), ns, SELECTOR, "auto", NAMES,
                         "csc.mlflow/mlflow-version")
    return plain, dynamic


def test_both_clients_read_the_same_for_a_certificate_and_a_token(cluster, namespace):
    cluster.kubectl_run("apply", "-f", "-", input="\n".join(json.dumps(o) for o in objects(namespace)))
    for kubeconfig in (cluster.kubeconfig, cluster.project_admin_kubeconfig(namespace)):
        plain, dynamic = both_reads(kubeconfig, namespace)
        assert plain == dynamic
        assert sorted(plain["live"]) == ["ConfigMap/rd-config", "Secret/rd-database", "Service/rd"]
        assert plain["live"]["Secret/rd-database"]["data"] == {"password": "p\u00e4ss:w0rd"}
        assert plain["state"]["version"] == "3.1.0"
        assert plain["limits"]["limit_ranges"] or cluster.profile != "rahti"


def test_a_server_the_kubeconfig_ca_did_not_sign_is_refused(cluster, tmp_path):
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    for entry in config["clusters"]:
        entry["cluster"].pop("certificate-authority-data", None)
        entry["cluster"]["certificate-authority"] = certifi.where()
    wrong_ca = tmp_path / "wrong-ca.kubeconfig"
    wrong_ca.write_text(json.dumps(config))
    reader = kubeconfig_client({"kubeconfig": str(wrong_ca)})
    with pytest.raises(ssl.SSLCertVerificationError):
        reader.api_groups()
    for entry in config["clusters"]:
        entry["cluster"].pop("certificate-authority")
        entry["cluster"]["insecure-skip-tls-verify"] = True
    wrong_ca.write_text(json.dumps(config))
    assert "apps" in kubeconfig_client({"kubeconfig": str(wrong_ca)}).api_groups()


def test_an_api_error_carries_the_servers_message(cluster, namespace):
    reader = kubeconfig_client({"kubeconfig": str(cluster.project_admin_kubeconfig(namespace))})
    with pytest.raises(Exception, match="403 Forbidden: .*cannot list resource \"secrets\".*kube-system"):
        reader.items("v1", "Secret", "kube-system")
