"""plugins/plugin_utils/inputs.py (mlflow_users normalised; the preflight, deploy and artifact_store checks)."""

from __future__ import annotations

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import inputs as inp

NAMES = {"tracking": "demo", "models": "demo-models", "minio": "demo-minio", "presigned": "demo-presigned"}


# --- normalise_users

@pytest.mark.parametrize(
    "value,expected",
    [
        ("alice,bob", [{"name": "alice"}, {"name": "bob"}]),
        ("alice\nbob\n", [{"name": "alice"}, {"name": "bob"}]),
        (" alice, bob\n carol,,\t", [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]),
        ("", []),
        (" , ", []),
        (["a", " b ", 3], [{"name": "a"}, {"name": "b"}, {"name": "3"}]),
        ([{"name": "a", "password": "p"}, "b"], [{"name": "a", "password": "p"}, {"name": "b"}]),
        ([], []),
    ],
)
def test_normalise_users(value, expected):
    assert inp.normalise_users(value) == expected


def test_normalise_users_keeps_dicts_as_given():
    user = {"name": " spaced ", "password": "p", "extra": 1}
    assert inp.normalise_users([user])[0] is user


def test_normalise_users_refuses_what_is_not_a_list():
    with pytest.raises(ValueError):
        inp.normalise_users(None)
    with pytest.raises(ValueError):
        inp.normalise_users(5)


# --- input_problems

GOOD_INPUT = dict(app_name="mlflow", namespace="", version="3.17.2", route_host="", models_route_host="",
                  minio_route_host="", target_namespace="ns1")


def problems(**kw):
    return inp.input_problems(**dict(GOOD_INPUT, **kw))


def test_input_fine():
    assert problems() == []
    assert problems(namespace="my-project", version="3.17.2rc1", route_host="mlflow.example.org") == []


def test_input_every_problem_is_named():
    assert problems(app_name="Demo-", namespace="Bad_NS", version="v3", route_host="a_b",
                    minio_route_host="-x", target_namespace="") == [
        "mlflow_app_name 'Demo-' is not a DNS-1035 label of at most 40 characters (lowercase letters, digits and '-',"
        " starting with a letter, not ending with '-')",
        "mlflow_namespace 'Bad_NS' is not a DNS label",
        "mlflow_version 'v3' is not a version like 3.17.2",
        "route host 'a_b' is not a DNS name",
        "route host '-x' is not a DNS name",
        "no target namespace: set mlflow_namespace (required when the credentials come only from K8S_AUTH_HOST /"
        " K8S_AUTH_API_KEY), or select a project with `oc project <name>`",
    ]


def test_input_limits():
    assert problems(app_name="a" * 40) == []
    assert len(problems(app_name="a" * 41)) == 1
    assert problems(namespace="n" * 63) == [] and len(problems(namespace="n" * 64)) == 1


def test_input_trailing_newline_quirks():
    # Python's $ matches before a final newline (as the template's tests do); the message's
    # regex_replace('$', ...) then adds its suffix twice.
    assert problems(version="3.17\n", route_host="ok.example\n") == []
    assert problems(route_host="a_b\n") == ["route host 'a_b' is not a DNS name\n' is not a DNS name"]


# --- the version floor


def test_version_floor_refuses_releases_with_advisories():
    assert problems(version="3.16.1") == [] and problems(version="3.17") == [] and problems(version="4.0.0rc1") == []
    (msg,) = problems(version="3.16.0")
    assert msg.startswith("mlflow_version 3.16.0 is older than 3.16.1, ") and "GHSA-gq3w-7jj3-x7gr" in msg
    assert "GHSA-7qhf-v65m-g5f3" not in msg and "mlflow_allow_insecure_version=true" in msg
    (old,) = problems(version="2.22.1")
    assert all(ghsa in old for ghsa, _what, _fixed in inp.ADVISORIES)
    # A pre-release of the floor is not the fixed release.
    assert len(problems(version="3.16.1rc0")) == 1


def test_version_floor_can_be_passed_on_purpose():
    assert problems(version="2.22.1", allow_insecure_version=True) == []
    assert problems(version="2.22.1", allow_insecure_version="true") == []
    assert len(problems(version="2.22.1", allow_insecure_version="false")) == 1
    # A version that does not parse gets only the format message.
    assert problems(version="v3") == ["mlflow_version 'v3' is not a version like 3.17.2"]


def tracking(**kw):
    return inp.tracking_problems(**dict(dict(replicas=1, enable_job_execution=False), **kw))


def test_workers():
    assert tracking(workers="3") == [] and tracking(workers="1.9") == []  # | int gives 1
    assert tracking(workers=0) == ["mlflow_workers must be at least 1"]
    assert tracking(workers="abc") == ["mlflow_workers must be at least 1"]


def test_gc_schedule_and_age():
    assert tracking(gc_schedule="0 3 * * 0", gc_older_than="30d") == []
    assert tracking(gc_schedule="0 3 * * 0", gc_older_than="1.5d2h3m4s") == []
    assert tracking(gc_schedule="", gc_older_than="whenever") == []  # off: the age is not used
    assert tracking(gc_schedule="daily", gc_older_than="30d") == [
        "mlflow_gc_schedule 'daily' is not a cron schedule of five fields (e.g. '0 3 * * 0')"]
    for bad in ("30", "d", "", "30 d", "1h1d"):
        assert tracking(gc_schedule="0 3 * * 0", gc_older_than=bad) == [
            "mlflow_gc_older_than '" + bad + "' is not a duration like 30d, 12h or 1d2h3m4s"], bad


def test_version_tuple():
    assert inp.version_tuple("3.17.2rc1") == (3, 17, 2) and inp.version_tuple("3.1") == (3, 1, 0)
    assert inp.version_tuple("x") is None


# --- deploy_problems

GOOD_DEPLOY = dict(users=[{"name": "mlflow"}], models_user="demo-models", min_password_length=0, platform="auto",
                   names=NAMES, route_host="", models_route_host="", minio_route_host="", namespace="ns1",
                   artifact_mode="proxied", whitelist=["10.0.0.1"], route_allow_all=False)
USERS_MSG = ("mlflow_users needs at least one user, with unique names of letters, digits, '.', '_' or '-' (not "
             "'demo-models', reserved for the Models pod); a given password must be non-empty%s")
OPEN_MSG = ("mlflow_route_whitelist is empty: the routes would be open to the whole internet. Give your IPs/CIDRs in"
            " mlflow_route_whitelist, or set mlflow_route_allow_all=true to deploy without a whitelist on purpose")


def long_host_msg(route):
    return ("the host of Route %s would have a DNS label over 63 characters, which the router refuses: set its host"
            " variable (mlflow_route_host, mlflow_models_route_host, mlflow_minio_route_host,"
            " mlflow_presigned_route_host) or use a shorter mlflow_app_name or namespace" % route)


def deploy(**kw):
    return inp.deploy_problems(**dict(GOOD_DEPLOY, **kw))


def test_deploy_fine():
    assert deploy() == []
    assert deploy(users=[{"name": "a.b_c-D", "password": "longenough"}], min_password_length="8") == []


@pytest.mark.parametrize(
    "users",
    [
        [],
        [{"name": "alice"}, {"name": "Alice"}],            # unique ignores case, as Ansible's unique does
        [{"name": "alice"}, {"name": "alice"}],
        [{"name": "demo-models"}],
        [{"name": "a b"}],
        [{"name": "x" * 65}],
        [{"name": "a", "password": ""}],
        [{"name": "a", "password": None}],
        [{"password": "p"}],
    ],
)
def test_deploy_bad_users(users):
    assert deploy(users=users) == [USERS_MSG % ""]


def test_deploy_short_given_password():
    assert deploy(users=[{"name": "a", "password": "short"}], min_password_length="8") == [USERS_MSG % " and at least 8 characters"]
    # Only given passwords are measured.
    assert deploy(users=[{"name": "a"}], min_password_length=8) == []


def test_deploy_whitelist_or_allow_all():
    assert deploy(whitelist=[]) == [OPEN_MSG]
    for allow in (True, "true", "yes", "1"):
        assert deploy(whitelist=[], route_allow_all=allow) == []
    assert deploy(whitelist=[], route_allow_all="false") == [OPEN_MSG]


def test_deploy_generated_hosts_over_63_characters():
    ns = "n" * 60  # demo-models-<ns> is 72 characters
    assert deploy(namespace=ns) == [long_host_msg("demo"), long_host_msg("demo-models")]
    assert deploy(namespace=ns, artifact_mode="direct") == [
        long_host_msg("demo"), long_host_msg("demo-models"), long_host_msg("demo-minio")]
    # Given hosts are checked as they are; a short given host is fine.
    assert deploy(namespace=ns, route_host="t.example", models_route_host="m.example") == []
    assert deploy(route_host="x." + "y" * 64) == [long_host_msg("demo")]
    # Plain Kubernetes generates nothing.
    assert deploy(namespace=ns, platform="kubernetes", route_host="x." + "y" * 64) == []
    # The boundary: "demo-models-" + 51 characters is 63.
    assert deploy(namespace="n" * 51) == []
    assert deploy(namespace="n" * 52) == [long_host_msg("demo-models")]


def test_deploy_presigned_route_host_over_63_characters():
    # "demo-presigned-" + 48 characters is 63; only outside direct mode is there a pre-signed Route.
    assert deploy(namespace="n" * 48, presigned_enabled=True) == []
    assert deploy(namespace="n" * 49, presigned_enabled="true") == [long_host_msg("demo-presigned")]
    assert deploy(namespace="n" * 49, presigned_enabled=True, presigned_route_host="p.example") == []
    assert deploy(namespace="n" * 49, presigned_enabled=True, artifact_mode="direct") == []
    assert deploy(namespace="n" * 49, presigned_enabled=False) == []


# --- artifact_store_input_problem

KEYS = dict(s3_access_key_id="k", s3_secret_access_key="s")
STORE_MSG = ("mlflow_artifact_store=%s: allas and s3 need mlflow_s3_access_key_id, mlflow_s3_secret_access_key and a"
             " valid mlflow_s3_bucket; s3 also needs mlflow_s3_endpoint_url (http(s)://...).")


def store_input(store, **kw):
    args = dict(artifact_store=store, s3_access_key_id="", s3_secret_access_key="", s3_bucket="", s3_endpoint_url="")
    args.update(kw)
    return inp.artifact_store_input_problem(**args)


def test_store_input_fine():
    assert store_input("versitygw") == ""
    assert store_input("versitygw", s3_endpoint_url="nonsense") == ""
    assert store_input("allas", s3_bucket="abc", **KEYS) == ""
    assert store_input("s3", s3_bucket="abc", s3_endpoint_url="https://s3.example", **KEYS) == ""


def test_store_input_problems():
    assert store_input("allas", s3_bucket="abc") == STORE_MSG % "allas"
    assert store_input("allas", s3_bucket="ab", **KEYS) == STORE_MSG % "allas"
    assert store_input("s3", s3_bucket="abc", s3_endpoint_url="s3.example", **KEYS) == STORE_MSG % "s3"
    assert store_input("s3", s3_bucket="abc", s3_endpoint_url="https://s3", s3_access_key_id="k") == STORE_MSG % "s3"
    assert store_input("gcs") == "mlflow_artifact_store=gcs: must be one of versitygw, allas, s3."
    assert store_input("") == "mlflow_artifact_store=: must be one of versitygw, allas, s3."
    # No stack moves to the archived MinIO.
    assert "MinIO is archived" in store_input("minio")


# --- tracking_problems

@pytest.mark.parametrize("replicas,jobs", [(1, False), (1, True), ("1", "true"), (2, False), ("3", "false")])
def test_tracking_replicas_accepted(replicas, jobs):
    assert inp.tracking_problems(replicas, jobs) == []


def test_more_replicas_with_server_side_jobs_are_refused():
    problems = inp.tracking_problems(2, True)
    assert len(problems) == 1
    assert problems[0].startswith("mlflow_tracking_replicas=2 with mlflow_enable_job_execution=true")
    assert "mlflow_enable_job_execution=false, or mlflow_tracking_replicas=1" in problems[0]


def test_autoscaler_bounds_and_server_side_jobs():
    assert inp.tracking_problems(1, False, 4) == []
    assert inp.tracking_problems("2", "false", "2") == []
    assert inp.tracking_problems(1, True, 0) == []
    assert inp.tracking_problems(1, True, 1) == []
    problems = inp.tracking_problems(1, True, 3)
    assert len(problems) == 1 and problems[0].startswith(
        "mlflow_tracking_autoscale_max_replicas=3 with mlflow_enable_job_execution=true"), problems
    for bad in (-1, "x", True, 1.5):
        assert inp.tracking_problems(2, False, bad) == [
            "mlflow_tracking_autoscale_max_replicas must be 0 (no autoscaling) or a whole number of at least"
            " mlflow_tracking_replicas (2), not '%s'" % bad]
    assert inp.tracking_problems(3, False, 2)[0].startswith("mlflow_tracking_autoscale_max_replicas must be 0")


@pytest.mark.parametrize("replicas", [0, -1, "two", "", None, True, 1.5])
def test_tracking_replicas_must_be_a_whole_number_of_at_least_one(replicas):
    assert inp.tracking_problems(replicas, False) == [
        "mlflow_tracking_replicas must be a whole number of at least 1, not '%s'" % replicas
    ]


# --- ingress_problems (plain Kubernetes)

def _ingress(name="mlflow", tls=True, ingress_class="nginx", whitelist=True):
    meta = {"name": name, "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "0"}}
    if whitelist:
        meta["annotations"][inp.INGRESS_WHITELIST_ANNOTATION] = "192.0.2.0/24"
    spec = {"rules": [{"host": "mlflow.example.org"}]}
    if ingress_class:
        spec["ingressClassName"] = ingress_class
    if tls:
        spec["tls"] = [{"hosts": ["mlflow.example.org"], "secretName": "tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def test_ingress_with_tls_and_ingress_nginx_is_fine():
    assert inp.ingress_problems([{"kind": "Route", "metadata": {"name": "x"}, "spec": {}}, _ingress()]) == []
    assert inp.ingress_problems([_ingress(ingress_class="", whitelist=False)]) == []  # nothing to enforce


def test_ingress_without_tls_is_refused_unless_accepted():
    problems = inp.ingress_problems([_ingress(tls=False)])
    assert len(problems) == 1 and "Ingress mlflow has no TLS" in problems[0] and "mlflow_ingress_allow_plain_http" in problems[0]
    assert inp.ingress_problems([_ingress(tls=False)], plain_http_accepted="true") == []


@pytest.mark.parametrize("ingress_class, named", [("", "the cluster's default"), ("traefik", "'traefik'")])
def test_whitelist_on_another_controller_is_refused_unless_accepted(ingress_class, named):
    problems = inp.ingress_problems([_ingress(ingress_class=ingress_class), _ingress("mlflow-models", tls=False)])
    assert len(problems) == 2
    assert "Ingress mlflow carries the IP whitelist" in problems[0] and named in problems[0]
    assert "Ingress mlflow-models has no TLS" in problems[1]
    assert inp.ingress_problems([_ingress(ingress_class=ingress_class)], whitelist_unenforced_accepted=True) == []


USERS = [{"name": "alice", "password": "alice-chosen-password"}, {"name": "bob"}]


def test_users_change_add_keeps_the_others_and_is_idempotent():
    out = inp.users_change(USERS, "add", "carol")
    assert out == {"users": USERS + [{"name": "carol"}], "changed": ["carol"], "problem": ""}
    assert inp.users_change(USERS, "add", "bob") == {"users": USERS, "changed": [], "problem": ""}
    assert inp.users_change(USERS, "add", "carol, dave")["changed"] == ["carol", "dave"]


def test_users_change_add_with_a_password_sets_it():
    out = inp.users_change(USERS, "add", "bob", "a-chosen-password-of-bob")
    assert out["users"][1] == {"name": "bob", "password": "a-chosen-password-of-bob"} and out["changed"] == ["bob"]


def test_users_change_rotate_asks_for_a_new_password():
    out = inp.users_change(USERS, "rotate", "alice")
    assert out["users"] == [{"name": "alice", "rotate": True}, {"name": "bob"}] and out["changed"] == ["alice"]


def test_users_change_remove():
    assert inp.users_change(USERS, "remove", "bob") == {"users": USERS[:1], "changed": ["bob"], "problem": ""}
    assert inp.users_change(USERS, "remove", "nobody") == {"users": USERS, "changed": [], "problem": ""}


@pytest.mark.parametrize("action, names, password, problem", [
    ("delete", "bob", "", "mlflow_user_action must be one of add, remove, rotate"),
    ("add", "", "", "mlflow_user_name is empty"),
    ("add", "a,b", "pw-pw-pw-pw-pw-pw-pw", "name one user, not a, b"),
    ("remove", "bob", "pw-pw-pw-pw-pw-pw-pw", "not used when removing"),
    ("rotate", "carol", "", "no user carol to rotate (the users: alice, bob)"),
    ("remove", "alice bob", "", "without users"),
    ("add", "[not json", "", "mlflow_user_name looks like a JSON list"),
])
def test_users_change_problems_change_nothing(action, names, password, problem):
    out = inp.users_change(USERS, action, names, password)
    assert problem in out["problem"] and out["users"] == USERS and out["changed"] == []
    if password:
        assert password not in out["problem"]


def test_users_as_a_json_list_in_a_string():
    assert inp.normalise_users('["alice", {"name": "bob"}]') == [{"name": "alice"}, {"name": "bob"}]
    with pytest.raises(ValueError, match="JSON list"):
        inp.normalise_users("[alice")


def test_a_blank_users_answer_keeps_the_users():
    kept = [{"name": "alice"}, {"name": "bob"}]
    for blank in ("", "  ", None):
        assert inp.normalise_users(blank, kept=kept) == kept
    assert inp.normalise_users("carol", kept=kept) == [{"name": "carol"}]
    assert inp.normalise_users("") == []


# --- stack_size_problems

def test_small_stack_new_or_deployed_small_is_accepted():
    assert inp.stack_size_problems("small") == []
    assert inp.stack_size_problems("small", live_store="pvc") == []
    assert inp.stack_size_problems("full") == []
    assert inp.stack_size_problems("full", live_store="versitygw") == []


@pytest.mark.parametrize("kwargs,needle", [
    ({"replicas": 2}, "mlflow_tracking_replicas must be 1, not '2'"),
    ({"autoscale_max_replicas": 3}, "mlflow_tracking_autoscale_max_replicas must be 0, not '3'"),
    ({"database_uri": "postgresql://u:p@h/db"}, "it takes no mlflow_database_uri"),
    ({"store_requested": "allas"}, "to move them to 'allas', grow the stack first"),
    ({"live_store": "versitygw"}, "a full stack does not shrink"),
    ({"rotate_signing_key": True}, "no signing key to rotate"),
])
def test_small_stack_refusals(kwargs, needle):
    problems = inp.stack_size_problems("small", data_claim="demo-data", **kwargs)
    assert len(problems) == 1 and needle in problems[0], problems
    assert "p@h" not in problems[0]


def test_a_small_stack_grows_only_through_grow():
    problems = inp.stack_size_problems("full", live_store="pvc", data_claim="demo-data")
    assert len(problems) == 1 and "playbooks/grow.yml" in problems[0] and "demo-data" in problems[0]
    assert inp.stack_size_problems("full", live_store="pvc", grow=True) == []
