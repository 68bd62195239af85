"""plugins/plugin_utils/tracking_config.py (the `cfg` of the role's facts/config template)."""

from __future__ import annotations

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils.tracking_config import presigned_path, tracking_config, tracking_replicas

MINIO = {"store": "minio", "endpoint": "http://demo-minio:9000", "bucket": "default", "prefix": "",
         "checksum_when_required": False, "uri": "s3://default/"}
ALLAS = {"store": "allas", "endpoint": "https://a3s.fi", "bucket": "ab", "prefix": "a/b",
         "checksum_when_required": True, "uri": "s3://ab/a/b/"}
SVC = ("demo,demo:*,demo.ns1,demo.ns1:*,demo.ns1.svc,demo.ns1.svc:*,demo.ns1.svc.cluster.local,"
       "demo.ns1.svc.cluster.local:*")


def test_proxied_minio_without_a_public_host():
    cfg = tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1")
    assert cfg == {
        "ARTIFACT_STORE": "minio", "ARTIFACT_MODE": "proxied", "S3_BUCKET": "default", "S3_PREFIX": "",
        "MLFLOW_S3_ENDPOINT_URL": "http://demo-minio:9000", "MLFLOW_HOST": "127.0.0.1", "MLFLOW_PORT": "5000",
        "MLFLOW_WORKERS": "2", "MLFLOW_SERVE_ARTIFACTS": "true",
        "MLFLOW_SERVER_ALLOWED_HOSTS": SVC + ",localhost:*,127.0.0.1:*",
        "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": "http://localhost:8080,http://127.0.0.1:8080",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ARTIFACTS_DESTINATION": "s3://default/",
    }
    # The key order is the template's (the ConfigMap's checksum is over its JSON).
    assert list(cfg)[-1] == "MLFLOW_ARTIFACTS_DESTINATION" and list(cfg)[0] == "ARTIFACT_STORE"


def test_direct_allas_with_a_public_host():
    cfg = tracking_config(ALLAS, "direct", "3", "yes", "t.example.org", "demo", "ns1")
    assert cfg["MLFLOW_SERVE_ARTIFACTS"] == "false"
    assert cfg["MLFLOW_WORKERS"] == "3"
    assert cfg["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "true"
    assert cfg["MLFLOW_SERVER_ALLOWED_HOSTS"] == "t.example.org,t.example.org:*," + SVC + ",localhost:*,127.0.0.1:*"
    assert cfg["MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"] == "https://t.example.org"
    assert cfg["MLFLOW_DEFAULT_ARTIFACT_ROOT"] == "s3://ab/a/b/" and "MLFLOW_ARTIFACTS_DESTINATION" not in cfg
    assert cfg["AWS_REQUEST_CHECKSUM_CALCULATION"] == cfg["AWS_RESPONSE_CHECKSUM_VALIDATION"] == "when_required"
    assert list(cfg)[-3:] == ["MLFLOW_DEFAULT_ARTIFACT_ROOT", "AWS_REQUEST_CHECKSUM_CALCULATION",
                              "AWS_RESPONSE_CHECKSUM_VALIDATION"]


def test_proxied_allas_and_odd_values():
    cfg = tracking_config(ALLAS, "proxied", 4, True, "t.example.org", "demo", "ns1")
    assert cfg["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://ab/a/b/" and "MLFLOW_DEFAULT_ARTIFACT_ROOT" not in cfg
    assert cfg["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "true" and cfg["MLFLOW_WORKERS"] == "4"
    assert tracking_config(MINIO, "proxied", 2.0, "off", "", "demo", "ns1")["MLFLOW_WORKERS"] == "2.0"
    assert "AWS_REQUEST_CHECKSUM_CALCULATION" not in tracking_config(MINIO, "direct", 1, "0", "", "x", "y")


def test_telemetry_is_off_unless_asked_for():
    assert tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1")["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1", "false")["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1", True)["MLFLOW_DISABLE_TELEMETRY"] == "false"
    assert tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1", "yes")["MLFLOW_DISABLE_TELEMETRY"] == "false"


def test_metrics_only_when_asked_for():
    assert "MLFLOW_EXPOSE_PROMETHEUS" not in tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1")
    cfg = tracking_config(MINIO, "proxied", 2, False, "", "demo", "ns1", False, "/tmp/prometheus")
    assert cfg["MLFLOW_EXPOSE_PROMETHEUS"] == "/tmp/prometheus"


@pytest.mark.parametrize("replicas, most, current, expected", [
    (1, 0, 0, 1), (2, 0, 5, 2),            # no autoscaler: the replicas asked for, whatever runs now
    (2, 2, 5, 2),                          # an autoscaler that may not run more is none
    (1, 4, 0, 1), (1, 4, 3, 3),            # the count the autoscaler chose ...
    (2, 4, 1, 2), (1, 4, 9, 4),            # ... kept between the bounds
    ("2", "4", "3", 3),                    # as the variables come (strings)
])
def test_tracking_replicas_keep_the_autoscalers_choice_within_bounds(replicas, most, current, expected):
    assert tracking_replicas(replicas, most, current) == expected


@pytest.mark.parametrize("enabled, mode, store, openshift, host, expected", [
    (True, "proxied", "minio", True, "", True),
    (True, "proxied", "minio", False, "", False),               # Kubernetes without an Ingress host
    (True, "proxied", "minio", False, "up.example.org", True),
    ("true", "proxied", "minio", "True", "", True),
    (False, "proxied", "minio", True, "", False),
    (True, "direct", "minio", True, "", False),                 # clients talk to S3 themselves
    (True, "proxied", "allas", True, "", False),                # signed for the public endpoint
])
def test_presigned_path_only_for_proxied_minio_with_a_public_host(enabled, mode, store, openshift, host, expected):
    assert presigned_path(enabled, mode, store, openshift, host) is expected


def test_the_small_stack_proxies_to_its_volume():
    store = {"store": "pvc", "endpoint": "", "bucket": "", "prefix": "", "checksum_when_required": False, "uri": "",
             "in_cluster": False}
    cfg = tracking_config(store, "proxied", 2, False, "", "demo", "ns1", local_artifacts="/mlflow/artifacts")
    assert cfg["ARTIFACT_STORE"] == "pvc"
    assert cfg["MLFLOW_ARTIFACTS_DESTINATION"] == "/mlflow/artifacts"
    assert cfg["MLFLOW_SERVE_ARTIFACTS"] == "true"
    assert "MLFLOW_DEFAULT_ARTIFACT_ROOT" not in cfg and cfg["MLFLOW_S3_ENDPOINT_URL"] == ""
