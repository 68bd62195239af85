# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Checks of the role's input variables, and the users normalised.

Pure logic behind the csc.mlflow.users, input_problems, deploy_problems, tracking_problems,
artifact_store_input_problem and ingress_problems filters. Each check returns every problem it finds as one message
(or '' / an empty list when all is well), worded as the role's asserts word them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from collections.abc import Mapping

from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import matches, searches, text, to_bool, to_int

APP_NAME_RE = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
NAMESPACE_RE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
VERSION_RE = r"^[0-9]+\.[0-9]+(\.[0-9]+)?([a-z0-9.+-]*)?$"
HOST_RE = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
USER_NAME_RE = r"^[-._a-zA-Z0-9]{1,64}$"
BUCKET_RE = r"^[a-z0-9][-a-z0-9.]{1,61}[a-z0-9]$"
ENDPOINT_RE = r"^https?://[^\s/]+"
# A DNS label of 64 characters or more somewhere in a host name.
LONG_LABEL_RE = r"(^|\.)[^.]{64,}"
STORES = ("versitygw", "allas", "s3")
# What `mlflow gc --older-than` parses (#d#h#m#s, float values allowed), at least one part.
GC_AGE_RE = r"^(?=[0-9.])(?:[0-9]+(?:\.[0-9]+)?d)?(?:[0-9]+(?:\.[0-9]+)?h)?(?:[0-9]+(?:\.[0-9]+)?m)?(?:[0-9]+(?:\.[0-9]+)?s)?\Z"

# The oldest MLflow release the collection deploys: every release below it has a published advisory
# against servers reachable over the network (the list with its sources: docs/SECURITY.md). A
# deploy of an older version (e.g. to upgrade a stack that runs one) needs
# mlflow_allow_insecure_version=true.
MIN_MLFLOW_VERSION = (3, 16, 1)
ADVISORIES = (
    ("GHSA-gq3w-7jj3-x7gr", "default admin password of the basic-auth app", (3, 16, 1)),
    ("GHSA-7qhf-v65m-g5f3", "FastAPI job endpoints reachable without authentication", (3, 11, 0)),
    ("GHSA-46r5-x6jq-v8g6", "authorization bypass in an AJAX endpoint", (3, 11, 0)),
    ("GHSA-fh64-r2vc-xvhr", "stored XSS in YAML parsing", (3, 11, 1)),
)

LONG_HOST_MSG = (
    "the host of Route %s would have a DNS label over 63 characters, which the router refuses: set its host"
    " variable (mlflow_route_host, mlflow_models_route_host, mlflow_minio_route_host, mlflow_presigned_route_host)"
    " or use a shorter"
    " mlflow_app_name or namespace"
)


def normalise_users(value, kept=None):
    """mlflow_users as a list of {name, password?}; with `kept`, a blank value (None, or a string of spaces: an AWX
    survey answer left empty, an extra var that no fact can override) is read as `kept` (the users to keep).

    Accepts a list of {name, password?} (kept as they are), a list of names, one string of
    names separated by commas or whitespace (AWX survey answers are strings), or a JSON list as one
    string (`-e 'mlflow_users=[...]'` reaches Ansible as text).
    """
    raw = value
    if kept is not None and (raw is None or (isinstance(raw, str) and not raw.strip())):
        raw = kept
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError("mlflow_users looks like a JSON list but is not one: give it as JSON "
                             "(-e '{\"mlflow_users\": [\"alice\"]}') or as names separated by commas")
    if isinstance(raw, str):
        raw = [n for n in re.sub(r"[\s,]+", " ", raw).strip().split(" ") if n]
    if raw is None or not hasattr(raw, "__iter__"):
        raise ValueError("mlflow_users must be a list or a string, not %r" % (raw,))
    return [u if isinstance(u, Mapping) else {"name": text(u).strip()} for u in raw]


USER_ACTIONS = ("add", "remove", "rotate")


def users_change(users, action, names, password=""):
    """The users after one change of playbooks/users.yml: {'users': [...], 'changed': [names], 'problem': ''}.

    `users`: normalise_users() of the stack's users; `action`: add (a name already there keeps its password unless
    `password` is given), remove (a name not there is no change) or rotate (a new password: `password`, or one
    generated, marked {'rotate': True} for stack_credentials); `names`: one name or several (a list, or a string
    separated by commas or spaces); `password`: a chosen password, for one name only.
    A request that cannot be done (an unknown action, no name, a password for several names, a rotation of a user
    who does not exist, a removal of every user) is returned as 'problem', worded for the user (it never holds
    the password), with the users unchanged; the result itself holds the password: handle it as a secret.
    """
    current = [dict(u) for u in users or []]
    known = [u["name"] for u in current]
    problem = _users_change_problem(known, action, names, password)
    if problem:
        return {"users": current, "changed": [], "problem": problem}
    names = [u["name"] for u in normalise_users(names)]
    password = text(password or "")
    changed = []
    if action == "remove":
        changed = [n for n in names if n in known]
        return {"users": [u for u in current if u["name"] not in names], "changed": changed, "problem": ""}
    for name in names:
        if name not in known:
            current.append({"name": name, "password": password} if password else {"name": name})
            changed.append(name)
        elif password or action == "rotate":
            current[known.index(name)] = {"name": name, "password": password} if password else {"name": name, "rotate": True}
            changed.append(name)
    return {"users": current, "changed": changed, "problem": ""}


def _users_change_problem(known, action, names, password):
    if action not in USER_ACTIONS:
        return "mlflow_user_action must be one of %s, not %r" % (", ".join(USER_ACTIONS), action)
    try:
        names = [u["name"] for u in normalise_users(names if names is not None else "")]
    except ValueError as e:
        return text(e).replace("mlflow_users", "mlflow_user_name")
    if not names:
        return "mlflow_user_name is empty: name the user to %s" % action
    if password and len(names) > 1:
        return "mlflow_user_password sets one user's password: name one user, not %s" % ", ".join(names)
    if password and action == "remove":
        return "mlflow_user_password is not used when removing a user: leave it empty"
    if action == "rotate" and [n for n in names if n not in known]:
        return "no user %s to rotate (the users: %s): add it instead" % (
            ", ".join(n for n in names if n not in known), ", ".join(known))
    if action == "remove" and not [n for n in known if n not in names]:
        return "removing %s would leave the stack without users: add another user first" % ", ".join(names)
    return ""


def version_tuple(version):
    """(major, minor, patch) of a version like 3.17.2 or 3.17.2rc1 (a missing patch is 0); None if not one."""
    m = re.match(r"^([0-9]+)\.([0-9]+)(?:\.([0-9]+))?", text(version).strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def version_floor_problem(version, allow_insecure_version=False):
    """'' when `version` is at least MIN_MLFLOW_VERSION (or allowed on purpose), else why it is refused.

    A pre-release of the floor itself (3.16.1rc0) is below it; a version that does not parse is
    input_problems' own message.
    """
    parsed = version_tuple(version)
    if parsed is None or to_bool(allow_insecure_version):
        return ""
    plain = matches(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$", text(version).strip())
    if parsed > MIN_MLFLOW_VERSION or (parsed == MIN_MLFLOW_VERSION and plain):
        return ""
    hit = [a[0] + " (" + a[1] + ", fixed in " + ".".join(str(x) for x in a[2]) + ")"
           for a in ADVISORIES if parsed < a[2] or (parsed == a[2] and not plain)]
    return (
        "mlflow_version " + text(version).strip() + " is older than " + ".".join(str(x) for x in MIN_MLFLOW_VERSION)
        + ", the oldest release without a published advisory against exposed servers: " + "; ".join(hit)
        + ". Deploy a newer version, or set mlflow_allow_insecure_version=true on purpose (e.g. for the run that"
        " upgrades a stack from an old version)"
    )


def input_problems(app_name, namespace, version, route_host, models_route_host, minio_route_host,
                   target_namespace, allow_insecure_version=False, presigned_route_host=""):
    """Problems with the input every entry point reads (the preflight's first check).

    The variables of the same names with the mlflow_ prefix; `target_namespace` is the namespace
    resolved from mlflow_namespace or the kubeconfig ('' when there is none).
    """
    errors = []
    if not matches(APP_NAME_RE, app_name):
        errors.append(
            "mlflow_app_name '" + text(app_name) + "' is not a DNS-1035 label of at most 40 characters"
            " (lowercase letters, digits and '-', starting with a letter, not ending with '-')"
        )
    if not (namespace == "" or matches(NAMESPACE_RE, namespace)):
        errors.append("mlflow_namespace '" + text(namespace) + "' is not a DNS label")
    if not matches(VERSION_RE, version):
        errors.append("mlflow_version '" + text(version) + "' is not a version like 3.17.2")
    else:
        floor = version_floor_problem(version, allow_insecure_version)
        if floor:
            errors.append(floor)
    for host in (route_host, models_route_host, minio_route_host, presigned_route_host):
        if host != "" and not matches(HOST_RE, host):
            # As the template's regex_replace('$', ...): a final newline gets a second suffix.
            errors.append(re.sub("$", "' is not a DNS name", re.sub("^", "route host '", text(host))))
    if not len(target_namespace or "") > 0:
        errors.append(
            "no target namespace: set mlflow_namespace (required when the credentials come only from"
            " K8S_AUTH_HOST / K8S_AUTH_API_KEY), or select a project with `oc project <name>`"
        )
    return errors


def _users_ok(users, models_user, min_password_length):
    names = [text(u.get("name", "")) for u in users]
    given = [u["password"] for u in users if "password" in u]
    minimum = to_int(min_password_length)
    return (
        len(names) > 0
        and all(matches(USER_NAME_RE, n) for n in names)
        and len(set(n.lower() for n in names)) == len(names)  # Ansible's unique ignores case
        and models_user not in names
        and all(p != "" and p is not None for p in given)
        and all(len(text(p)) >= minimum for p in given if p is not None)
    )


def deploy_problems(users, models_user, min_password_length, platform, names, route_host, models_route_host,
                    minio_route_host, namespace, artifact_mode, whitelist, route_allow_all, presigned_route_host="",
                    presigned_enabled=False):
    """Problems with the input of the entry points that deploy (users, Route hosts, whitelist).

    `users`: normalise_users(); `models_user`: the Models pod's own user; `names`: the role's
    `_mlflow_names`; `namespace`: the target namespace; `whitelist`: the normalised
    mlflow_route_whitelist. On OpenShift an empty host becomes <route>-<namespace>.<apps domain>,
    whose first label must not exceed 63 characters either (the pre-signed transfer Route's too, when
    `presigned_enabled` outside direct mode: the store may still turn out not to be MinIO).
    """
    users = list(users or [])
    errors = []
    if not _users_ok(users, models_user, min_password_length):
        errors.append(
            "mlflow_users needs at least one user, with unique names of letters, digits, '.', '_' or '-' (not '"
            + text(models_user) + "', reserved for the Models pod); a given password must be non-empty"
            + ((" and at least " + text(min_password_length) + " characters") if to_int(min_password_length) > 0 else "")
        )
    hosts = {}
    if platform != "kubernetes":
        hosts[names["tracking"]] = route_host or (names["tracking"] + "-" + text(namespace))
        hosts[names["models"]] = models_route_host or (names["models"] + "-" + text(namespace))
        hosts[names["minio"]] = (
            (minio_route_host or (names["minio"] + "-" + text(namespace))) if artifact_mode == "direct" else ""
        )
        if to_bool(presigned_enabled) and artifact_mode != "direct":
            hosts[names["presigned"]] = presigned_route_host or (names["presigned"] + "-" + text(namespace))
    for route, host in hosts.items():
        if searches(LONG_LABEL_RE, host):
            errors.append(LONG_HOST_MSG % route)
    if not (len(whitelist or []) > 0 or to_bool(route_allow_all)):
        errors.append(
            "mlflow_route_whitelist is empty: the routes would be open to the whole internet. Give your IPs/CIDRs"
            " in mlflow_route_whitelist, or set mlflow_route_allow_all=true to deploy without a whitelist on purpose"
        )
    return errors


def tracking_problems(replicas, enable_job_execution, autoscale_max_replicas=0, workers=2, gc_schedule="",
                      gc_older_than="30d"):
    """Problems with the tracking server's own input (csc.mlflow.mlflow_tracking).

    The workers, and the garbage collection's schedule and age when there is a schedule. More than one
    replica (or an autoscaler that may run more) with MLflow's server-side jobs is
    refused rather than silently changed: every replica would start its own job runner on pod-local
    files (the jobs would run on whichever replica took the request, and periodic jobs once per
    replica). `autoscale_max_replicas`: 0 = no autoscaler, else at least `replicas`.
    """
    errors = []
    if not to_int(workers) >= 1:
        errors.append("mlflow_workers must be at least 1")
    if text(gc_schedule or "").strip() and len(text(gc_schedule).split()) != 5:
        errors.append("mlflow_gc_schedule '" + text(gc_schedule) + "' is not a cron schedule of five fields (e.g. '0 3 * * 0')")
    if text(gc_schedule or "").strip() and not matches(GC_AGE_RE, text(gc_older_than)):
        errors.append("mlflow_gc_older_than '" + text(gc_older_than) + "' is not a duration like 30d, 12h or 1d2h3m4s")
    count = to_int(replicas)
    most = to_int(autoscale_max_replicas)
    if isinstance(replicas, bool) or count < 1 or text(count) != text(replicas).strip():
        errors.append("mlflow_tracking_replicas must be a whole number of at least 1, not '" + text(replicas) + "'")
        return errors
    if isinstance(autoscale_max_replicas, bool) or text(most) != text(autoscale_max_replicas).strip() or not (
            most == 0 or most >= count):
        errors.append(
            "mlflow_tracking_autoscale_max_replicas must be 0 (no autoscaling) or a whole number of at least"
            " mlflow_tracking_replicas (" + text(count) + "), not '" + text(autoscale_max_replicas) + "'"
        )
    elif count > 1 and to_bool(enable_job_execution):
        errors.append(
            "mlflow_tracking_replicas=" + text(count) + " with mlflow_enable_job_execution=true: MLflow's server-side"
            " jobs run on local files in each replica, so they need a single replica. Set"
            " mlflow_enable_job_execution=false, or mlflow_tracking_replicas=1"
        )
    elif most > 1 and to_bool(enable_job_execution):
        errors.append(
            "mlflow_tracking_autoscale_max_replicas=" + text(most) + " with mlflow_enable_job_execution=true: the"
            " autoscaler may start more than one replica, and MLflow's server-side jobs need a single one. Set"
            " mlflow_enable_job_execution=false, or mlflow_tracking_autoscale_max_replicas=0"
        )
    return errors


def stack_size_problems(stack_size, live_store="", replicas=1, autoscale_max_replicas=0, database_uri="",
                        store_requested="", grow=False, data_claim="<app>-data", rotate_signing_key=False):
    """Problems with the stack's size (mlflow_stack_size) against the run and the stack as deployed.

    The small stack keeps its runs in SQLite and its artifacts on one ReadWriteOnce volume: one tracking pod, no
    autoscaler, no external database, no other artifact store. A deployed stack keeps its size: `live_store` is the
    ARTIFACT_STORE of the live configuration ('pvc' for a small stack, '' before the first deploy); only
    playbooks/grow.yml (`grow`) turns a small stack into the full one, and nothing shrinks a full one.
    `store_requested`: the store configure_artifact_store.yml asks for ('' on other entry points);
    `rotate_signing_key`: playbooks/rotate_store_key.yml (the small stack has no store, no key).
    """
    errors = []
    size = text(stack_size)
    live = text(live_store)
    grow_hint = "grow the stack first (playbooks/grow.yml moves every run and artifact to the full stack)"
    if size == "small":
        if live not in ("", "pvc"):
            errors.append(
                "mlflow_stack_size=small, but this stack is deployed full (its artifacts are in '" + live + "'): a full"
                " stack does not shrink. Deploy it with mlflow_stack_size=full, or deploy a small stack under"
                " another mlflow_app_name")
        if to_int(replicas) != 1:
            errors.append(
                "mlflow_stack_size=small runs one tracking pod (SQLite on a ReadWriteOnce volume):"
                " mlflow_tracking_replicas must be 1, not '" + text(replicas) + "'; to run more, " + grow_hint)
        if to_int(autoscale_max_replicas) > 0:
            errors.append(
                "mlflow_stack_size=small runs one tracking pod (SQLite on a ReadWriteOnce volume): no autoscaler,"
                " mlflow_tracking_autoscale_max_replicas must be 0, not '" + text(autoscale_max_replicas) + "'; to"
                " scale, " + grow_hint)
        if text(database_uri):
            errors.append(
                "mlflow_stack_size=small keeps its runs in SQLite on its volume: it takes no mlflow_database_uri."
                " Deploy the full stack (mlflow_stack_size=full) to use an external database")
        if text(store_requested) not in ("", "pvc"):
            errors.append(
                "mlflow_stack_size=small keeps its artifacts on its volume (" + text(data_claim) + "): to move them to"
                " '" + text(store_requested) + "', " + grow_hint + ", then run configure_artifact_store.yml")
        if to_bool(rotate_signing_key):
            errors.append(
                "mlflow_stack_size=small has no object store and so no signing key to rotate (its artifacts are on"
                " " + text(data_claim) + ")")
    elif live == "pvc" and not to_bool(grow):
        errors.append(
            "this stack is small (runs in SQLite and artifacts on PVC " + text(data_claim) + "), and a deploy does not"
            " change its size: " + grow_hint + ", or keep mlflow_stack_size=small")
    return errors


def artifact_store_input_problem(artifact_store, s3_access_key_id, s3_secret_access_key, s3_bucket, s3_endpoint_url):
    """'' when the artifact_store entry point's input is complete, else the message saying why not."""
    store = artifact_store
    ok = (
        store in STORES
        and (store == "versitygw" or (len(s3_access_key_id or "") > 0 and len(s3_secret_access_key or "") > 0))
        and (store == "versitygw" or matches(BUCKET_RE, s3_bucket))
        and (store != "s3" or matches(ENDPOINT_RE, s3_endpoint_url))
    )
    if ok:
        return ""
    if store in ("allas", "s3"):
        why = (
            "allas and s3 need mlflow_s3_access_key_id, mlflow_s3_secret_access_key and a valid mlflow_s3_bucket;"
            " s3 also needs mlflow_s3_endpoint_url (http(s)://...)"
        )
    elif store == "minio":
        why = ("MinIO is archived with advisories that will never be fixed: no stack moves to it; choose versitygw"
               " (the in-cluster Versity S3 gateway), allas or s3")
    else:
        why = "must be one of versitygw, allas, s3"
    return "mlflow_artifact_store=" + text(store) + ": " + why + "."


# The annotation the role writes the IP whitelist to on an Ingress, and the only controller that reads it
# (ingress-nginx, whose IngressClass is called "nginx" by default).
INGRESS_WHITELIST_ANNOTATION = "nginx.ingress.kubernetes.io/whitelist-source-range"
INGRESS_NGINX_CLASS = "nginx"


def ingress_problems(objects, plain_http_accepted=False, whitelist_unenforced_accepted=False):
    """Problems with the Ingresses among the rendered `objects` (plain Kubernetes): one without TLS would carry the
    basic-auth passwords in clear text, unless `plain_http_accepted`; one whose IP whitelist is an ingress-nginx
    annotation while its class is not ingress-nginx's would be open to all, unless `whitelist_unenforced_accepted`."""
    errors = []
    for obj in objects or []:
        if not isinstance(obj, Mapping) or obj.get("kind") != "Ingress":
            continue
        name = text((obj.get("metadata") or {}).get("name"))
        spec = obj.get("spec") or {}
        if not spec.get("tls") and not to_bool(plain_http_accepted):
            errors.append(
                "Ingress " + name + " has no TLS (mlflow_ingress_tls_secret is empty): the basic-auth passwords would"
                " cross the network in clear text. Give mlflow_ingress_tls_secret, or set"
                " mlflow_ingress_allow_plain_http=true"
            )
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        ingress_class = text(spec.get("ingressClassName") or "")
        if (INGRESS_WHITELIST_ANNOTATION in annotations and ingress_class != INGRESS_NGINX_CLASS
                and not to_bool(whitelist_unenforced_accepted)):
            errors.append(
                "Ingress " + name + " carries the IP whitelist as an ingress-nginx annotation, but its class is "
                + ("'" + ingress_class + "'" if ingress_class else "the cluster's default") + ": other controllers"
                " ignore it and the stack would be open to everyone. Use ingress-nginx (mlflow_ingress_class="
                + INGRESS_NGINX_CLASS + "), or set mlflow_ingress_whitelist_unenforced=true if the list is enforced"
                " elsewhere or you accept that it is not"
            )
    return errors
