# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The environment of the MLflow tracking server (ConfigMap <app>-config; nothing secret).

Pure logic behind the csc.mlflow.tracking_config filter (the `cfg` of the role's
facts/config template). Every value is a string, as the pods read them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.plugin_utils.credentials import IN_CLUSTER_STORES, VOLUME_STORE
from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import text, to_bool, to_int


def tracking_config(store, artifact_mode, workers, enable_job_execution, tracking_host, service_name, namespace,
                    telemetry_enabled=False, metrics_dir="", local_artifacts=""):
    """The tracking server's configuration.

    `store`: credentials.artifact_store(); `tracking_host`: the public host ('' when there is
    none); `service_name`/`namespace`: the tracking Service, whose in-cluster names are allowed
    hosts too. Direct mode sets MLFLOW_DEFAULT_ARTIFACT_ROOT (clients write to S3 themselves),
    proxied mode MLFLOW_ARTIFACTS_DESTINATION. Usage telemetry is off (MLFLOW_DISABLE_TELEMETRY=true)
    unless `telemetry_enabled`. A `metrics_dir` turns on the Prometheus exporter
    (MLFLOW_EXPOSE_PROMETHEUS: `mlflow server --expose-prometheus`, served on /metrics). The small stack's store
    ('pvc') proxies the artifacts to `local_artifacts`, a directory of its volume.
    """
    direct = artifact_mode == "direct"
    svc = text(service_name)
    ns = text(namespace)
    svc_names = [svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"]
    public = [tracking_host] if tracking_host else []
    allowed = []
    for host in public + svc_names:
        allowed.extend([host, text(host) + ":*"])
    allowed.extend(["localhost:*", "127.0.0.1:*"])
    origins = ["https://" + text(h) for h in public]
    if not public:
        origins.extend(["http://localhost:8080", "http://127.0.0.1:8080"])
    cfg = {
        "ARTIFACT_STORE": store["store"],
        "ARTIFACT_MODE": artifact_mode,
        "S3_BUCKET": store["bucket"],
        "S3_PREFIX": store["prefix"],
        "MLFLOW_S3_ENDPOINT_URL": store["endpoint"],
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": "5000",
        "MLFLOW_WORKERS": text(workers),
        "MLFLOW_SERVE_ARTIFACTS": text(not direct).lower(),
        "MLFLOW_SERVER_ALLOWED_HOSTS": ",".join(text(h) for h in allowed),
        "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": ",".join(origins),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": text(to_bool(enable_job_execution)).lower(),
        "MLFLOW_DISABLE_TELEMETRY": text(not to_bool(telemetry_enabled)).lower(),
    }
    if metrics_dir:
        cfg["MLFLOW_EXPOSE_PROMETHEUS"] = text(metrics_dir)
    if store["store"] == VOLUME_STORE:
        cfg["MLFLOW_ARTIFACTS_DESTINATION"] = text(local_artifacts)
    elif direct:
        cfg["MLFLOW_DEFAULT_ARTIFACT_ROOT"] = store["uri"]
    else:
        cfg["MLFLOW_ARTIFACTS_DESTINATION"] = store["uri"]
    if store.get("checksum_when_required"):
        cfg["AWS_REQUEST_CHECKSUM_CALCULATION"] = "when_required"
        cfg["AWS_RESPONSE_CHECKSUM_VALIDATION"] = "when_required"
    return cfg


def tracking_replicas(replicas, autoscale_max_replicas=0, current=0):
    """The replicas the tracking Deployment is applied with.

    `replicas` (mlflow_tracking_replicas), unless an autoscaler may run more
    (`autoscale_max_replicas` > `replicas`): then the count it chose, `current` (the live
    Deployment's), kept between the two, so that a re-run neither undoes its choice nor leaves
    the Deployment outside the new bounds.
    """
    count, most = to_int(replicas), to_int(autoscale_max_replicas)
    if most <= count:
        return count
    return min(max(to_int(current), count), most)


def presigned_path(enabled, artifact_mode, store, openshift, route_host=""):
    """Whether the stack serves the public path for pre-signed transfers to the in-cluster store.

    Only for proxied artifacts (direct mode has clients talk to S3 themselves) on the in-cluster store
    (the Versity S3 gateway, or MinIO for the stacks that still run it; another S3
    store signs for its own public endpoint), and only with a public host: a Route on OpenShift, or
    `route_host` (mlflow_presigned_route_host, an Ingress host) elsewhere. `store`: the store's name.
    """
    return (to_bool(enabled) and artifact_mode != "direct" and text(store) in IN_CLUSTER_STORES
            and (to_bool(openshift) or text(route_host) != ""))
