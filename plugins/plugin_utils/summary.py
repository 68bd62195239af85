# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The summary every playbook that applies the stack prints: where the stack is, how to reach it, what changed, and
the environment a client needs (passwords only when asked for, else the command that reads them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from shlex import quote as shlex_quote
from ansible_collections.csc.mlflow.plugins.plugin_utils.credentials import VOLUME_STORE

MINIO_WARNING = (
    "WARNING: this stack still runs MinIO, archived with advisories that will never be fixed (CVE-2026-41145,"
    " CVE-2026-40344, CVE-2026-42600, CVE-2026-113466; docs/SECURITY.md). Move its artifacts to the maintained Versity"
    " S3 gateway: ansible-playbook playbooks/configure_artifact_store.yml -e mlflow_artifact_store=versitygw"
)


def changed_objects(applied):
    """'Kind/name' of each object a stack_apply task changed; `applied`: the registered results (a skipped or
    missing one is None or {'skipped': True})."""
    out = []
    for task in applied or []:
        if not task or task.get("skipped"):
            continue
        for result in (task.get("result") or {}).get("results") or [task]:
            if result.get("changed"):
                obj = result.get("result") or {}
                out.append("%s/%s" % (obj.get("kind", "?"), (obj.get("metadata") or {}).get("name", "?")))
    return out


def redact(lines, secrets):
    """`lines` (a list of text) with every value of `secrets` (strings, or dicts and lists of them, as the run's
    credentials) of 6 characters or more replaced by '***': a Job's log a run shows may quote what it was given."""
    values = set()

    def collect(value):
        if isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                collect(v)
        elif isinstance(value, str) and len(value) >= 6:
            values.add(value)

    collect(secrets)
    out = []
    for line in lines or []:
        line = str(line)
        for value in sorted(values, key=len, reverse=True):
            line = line.replace(value, "***")
        out.append(line)
    return out


def _read_command(cli, namespace, secret, key):
    # jsonpath reads a '.' in a key as a step into it: `alice.smith` must be written `alice\.smith`
    return "%s -n %s get secret %s -o jsonpath='{.data.%s}' | base64 -d" % (cli, namespace, secret, key.replace(".", "\\."))


def _secret_command(cli, namespace, secret, key):
    return '"$(%s)"' % _read_command(cli, namespace, secret, key)


def _user_lines(users_changed, passwords, cli, namespace, secret, show_credentials):
    if not users_changed:
        return []
    changed = list(users_changed.get("names") or [])
    if users_changed.get("action") == "remove":
        return ["Removed: " + (", ".join(changed) or "nobody (no such user)")]
    if not changed:
        return ["No password changed (the users were there already; rotate gives one a new password)"]

    def shown(name):
        return shlex_quote(passwords[name]) if show_credentials else _read_command(cli, namespace, secret, name)

    return ["New password of %s: %s" % (name, shown(name)) for name in changed]


GATEWAY_ENFORCERS = {"envoy-gateway": "Envoy Gateway (SecurityPolicy <route>-allowlist)",
                     "istio": "Istio (AuthorizationPolicy in the Gateway's namespace)"}


def _gateway_whitelist_line(whitelist, implementation):
    if not whitelist:
        return "Admitted from: anywhere (mlflow_route_allow_all)"
    listed = " ".join(whitelist)
    if implementation in GATEWAY_ENFORCERS:
        return ("Admitted from: %s (mlflow_route_whitelist, enforced by %s; behind a load balancer the Gateway must see"
                " the client's address: docs/USER_GUIDE.md, Plain Kubernetes: Gateway API)" % (listed, GATEWAY_ENFORCERS[implementation]))
    return ("Admitted from: anywhere - mlflow_route_whitelist (%s) is NOT enforced: the Gateway's implementation is unknown"
            " (mlflow_gateway_whitelist_unenforced=true); set mlflow_gateway_implementation to envoy-gateway or istio"
            " to enforce it" % listed)


def deploy_summary(credentials, version, app_name, namespace, openshift, tls, hosts, names, store, artifact_mode,
                   presigned, service_lines=None, applied=None, secrets_changed=None, show_credentials=False,
                   users_changed=None, whitelist=None, exposure=None, gateway_implementation=""):
    """{'summary': [lines], 'environment': [export lines]}.

    credentials: the run's (users {name: password}, client_key/secret of MinIO's user, s3_key/secret); hosts: the
    public host of each role ('' = none); store: the artifact store (uri, store, endpoint, in_cluster,
    checksum_when_required); presigned: whether the pre-signed path is on; service_lines: the service roles' own
    lines; applied: the stack_apply results of the run (None: the run applied nothing, no line); secrets_changed:
    the names of the Secrets applied (None: no line); users_changed: playbooks/users.yml's change, {action, names}
    (a line per user whose password is new, with the command that reads it); whitelist: the normalised
    mlflow_route_whitelist (None: no line; empty: admitted from anywhere); exposure: the way in (route, httproute,
    ingress, none; None = route or ingress by `openshift`); gateway_implementation: what enforces the whitelist on
    HTTPRoutes (envoy-gateway, istio; '' = nothing: the line says the list is NOT enforced).
    """
    cli = "oc" if openshift else "kubectl"
    scheme = "https" if openshift or tls else "http"
    url = (scheme + "://" + hosts["tracking"]) if hosts.get("tracking") else "http://localhost:8080"
    users = credentials["users"]
    user = next(iter(users))
    direct = artifact_mode == "direct"

    lines = ['MLflow %s "%s" in namespace %s (%s)' % (version, app_name, namespace, "OpenShift" if openshift else "Kubernetes")]
    lines.append("Tracking UI/API: " + url + ("" if hosts.get("tracking") else "  (no public host: %s -n %s port-forward svc/%s 8080)"
                                              % (cli, namespace, names["tracking"])))
    if store["store"] == VOLUME_STORE:
        lines.append("Small stack: runs in SQLite and artifacts (proxied by the tracking server) on PVC %s; one tracking"
                     " pod. To grow into the full stack (PostgreSQL, the object store, more replicas): playbooks/grow.yml"
                     % names["data"])
    else:
        lines.append("Artifacts: %s%s (%s, %s)" % ("direct to S3 " if direct else "proxied by the tracking server to ",
                                                   store["uri"], store["store"], store["endpoint"]))
    if store["store"] == "minio":
        lines.append(MINIO_WARNING)
    if not direct and store.get("in_cluster"):
        if presigned and hosts.get("presigned"):
            lines.append("Large artifacts: pre-signed transfers through %s://%s (the in-cluster store, pre-signed requests"
                         " only)" % (scheme, hosts["presigned"]))
        else:
            lines.append("Large artifacts: through the tracking server (no public pre-signed path)")
    lines.extend(service_lines or [])
    if whitelist is not None and exposure == "httproute":
        lines.append(_gateway_whitelist_line(whitelist, gateway_implementation))
    elif whitelist is not None:
        lines.append("Admitted from: " + (" ".join(whitelist) + " (mlflow_route_whitelist; from elsewhere the router drops"
                                          " the connection without an answer: add the public address you connect from,"
                                          " `curl -4 ifconfig.me` prints it; CSC's supercomputers: docs/USER_GUIDE.md,"
                                          " Log from a batch job)"
                                          if whitelist else "anywhere (mlflow_route_allow_all)"))
    lines.append("Users: " + ", ".join(users))
    lines.extend(_user_lines(users_changed, users, cli, namespace, names["users"], show_credentials))
    if applied is not None:
        lines.append("Changed objects: " + (", ".join(changed_objects(applied)) or "none"))
    if secrets_changed is not None:
        lines.append("Changed Secrets: " + (", ".join(secrets_changed) or "none"))

    env = ["export MLFLOW_TRACKING_URI=" + url, "export MLFLOW_TRACKING_USERNAME=" + user]
    if show_credentials:
        env.append("export MLFLOW_TRACKING_PASSWORD=" + shlex_quote(users[user]))
    else:
        env.append("export MLFLOW_TRACKING_PASSWORD=" + _secret_command(cli, namespace, names["users"], user))
    if direct:
        if store["store"] == "minio":
            env.append("export MLFLOW_S3_ENDPOINT_URL=" + (("https://" + hosts["minio"]) if hosts.get("minio") else "(no public MinIO host)"))
            secret, key, secret_key = names["minio_client"], credentials.get("client_key"), credentials.get("client_secret")
        else:
            env.append("export MLFLOW_S3_ENDPOINT_URL=" + store["endpoint"])
            secret, key, secret_key = names["s3"], credentials.get("s3_key"), credentials.get("s3_secret")
        env.append("export AWS_ACCESS_KEY_ID=" + (key if show_credentials else _secret_command(cli, namespace, secret, "AWS_ACCESS_KEY_ID")))
        shown = shlex_quote(secret_key) if show_credentials else _secret_command(cli, namespace, secret, "AWS_SECRET_ACCESS_KEY")
        env.append("export AWS_SECRET_ACCESS_KEY=" + shown)
        if store.get("checksum_when_required"):
            env.extend(["export AWS_REQUEST_CHECKSUM_CALCULATION=when_required", "export AWS_RESPONSE_CHECKSUM_VALIDATION=when_required"])
    return {"summary": lines, "environment": env}
