"""plugins/plugin_utils/credentials.py (the role's facts/store, credentials, secrets_plan templates)."""

from __future__ import annotations

import base64
import itertools
import string

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import credentials as cr
from ansible_collections.csc.mlflow.plugins.plugin_utils import stack_state as ss

NAMES = {
    "tracking": "demo", "models": "demo-models", "models_cfg": "models-cfg", "postgresql": "demo-postgresql",
    "database": "demo-database", "minio": "demo-minio", "minio_client": "demo-minio-client", "s3": "demo-s3",
    "config": "demo-config", "users": "demo-users", "htpasswd": "demo-htpasswd", "models_auth": "demo-models-auth",
    "crypto": "demo-crypto", "versitygw": "demo-versitygw", "versitygw_client": "demo-versitygw-client",
}
GEN_ANN = "csc.mlflow/generated-passwords"
MINIO = "http://demo-minio:9000"
GATEWAY = "http://demo-versitygw:7070"
ALLAS = "https://a3s.fi"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(name, data, annotations=None):
    md = {"name": name, "uid": "u", "labels": {"app.kubernetes.io/instance": "demo"}}
    if annotations is not None:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "metadata": md, "data": {k: b64(v) for k, v in data.items()}}


def store(request=None, config=None):
    return cr.artifact_store(request, config or {}, MINIO, "default", ALLAS, GATEWAY)


# --- artifact_store

def test_a_new_stack_gets_the_versity_gateway():
    for request in (None, {}):
        assert store(request) == {"store": "versitygw", "endpoint": GATEWAY, "bucket": "default", "prefix": "",
                                  "checksum_when_required": False, "uri": "s3://default/", "in_cluster": True}
    assert list(store()) == ["store", "endpoint", "bucket", "prefix", "checksum_when_required", "uri", "in_cluster"]


def test_a_stack_that_runs_minio_keeps_it():
    assert store(None, {"ARTIFACT_STORE": "minio", "S3_BUCKET": "default"}) == {
        "store": "minio", "endpoint": MINIO, "bucket": "default", "prefix": "", "checksum_when_required": False,
        "uri": "s3://default/", "in_cluster": True}
    # ... until it asks for the gateway.
    assert store({"store": "versitygw"}, {"ARTIFACT_STORE": "minio"})["endpoint"] == GATEWAY


def test_store_keeps_the_current_one():
    cfg = {"ARTIFACT_STORE": "allas", "S3_BUCKET": "bkt", "S3_PREFIX": "/runs/x/", "MLFLOW_S3_ENDPOINT_URL": ALLAS,
           "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required"}
    assert store(None, cfg) == {"store": "allas", "endpoint": ALLAS, "bucket": "bkt", "prefix": "runs/x",
                                "checksum_when_required": True, "uri": "s3://bkt/runs/x/", "in_cluster": False}
    cfg = {"ARTIFACT_STORE": "s3", "S3_BUCKET": "b2", "MLFLOW_S3_ENDPOINT_URL": "https://s3.example"}
    assert store({}, cfg) == {"store": "s3", "endpoint": "https://s3.example", "bucket": "b2", "prefix": "",
                              "checksum_when_required": False, "uri": "s3://b2/", "in_cluster": False}
    # A recorded MinIO store is MinIO with the role's bucket, whatever else the ConfigMap says.
    assert store(None, {"ARTIFACT_STORE": "minio", "S3_BUCKET": "x"})["bucket"] == "default"


def test_store_requested_allas_fills_in_the_endpoint():
    req = {"store": "allas", "endpoint": "", "bucket": "ab", "prefix": "//a/b//", "checksum_when_required": True}
    assert store(req, {"ARTIFACT_STORE": "s3"}) == {
        "store": "allas", "endpoint": ALLAS, "bucket": "ab", "prefix": "a/b", "checksum_when_required": True,
        "uri": "s3://ab/a/b/", "in_cluster": False}
    # Without checksum_when_required in the request: true for allas only.
    assert store({"store": "allas", "bucket": "ab"})["checksum_when_required"] is True
    assert store({"store": "s3", "endpoint": "https://s", "bucket": "ab"})["checksum_when_required"] is False


def test_store_requested_s3():
    req = {"store": "s3", "endpoint": "https://s3.example", "bucket": "sb", "prefix": "x", "checksum_when_required": "yes"}
    assert store(req) == {"store": "s3", "endpoint": "https://s3.example", "bucket": "sb", "prefix": "x",
                          "checksum_when_required": True, "uri": "s3://sb/x/", "in_cluster": False}
    assert store(dict(req, checksum_when_required="false"))["checksum_when_required"] is False


def test_store_request_without_a_store_takes_the_current_one():
    req = {"store": "", "endpoint": "", "bucket": "b2", "prefix": None}
    out = store(req, {"ARTIFACT_STORE": "allas"})
    assert out["store"] == "allas" and out["endpoint"] == ALLAS and out["bucket"] == "b2" and out["prefix"] == ""
    assert store({"store": "minio", "bucket": "ignored", "checksum_when_required": True})["checksum_when_required"] is True


# --- artifact_store_problems

def test_store_problems():
    good = {"store": "s3", "bucket": "abc", "endpoint": "https://s3.example"}
    assert cr.artifact_store_problems(good, "k", "s") == []
    assert cr.artifact_store_problems(dict(good, bucket="A", endpoint="ftp://x"), "", "s") == [
        "it needs an S3 endpoint URL (http(s)://...) and a valid bucket name (got endpoint 'ftp://x', bucket 'A')",
        "it has no access keys: give mlflow_s3_access_key_id and mlflow_s3_secret_access_key",
    ]
    assert cr.artifact_store_problems(dict(good, endpoint="http:// x"), "k", "s")[0].startswith("it needs")
    assert cr.artifact_store_problems(good, "k", None) == [
        "it has no access keys: give mlflow_s3_access_key_id and mlflow_s3_secret_access_key"]


def test_direct_mode_on_the_in_cluster_store_needs_the_risk_named():
    minio = {"store": "minio", "bucket": "default", "endpoint": "http://mlflow-minio:9000"}
    assert cr.artifact_store_problems(minio, "k", "s", "direct") == [cr.UNFILTERED_STORE_ROUTE_MSG]
    assert cr.artifact_store_problems(minio, "k", "s", "direct", "true") == []
    assert cr.artifact_store_problems(minio, "k", "s", "proxied") == []
    # The gateway checks every signature, but its own Route is not built: direct mode on it is refused.
    gateway = dict(minio, store="versitygw", endpoint=GATEWAY)
    assert cr.artifact_store_problems(gateway, "k", "s", "direct") == [cr.GATEWAY_DIRECT_MSG]
    assert cr.artifact_store_problems(gateway, "k", "s", "proxied") == []
    # Allas/S3 in direct mode: no Route of ours in front of the store.
    assert cr.artifact_store_problems(dict(minio, store="allas", endpoint="https://a3s.fi"), "k", "s", "direct") == []


# --- stack_credentials

def credentials(live_objects, users, store_name="minio", **kw):
    args = dict(
        live=ss.index_live(live_objects), names=NAMES, users=users, models_user="demo-models",
        store={"store": store_name}, database_uri="", s3_access_key_id="", s3_secret_access_key="",
        password_length=24, generated_annotation=GEN_ANN, htpasswd_scheme="bcrypt",
        htpasswd_generated_scheme="sha512_crypt", bcrypt_cost=5, sha512_rounds=1000,
    )
    args.update(kw)
    return cr.stack_credentials(**args)


KEPT = [
    secret("demo-users", {"alice": "kept-alice", "bob": "kept-bob"}, {GEN_ANN: "bob,zed"}),
    secret("demo-models-auth", {"MLFLOW_TRACKING_PASSWORD": "models-pw"}),
    secret("demo-postgresql", {"POSTGRESQL_USER": "pgu", "POSTGRESQL_PASSWORD": "pgp", "POSTGRESQL_DATABASE": "pgd"}),
    secret("demo-database", {"MLFLOW_BACKEND_STORE_URI": "postgresql://old"}),
    secret("demo-minio", {"MINIO_ROOT_USER": "rootabc", "MINIO_ROOT_PASSWORD": "minio-pw"}),
    secret("demo-minio-client", {"AWS_ACCESS_KEY_ID": "clientx", "AWS_SECRET_ACCESS_KEY": "client-pw"}),
    secret("demo-s3", {"AWS_ACCESS_KEY_ID": "oldkey", "AWS_SECRET_ACCESS_KEY": "oldsecret"}),
    secret("demo-crypto", {"MLFLOW_CRYPTO_KEK_PASSPHRASE": "kept-kek", "MLFLOW_CRYPTO_KEK_VERSION": "3"}),
    secret("demo-versitygw", {"ROOT_ACCESS_KEY": "adminkept", "ROOT_SECRET_KEY": "admin-pw"}),
    secret("demo-versitygw-client", {"AWS_ACCESS_KEY_ID": "mlflowkept", "AWS_SECRET_ACCESS_KEY": "signing-pw"}),
]


@pytest.fixture
def counting(monkeypatch):
    """Deterministic generated passwords: 'G1xxxx', 'G2xxxx', ... of the asked length."""
    counter = itertools.count(1)

    def fake(length):
        n = str(next(counter))
        return ("G" + n + "x" * 40)[:int(length)]

    monkeypatch.setattr(cr, "generate_password", fake)


def test_everything_kept(counting):
    users = [{"name": "alice"}, {"name": "bob"}, {"name": "carol", "password": "given-pw"}]
    c = credentials(KEPT, users)
    assert c["users"] == {"alice": "kept-alice", "bob": "kept-bob", "carol": "given-pw"}
    # bob's kept password was generated by an earlier run (the annotation): the cheap scheme again.
    assert c["generated"] == ["bob"]
    assert c["htpasswd_users"] == [
        {"name": "alice", "password": "kept-alice", "scheme": "bcrypt"},
        {"name": "bob", "password": "kept-bob", "scheme": "sha512_crypt"},
        {"name": "carol", "password": "given-pw", "scheme": "bcrypt"},
        {"name": "demo-models", "password": "models-pw", "scheme": "sha512_crypt"},
    ]
    keys = ("models_user", "models_password", "pg_user", "pg_password", "pg_database", "database_uri", "minio_user",
            "minio_password", "client_key", "client_secret", "s3_key", "s3_secret")
    assert {k: c[k] for k in keys} == {
        "models_user": "demo-models", "models_password": "models-pw", "pg_user": "pgu", "pg_password": "pgp",
        "pg_database": "pgd", "database_uri": "postgresql://old", "minio_user": "rootabc", "minio_password": "minio-pw",
        "client_key": "clientx", "client_secret": "client-pw", "s3_key": "rootabc", "s3_secret": "minio-pw",
    }
    assert list(c) == ["users", "models_user", "models_password", "pg_user", "pg_password", "pg_database", "database_uri",
                       "minio_user", "minio_password", "client_key", "client_secret", "gateway_admin_key",
                       "gateway_admin_secret", "signing_key", "signing_secret", "kek_passphrase", "kek_version",
                       "s3_key", "s3_secret", "generated",
                       "htpasswd_users", "known_logins", "htpasswd_fingerprint", "htpasswd_existing", "htpasswd_current"]
    assert c["known_logins"] == cr.known_logins_map(c["htpasswd_users"])
    assert c["htpasswd_existing"] == "" and c["htpasswd_current"] == ""


def test_mlflow_signs_with_the_bucket_key_never_the_gateway_admin_key(counting):
    c = credentials(KEPT, [{"name": "alice"}], store_name="versitygw")
    assert (c["s3_key"], c["s3_secret"]) == ("mlflowkept", "signing-pw")
    assert (c["gateway_admin_key"], c["gateway_admin_secret"]) == ("adminkept", "admin-pw")
    fresh = credentials([], [{"name": "alice"}], store_name="versitygw")
    assert fresh["s3_key"].startswith("mlflow") and fresh["s3_key"] != fresh["gateway_admin_key"]
    assert fresh["gateway_admin_key"].startswith("admin") and len(fresh["gateway_admin_secret"]) == 40


def test_rotating_the_signing_key_keeps_its_id_and_renews_its_secret(counting):
    c = credentials(KEPT, [{"name": "alice"}], store_name="versitygw", rotate_signing_key=True)
    assert c["s3_key"] == "mlflowkept" and c["s3_secret"] not in ("signing-pw", "")
    assert c["gateway_admin_secret"] == "admin-pw"    # only the signing key changes
    assert credentials(KEPT, [{"name": "alice"}], store_name="versitygw", rotate_signing_key="false")["s3_secret"] == "signing-pw"


def test_kek_passphrase_is_generated_once_and_then_kept(counting):
    c = credentials([], [{"name": "alice"}])
    assert c["kek_passphrase"] == "G12" + "x" * 40 and c["kek_version"] == "1"  # the fake's longest
    # Kept as the Secret has it, also the version a rotation wrote; nothing a run is given changes it.
    c = credentials(KEPT, [{"name": "alice", "password": "new-pw"}], store_name="s3", database_uri="postgresql://new",
                    s3_access_key_id="nk", s3_secret_access_key="ns", password_length=64)
    assert (c["kek_passphrase"], c["kek_version"]) == ("kept-kek", "3")
    # Another Secret gone does not renew it either.
    live = [o for o in KEPT if o["metadata"]["name"] not in ("demo-users", "demo-s3")]
    assert credentials(live, [{"name": "alice"}])["kek_passphrase"] == "kept-kek"


def test_given_passwords_and_keys_win_over_kept_ones(counting):
    c = credentials(KEPT, [{"name": "alice", "password": "new-pw"}], store_name="s3", database_uri="postgresql://new",
                    s3_access_key_id="nk", s3_secret_access_key="ns")
    assert c["users"] == {"alice": "new-pw"} and c["generated"] == []
    assert c["database_uri"] == "postgresql://new"
    assert (c["s3_key"], c["s3_secret"]) == ("nk", "ns")


def test_s3_keys_kept_from_the_secret(counting):
    c = credentials(KEPT, [{"name": "alice"}], store_name="allas")
    assert (c["s3_key"], c["s3_secret"]) == ("oldkey", "oldsecret")
    assert c["s3_key"] != c["minio_user"]


def test_everything_generated(counting):
    c = credentials([], [{"name": "alice"}, {"name": "bob", "password": ""}, {"name": "carol", "password": None}],
                    password_length="10")
    assert c["users"] == {"alice": "G1xxxxxxxx", "bob": "G2xxxxxxxx", "carol": "G3xxxxxxxx"}
    assert c["generated"] == ["alice", "bob", "carol"]
    assert c["models_password"] == "G4" + "x" * 30
    assert (c["pg_user"], c["pg_database"], c["pg_password"]) == ("mlflow", "mlflow", "G5" + "x" * 30)
    assert c["database_uri"] == ""
    # 'root' ~ gen(12) | lower: only the random part is lowered.
    assert c["minio_user"] == "root" + "g6xxxxxxxxxx"
    assert c["client_key"] == "client" + "g8xxxxxxxxxxxx"
    assert c["s3_key"] == c["minio_user"] and c["s3_secret"] == c["minio_password"]
    assert all(u["scheme"] == "sha512_crypt" for u in c["htpasswd_users"])


def test_a_kept_password_that_someone_gave_keeps_the_given_scheme(counting):
    live = [secret("demo-users", {"alice": "chosen"}, {GEN_ANN: ""})]
    c = credentials(live, [{"name": "alice"}])
    assert c["users"] == {"alice": "chosen"} and c["generated"] == []
    assert c["htpasswd_users"][0]["scheme"] == "bcrypt"


def test_real_generation_uses_letters_and_digits():
    c = credentials([], [{"name": "alice"}], password_length=30)
    allowed = set(string.ascii_letters + string.digits)
    assert len(c["users"]["alice"]) == 30 and set(c["users"]["alice"]) <= allowed
    assert len(c["models_password"]) == 32 and len(c["minio_user"]) == 16 and len(c["client_key"]) == 20
    assert c["minio_user"][4:] == c["minio_user"][4:].lower()
    assert set(cr.generate_password("64")) <= allowed and len(cr.generate_password("64")) == 64


# The value Ansible itself computes for
#   [users, '5' | int, 1000 | int] | to_json | hash('sha256')
# with the users below (ansible-core 2.19, `ansible localhost -m debug`).
PINNED_USERS = [{"name": "alice", "password": "pässwörd", "scheme": "bcrypt"},
                {"name": "mlflow-models", "password": 'Zx9"q', "scheme": "sha512_crypt"}]
PINNED_FINGERPRINT = "97b14309116fd54c8d34fb1925617e0a681c319f3b8f45343e1c85b674114e21"


def test_fingerprint_is_byte_identical_to_ansibles():
    assert cr.htpasswd_fingerprint(PINNED_USERS, "5", 1000) == PINNED_FINGERPRINT
    assert cr.htpasswd_fingerprint(PINNED_USERS, 5, "1000") == PINNED_FINGERPRINT


def test_htpasswd_current_only_while_the_fingerprint_matches(counting):
    users = [{"name": "alice", "password": "pässwörd"}]
    live = [secret("demo-models-auth", {"MLFLOW_TRACKING_PASSWORD": 'Zx9"q'})]
    fingerprint = cr.htpasswd_fingerprint(
        [{"name": "alice", "password": "pässwörd", "scheme": "bcrypt"},
         {"name": "demo-models", "password": 'Zx9"q', "scheme": "sha512_crypt"}], 5, 1000)
    c = credentials(live + [secret("demo-htpasswd", {"htpasswd": "alice:$2y$...\n", "fingerprint": fingerprint})], users)
    assert c["htpasswd_fingerprint"] == fingerprint
    assert c["htpasswd_current"] == c["htpasswd_existing"] == "alice:$2y$...\n"
    c = credentials(live + [secret("demo-htpasswd", {"htpasswd": "old", "fingerprint": fingerprint})], users, bcrypt_cost=6)
    assert c["htpasswd_existing"] == "old" and c["htpasswd_current"] == ""


# --- secrets_plan

def rendered(name, data, labels=None, annotations=None):
    md = {"name": name, "namespace": "ns", "labels": labels or {"app.kubernetes.io/component": "tracking"}}
    if annotations is not None:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": md,
            "data": {k: b64(v) for k, v in data.items()}}


def as_live(obj, **meta):
    out = {"apiVersion": "v1", "kind": "Secret", "metadata": dict(obj["metadata"], uid="u", **meta),
           "data": dict(obj["data"])}
    return out


def test_secrets_plan_nothing_live_applies_everything():
    secrets = [rendered("a", {"k": "v"}), None, rendered("b", {"k": "w"})]
    plan = cr.secrets_plan(secrets, {})
    assert plan == {"all": [secrets[0], secrets[2]], "apply": [secrets[0], secrets[2]]}


def test_secrets_plan_same_secrets_are_left_out():
    a = rendered("a", {"k": "v"}, annotations={"csc.mlflow/mlflow-version": "3.17.2"})
    b = rendered("b", {"k": "w"})
    live_a = as_live(a)
    live_a["metadata"]["labels"] = dict(a["metadata"]["labels"], extra="x")   # more live labels are fine
    live_a["metadata"]["annotations"] = dict(a["metadata"]["annotations"], more="y")
    live = ss.index_live([live_a, as_live(b)])
    assert cr.secrets_plan([a, b], live) == {"all": [a, b], "apply": []}


def test_secrets_plan_changed_data_labels_or_annotations():
    a = rendered("a", {"k": "v"})
    b = rendered("b", {"k": "w"})
    c = rendered("c", {"k": "x"}, annotations={"csc.mlflow/mlflow-version": "3.17.2"})
    d = rendered("d", {})
    live_a = as_live(a)
    live_a["data"]["k"] = b64("other")
    live_b = as_live(b)
    live_b["metadata"]["labels"] = {"app.kubernetes.io/component": "other"}
    live_c = as_live(c)
    live_c["metadata"]["annotations"] = {"csc.mlflow/mlflow-version": "3.1.0"}
    live_d = as_live(d)
    live = ss.index_live([live_a, live_b, live_c, live_d])
    assert [s["metadata"]["name"] for s in cr.secrets_plan([a, b, c, d], live)["apply"]] == ["a", "b", "c"]


def test_secrets_plan_applies_a_secret_whose_values_a_client_side_apply_copied_into_an_annotation():
    a = rendered("a", {"k": "v"})
    live_a = as_live(a)
    live_a["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": '{"data": {"k": "dg=="}}'}
    assert cr.secrets_plan([a], ss.index_live([live_a]))["apply"] == [a]


# --- known_logins_map

def test_known_logins_map_names_every_valid_basic_auth_header():
    import base64

    users = [{"name": "bob", "password": "pä$$ wörd\"'"}, {"name": "alice", "password": "s3cret"}]
    text = cr.known_logins_map(users)
    lines = text.splitlines()
    assert lines == sorted(lines) and len(lines) == 2 and text.endswith("\n")
    for user in users:
        token = base64.b64encode(f"{user['name']}:{user['password']}".encode()).decode()
        assert f'"Basic {token}" "";' in lines
    assert cr.known_logins_map([]) == ""


def test_a_rotated_user_gets_a_generated_password_and_the_others_keep_theirs(counting):
    c = credentials(KEPT, [{"name": "alice", "rotate": True}, {"name": "bob"}])
    assert c["users"] == {"alice": "G1" + "x" * 22, "bob": "kept-bob"}
    assert c["generated"] == ["alice", "bob"]


def test_the_small_stacks_store_is_its_volume():
    s = cr.artifact_store({"store": "pvc"}, {"ARTIFACT_STORE": "versitygw", "S3_BUCKET": "x"}, MINIO, "default", ALLAS, GATEWAY)
    assert s == {"store": "pvc", "endpoint": "", "bucket": "", "prefix": "", "checksum_when_required": False, "uri": "",
                 "in_cluster": False}
    # kept from the live configuration on a re-run
    assert cr.artifact_store({}, {"ARTIFACT_STORE": "pvc"}, MINIO, "default", ALLAS, GATEWAY)["store"] == "pvc"
    assert cr.artifact_store_problems(s, "", "") == []
    assert cr.artifact_store_problems(s, "", "", artifact_mode="direct") == [cr.SMALL_DIRECT_MSG]
