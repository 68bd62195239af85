# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The artifact store to configure, the stack's credentials, and the Secrets to apply.

Pure logic behind the csc.mlflow.artifact_store, artifact_store_problems, stack_credentials and
secrets_plan filters (the role's facts/store, credentials and secrets_plan templates and the
"Check the artifact store settings" assert). Credentials are kept from the live Secrets and
generated only when missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re
import secrets
import string
from collections.abc import Mapping

from ansible_collections.csc.mlflow.plugins.plugin_utils.apply_plan import LAST_APPLIED
from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import (
    default_true,
    lookup,
    mapping,
    matches,
    text,
    to_bool,
    to_int,
    to_json,
)

PASSWORD_CHARS = string.ascii_letters + string.digits
BUCKET_RE = r"^[a-z0-9][-a-z0-9.]{1,61}[a-z0-9]$"
ENDPOINT_RE = r"^https?://[^\s/]+"


def generate_password(length):
    """A random password of `length` letters and digits (what the password lookup makes)."""
    return "".join(secrets.choice(PASSWORD_CHARS) for _dummy in range(to_int(length)))


# The stores that run in the stack's own namespace: the Versity S3 gateway (the default of new stacks) and MinIO
# (archived: only stacks that already run it keep it, until they move to the gateway).
IN_CLUSTER_STORES = ("versitygw", "minio")
DEFAULT_STORE = "versitygw"
# The small stack's artifacts: a directory of its PVC, proxied by MLflow (no S3, no keys).
VOLUME_STORE = "pvc"


def artifact_store(request, state_config, minio_endpoint, minio_bucket, allas_endpoint, versitygw_endpoint=""):
    """The artifact store to configure: the requested one, else the current one, else the Versity S3 gateway.

    `request`: {'store', 'endpoint', 'bucket', 'prefix', 'checksum_when_required'} from the
    artifact_store entry point, or None/{}; `state_config`: current_state()['config'] (the live
    ConfigMap's data); `minio_endpoint`: 'http://<names.minio>:9000', `versitygw_endpoint`:
    'http://<names.versitygw>:7070'; `minio_bucket`: the in-cluster store's bucket (either engine).
    Returns {'store', 'in_cluster', 'endpoint', 'bucket', 'prefix', 'checksum_when_required', 'uri'}; the small
    stack's store ('pvc': a directory of its volume, the tracking role's to name) has no endpoint, bucket or uri.
    """
    req = default_true(request, {})
    cfg = state_config or {}
    store = default_true(req.get("store"), default_true(cfg.get("ARTIFACT_STORE"), DEFAULT_STORE))
    if store == VOLUME_STORE:
        return {"store": store, "endpoint": "", "bucket": "", "prefix": "", "checksum_when_required": False, "uri": "",
                "in_cluster": False}
    if store in IN_CLUSTER_STORES:
        endpoint = minio_endpoint if store == "minio" else versitygw_endpoint
        s = {"store": store, "endpoint": endpoint, "bucket": minio_bucket, "prefix": ""}
    elif req:
        s = {
            "store": store,
            "endpoint": req.get("endpoint") or (allas_endpoint if store == "allas" else ""),
            "bucket": req.get("bucket", ""),
            "prefix": default_true(req.get("prefix"), ""),
        }
    else:
        s = {
            "store": store,
            "endpoint": cfg.get("MLFLOW_S3_ENDPOINT_URL", ""),
            "bucket": cfg.get("S3_BUCKET", ""),
            "prefix": cfg.get("S3_PREFIX", ""),
        }
    if req and "checksum_when_required" in req:
        chk = req["checksum_when_required"]
    elif not req and store not in IN_CLUSTER_STORES:
        chk = cfg.get("AWS_REQUEST_CHECKSUM_CALCULATION", "") == "when_required"
    else:
        chk = store == "allas"
    prefix = re.sub(r"^/+|/+$", "", text(s["prefix"]))
    s["checksum_when_required"] = to_bool(chk)
    s["prefix"] = prefix
    s["uri"] = "s3://" + text(s["bucket"]) + "/" + ((prefix + "/") if prefix else "")
    s["in_cluster"] = store in IN_CLUSTER_STORES
    return s


UNFILTERED_STORE_ROUTE_MSG = (
    "direct artifact mode would expose the in-cluster MinIO's own S3 API on a Route with no filter in front, and this"
    " MinIO writes a forged upload for anyone who knows the client key id (CVE-2026-41145, never fixed: MinIO is"
    " archived). Use mlflow_artifact_mode=proxied (large transfers still go straight to the store, through the filtered"
    " pre-signed path), or set mlflow_accept_unfiltered_store_route=true to accept that risk"
)


GATEWAY_DIRECT_MSG = (
    "direct artifact mode is not available with the in-cluster Versity S3 gateway: use mlflow_artifact_mode=proxied"
    " (large transfers still go straight to the store, through the pre-signed path), or an external store"
    " (configure_artifact_store.yml -e mlflow_artifact_store=allas)"
)


SMALL_DIRECT_MSG = (
    "direct artifact mode needs an S3 store, and the small stack (mlflow_stack_size=small) keeps its artifacts on its"
    " volume: use mlflow_artifact_mode=proxied, or grow the stack first (playbooks/grow.yml)"
)


def artifact_store_problems(store, s3_key, s3_secret, artifact_mode="proxied", unfiltered_route_accepted=False):
    """What is wrong with an artifact store (artifact_store()) and its keys: a list of messages. Direct artifact mode
    on the in-cluster store is refused unless `unfiltered_route_accepted` (its Route has no filter)."""
    errors = []
    if store.get("store") == VOLUME_STORE:
        return [SMALL_DIRECT_MSG] if artifact_mode == "direct" else []
    if store.get("store") == "minio" and artifact_mode == "direct" and not to_bool(unfiltered_route_accepted):
        errors.append(UNFILTERED_STORE_ROUTE_MSG)
    if store.get("store") == "versitygw" and artifact_mode == "direct":
        errors.append(GATEWAY_DIRECT_MSG)
    if not (matches(BUCKET_RE, store.get("bucket")) and matches(ENDPOINT_RE, store.get("endpoint"))):
        errors.append(
            "it needs an S3 endpoint URL (http(s)://...) and a valid bucket name (got endpoint '"
            + text(store.get("endpoint")) + "', bucket '" + text(store.get("bucket")) + "')"
        )
    if not (len(s3_key or "") > 0 and len(s3_secret or "") > 0):
        errors.append("it has no access keys: give mlflow_s3_access_key_id and mlflow_s3_secret_access_key")
    return errors


def _secret_data(live, name):
    return mapping(lookup(live.get("Secret/" + name), "data"))


def _old(live, name, key):
    # The template's old() macro renders the value: always text.
    value = _secret_data(live, name).get(key, "")
    return value if isinstance(value, str) else text(value)


def htpasswd_fingerprint(htpasswd_users, bcrypt_cost, sha512_rounds):
    """`[users, cost | int, rounds | int] | to_json | hash('sha256')`, as the Secret records it."""
    dumped = to_json([htpasswd_users, to_int(bcrypt_cost), to_int(sha512_rounds)])
    return hashlib.sha256(dumped.encode("utf-8", "surrogateescape")).hexdigest()


def known_logins_map(htpasswd_users):
    """The entries of an NGINX `map` on $http_authorization that name every valid basic-auth header (value ""):
    requests that carry one of them are never counted by the failed-login limit (nginx.conf.j2). Sorted, one
    per line. As secret as the passwords themselves: it lives in Secret <app>-htpasswd, mounted only into NGINX."""
    lines = []
    for user in htpasswd_users or []:
        token = base64.b64encode(("%s:%s" % (user["name"], user["password"])).encode("utf-8")).decode("ascii")
        lines.append('"Basic %s" "";' % token)
    return "".join(line + "\n" for line in sorted(lines))


def stack_credentials(live, names, users, models_user, store, database_uri, s3_access_key_id,
                      s3_secret_access_key, password_length, generated_annotation, htpasswd_scheme,
                      htpasswd_generated_scheme, bcrypt_cost, sha512_rounds, rotate_signing_key=False):
    """The stack's credentials: given, else kept from the live Secrets, else generated.

    `live`: index_live(); `users`: normalise_users(); `store`: artifact_store(). Users whose
    password the role generated (now, or before: the `generated_annotation` on Secret
    <names.users>) get `htpasswd_generated_scheme`. `htpasswd_current` is the live htpasswd file
    when its recorded fingerprint still matches, else '' (hash it again).
    """
    live = live or {}

    def gen(length=None):
        return generate_password(password_length if length is None else length)

    def old(name, key):
        return _old(live, name, key)

    users_meta = mapping(lookup(live.get("Secret/" + names["users"]), "metadata"))
    before = default_true(users_meta.get("annotations"), {}).get(generated_annotation, "")
    generated_before = [n for n in text(before).split(",") if n]
    passwords = {}
    generated = []
    for user in users or []:
        given = default_true(user.get("password"), "")
        kept = "" if to_bool(user.get("rotate", False)) else old(names["users"], user["name"])
        passwords[user["name"]] = given or kept or gen()
        if not given and (not kept or user["name"] in generated_before):
            generated.append(user["name"])
    c = {
        "users": passwords,
        "models_user": models_user,
        "models_password": old(names["models_auth"], "MLFLOW_TRACKING_PASSWORD") or gen(32),
        "pg_user": old(names["postgresql"], "POSTGRESQL_USER") or "mlflow",
        "pg_password": old(names["postgresql"], "POSTGRESQL_PASSWORD") or gen(32),
        "pg_database": old(names["postgresql"], "POSTGRESQL_DATABASE") or "mlflow",
        "database_uri": database_uri or old(names["database"], "MLFLOW_BACKEND_STORE_URI"),
        # The template's `'root' ~ gen(12) | lower` lowers the random part only.
        "minio_user": old(names["minio"], "MINIO_ROOT_USER") or ("root" + gen(12).lower()),
        "minio_password": old(names["minio"], "MINIO_ROOT_PASSWORD") or gen(32),
        "client_key": old(names["minio_client"], "AWS_ACCESS_KEY_ID") or ("client" + gen(14).lower()),
        "client_secret": old(names["minio_client"], "AWS_SECRET_ACCESS_KEY") or gen(32),
        # The Versity S3 gateway's admin key (only its pod and the Job that creates the signing key see it) and
        # MLflow's signing key (a gateway user that owns the artifact bucket and nothing else).
        "gateway_admin_key": old(names["versitygw"], "ROOT_ACCESS_KEY") or ("admin" + gen(15).lower()),
        "gateway_admin_secret": old(names["versitygw"], "ROOT_SECRET_KEY") or gen(40),
        "signing_key": old(names["versitygw_client"], "AWS_ACCESS_KEY_ID") or ("mlflow" + gen(14).lower()),
        # playbooks/rotate_store_key.yml: a new secret for the same key id (the gateway updates the user in place).
        "signing_secret": ("" if to_bool(rotate_signing_key) else old(names["versitygw_client"], "AWS_SECRET_ACCESS_KEY"))
        or gen(40),
        # The AI Gateway's key-encryption passphrase: generated once, then always kept (another
        # passphrase makes the stored keys unreadable; only playbooks/rotate_kek.yml changes it,
        # with `mlflow crypto rotate-kek`, and writes the version it rotated to with it).
        "kek_passphrase": old(names["crypto"], "MLFLOW_CRYPTO_KEK_PASSPHRASE") or gen(48),
        "kek_version": old(names["crypto"], "MLFLOW_CRYPTO_KEK_VERSION") or "1",
    }
    if store.get("store") == "minio":
        c["s3_key"] = c["minio_user"]
        c["s3_secret"] = c["minio_password"]
    elif store.get("store") == "versitygw":
        c["s3_key"] = c["signing_key"]
        c["s3_secret"] = c["signing_secret"]
    else:
        c["s3_key"] = s3_access_key_id or old(names["s3"], "AWS_ACCESS_KEY_ID")
        c["s3_secret"] = s3_secret_access_key or old(names["s3"], "AWS_SECRET_ACCESS_KEY")
    ht = _secret_data(live, names["htpasswd"])
    htpasswd_users = [
        {"name": name, "password": password,
         "scheme": htpasswd_generated_scheme if name in generated else htpasswd_scheme}
        for name, password in passwords.items()
    ]
    htpasswd_users.append({"name": models_user, "password": c["models_password"], "scheme": htpasswd_generated_scheme})
    fingerprint = htpasswd_fingerprint(htpasswd_users, bcrypt_cost, sha512_rounds)
    c["generated"] = generated
    c["htpasswd_users"] = htpasswd_users
    c["known_logins"] = known_logins_map(htpasswd_users)
    c["htpasswd_fingerprint"] = fingerprint
    c["htpasswd_existing"] = ht.get("htpasswd", "")
    c["htpasswd_current"] = ht.get("htpasswd", "") if ht.get("fingerprint", "") == fingerprint else ""
    return c


def secrets_plan(secrets_list, live):
    """{'all': the rendered Secrets, 'apply': those whose data, labels or annotations differ from live}.

    A live Secret's labels and annotations may have more keys than the rendered one's, but not kubectl's
    last-applied annotation: a client-side apply (rotate_kek.yml made one until now) wrote the values into it, and the
    server-side apply of the Secret removes it.
    """
    live = live or {}
    everything = [s for s in secrets_list or [] if s]
    apply = []
    for s in everything:
        meta = mapping(s.get("metadata"))
        have = mapping(live.get("Secret/" + text(meta.get("name"))))
        have_meta = mapping(have.get("metadata"))
        have_labels = default_true(have_meta.get("labels"), {})
        have_ann = default_true(have_meta.get("annotations"), {})
        if (have.get("raw") != s.get("data")
                or _combined(have_labels, meta.get("labels")) != have_labels
                or _combined(have_ann, meta.get("annotations")) != have_ann
                or LAST_APPLIED in have_ann):
            apply.append(s)
    return {"all": everything, "apply": apply}


def _combined(base, extra):
    out = dict(base)
    if isinstance(extra, Mapping):
        out.update(extra)
    return out
