"""plugins/plugin_utils/summary.py: the summary a playbook prints after it applied the stack."""

from ansible_collections.csc.mlflow.plugins.plugin_utils import summary as sm

NAMES = {"tracking": "demo", "users": "demo-users", "minio_client": "demo-minio-client", "s3": "demo-s3"}
CRED = {"users": {"alice": "pa ss'word", "bob": "x"}, "client_key": "CK", "client_secret": "CS", "s3_key": "SK",
        "s3_secret": "S S"}
GATEWAY = {"uri": "s3://default/", "store": "versitygw", "endpoint": "http://demo-versitygw:7070", "in_cluster": True,
           "checksum_when_required": False}
ALLAS = {"uri": "s3://b/", "store": "allas", "endpoint": "https://a3s.fi", "in_cluster": False,
         "checksum_when_required": True}
HOSTS = {"tracking": "demo.apps.x", "models": "", "minio": "", "presigned": "p.apps.x"}


def summary(**kw):
    args = dict(version="3.17.2", app_name="demo", namespace="ns1", openshift=True, tls=False, hosts=HOSTS, names=NAMES,
                store=GATEWAY, artifact_mode="proxied", presigned=True)
    args.update(kw)
    return sm.deploy_summary(CRED, **args)


def test_proxied_on_openshift_reads_passwords_from_their_secret():
    out = summary(service_lines=["Models: x"], applied=None, secrets_changed=None)
    assert out["summary"] == [
        'MLflow 3.17.2 "demo" in namespace ns1 (OpenShift)',
        "Tracking UI/API: https://demo.apps.x",
        "Artifacts: proxied by the tracking server to s3://default/ (versitygw, http://demo-versitygw:7070)",
        "Large artifacts: pre-signed transfers through https://p.apps.x (the in-cluster store, pre-signed requests only)",
        "Models: x",
        "Users: alice, bob",
    ]
    assert out["environment"] == [
        "export MLFLOW_TRACKING_URI=https://demo.apps.x",
        "export MLFLOW_TRACKING_USERNAME=alice",
        "export MLFLOW_TRACKING_PASSWORD=\"$(oc -n ns1 get secret demo-users -o jsonpath='{.data.alice}' | base64 -d)\"",
    ]
    assert "pa ss" not in str(out)


def test_no_public_host_and_no_presigned_path():
    out = summary(openshift=False, hosts=dict(HOSTS, tracking="", presigned=""), presigned=False)
    assert out["summary"][1] == "Tracking UI/API: http://localhost:8080  (no public host: kubectl -n ns1 port-forward svc/demo 8080)"
    assert out["summary"][3] == "Large artifacts: through the tracking server (no public pre-signed path)"
    assert out["summary"][0].endswith("(Kubernetes)")


def test_direct_mode_with_credentials_shown_quotes_them():
    out = summary(artifact_mode="direct", store=ALLAS, show_credentials=True)
    assert "Artifacts: direct to S3 s3://b/ (allas, https://a3s.fi)" in out["summary"]
    assert not [line for line in out["summary"] if line.startswith("Large artifacts")]
    assert out["environment"][2:] == [
        "export MLFLOW_TRACKING_PASSWORD='pa ss'\"'\"'word'",
        "export MLFLOW_S3_ENDPOINT_URL=https://a3s.fi",
        "export AWS_ACCESS_KEY_ID=SK",
        "export AWS_SECRET_ACCESS_KEY='S S'",
        "export AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
        "export AWS_RESPONSE_CHECKSUM_VALIDATION=when_required",
    ]


def test_minio_is_named_with_its_advisories():
    minio = dict(GATEWAY, store="minio", endpoint="http://demo-minio:9000")
    out = summary(artifact_mode="direct", store=minio)
    assert sm.MINIO_WARNING in out["summary"]
    assert "export MLFLOW_S3_ENDPOINT_URL=(no public MinIO host)" in out["environment"]
    assert any("get secret demo-minio-client" in line for line in out["environment"])


def test_changed_objects_of_the_apply_tasks():
    routes = {"changed": True, "result": {"results": [
        {"changed": True, "result": {"kind": "Route", "metadata": {"name": "demo"}}},
        {"changed": False, "result": {"kind": "Route", "metadata": {"name": "demo-models"}}}]}}
    single = {"changed": True, "result": {"kind": "ConfigMap", "metadata": {"name": "models-cfg"}}}
    assert sm.changed_objects([routes, {"skipped": True}, None, single]) == ["Route/demo", "ConfigMap/models-cfg"]
    out = summary(applied=[None, {"skipped": True}], secrets_changed=["demo-users"])
    assert out["summary"][-2:] == ["Changed objects: none", "Changed Secrets: demo-users"]


def test_users_playbook_says_how_to_read_a_new_password():
    out = summary(users_changed={"action": "add", "names": ["bob"]})
    assert out["summary"][-1] == "New password of bob: oc -n ns1 get secret demo-users -o jsonpath='{.data.bob}' | base64 -d"
    shown = summary(users_changed={"action": "rotate", "names": ["alice"]}, show_credentials=True)
    assert shown["summary"][-1] == "New password of alice: 'pa ss'\"'\"'word'"
    assert summary(users_changed={"action": "add", "names": []})["summary"][-1].startswith("No password changed")
    assert summary(users_changed={"action": "remove", "names": ["bob"]})["summary"][-1] == "Removed: bob"
    assert "Removed" not in str(summary(users_changed=None)["summary"])


def test_redact_hides_every_secret_of_the_run():
    creds = {"users": {"alice": "alice-secret-pw"}, "pg_password": "pgpass-123456", "short": "abc", "n": 5,
             "keys": ["k3y-v4lue-long"]}
    lines = ["FATAL: password authentication failed, uri postgresql://u:pgpass-123456@db/x",
             "alice-secret-pw and k3y-v4lue-long; abc stays", 7]
    assert sm.redact(lines, creds) == ["FATAL: password authentication failed, uri postgresql://u:***@db/x",
                                       "*** and ***; abc stays", "7"]
    assert sm.redact(None, creds) == []


def test_the_summary_says_from_where_the_stack_is_admitted():
    line = [x for x in summary(whitelist=["192.0.2.0/24"])["summary"] if x.startswith("Admitted from: ")]
    assert line[0].startswith("Admitted from: 192.0.2.0/24 (mlflow_route_whitelist; from elsewhere the router drops")
    assert "Admitted from: anywhere (mlflow_route_allow_all)" in summary(whitelist=[])["summary"]
    assert not [x for x in summary()["summary"] if x.startswith("Admitted")]


def test_on_a_gateway_the_summary_says_what_enforces_the_whitelist_or_that_nothing_does():
    def line(**kw):
        out = summary(openshift=False, tls=True, exposure="httproute", **kw)["summary"]
        assert "Tracking UI/API: https://demo.apps.x" in out
        return [x for x in out if x.startswith("Admitted from: ")][0]

    assert "enforced by Envoy Gateway (SecurityPolicy" in line(whitelist=["192.0.2.0/24"], gateway_implementation="envoy-gateway")
    assert "enforced by Istio (AuthorizationPolicy" in line(whitelist=["192.0.2.0/24"], gateway_implementation="istio")
    unenforced = line(whitelist=["192.0.2.0/24"], gateway_implementation="")
    assert unenforced.startswith("Admitted from: anywhere - mlflow_route_whitelist (192.0.2.0/24) is NOT enforced")
    assert line(whitelist=[], gateway_implementation="istio") == "Admitted from: anywhere (mlflow_route_allow_all)"


def test_the_read_command_escapes_a_dot_in_a_user_name():
    # jsonpath would read {.data.alice.smith} as key "alice", then "smith" (tests/integration/test_reruns.py runs it)
    out = summary(users_changed={"action": "add", "names": ["alice.smith"]})
    assert out["summary"][-1].endswith("jsonpath='{.data.alice\\.smith}' | base64 -d"), out["summary"][-1]
