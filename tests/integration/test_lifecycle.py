"""deploy.yml and the operating playbooks against the local test cluster.

The stack is deployed with scheduled backups on (mlflow_backup_schedule): the CronJob, its PVC and its
scripts are part of every check (labels, re-run, undeploy keeps the backups, purge removes them).

The tests of this module share one namespace and, run whole, tell a story in file order, like an operator
would: deploy from nothing, re-run, change one variable at a time, models on/off,
artifact store to an Allas-like endpoint and back, bad inputs, undeploy (keep), deploy
again (secrets kept), undeploy with purge. Each test also runs alone: what it needs of the story
(the deployed stack, Models enabled) it does first when no earlier test did (need_deployed,
need_models_enabled).
"""

from __future__ import annotations

import copy
import json

import pytest

from deployment import (
    LABEL_KEYS,
    contract_problems,
    ROUTER_DOMAIN,
    WHITELIST,
    WHITELIST_ANNOTATION,
    default_vars,
    deployment_ready,
    diff,
    get,
    pod_names,
    role_defaults,
    secret_values,
    wait_until,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlt"
SCHEDULE = "30 2 * * *"


class State:
    """What the module's tests learn about the stack as they go."""

    def __init__(self, ns: str):
        self.ns = ns
        self.vars = default_vars(ns, APP, mlflow_backup_schedule=SCHEDULE)
        self.deploy = None
        self.models_enabled = False
        self.secrets_after_deploy: dict[str, dict] = {}


@pytest.fixture(scope="module")
def st(cluster):
    ns = cluster.fresh_namespace("it-life")
    s = State(ns)
    yield s
    cluster.delete_namespace(ns)


def need_deployed(cluster, st):
    """The stack deployed from nothing: by test_deploy_from_nothing when the file runs whole, else here, so that
    any one test of the file runs alone (`pytest tests/integration/test_lifecycle.py::test_disable_models`)."""
    if st.deploy is None:
        st.deploy = deploy(cluster, st)
    if st.deploy.rc != 0:
        pytest.fail("deploy.yml from nothing failed earlier in this module", pytrace=False)


def need_models_enabled(cluster, st):
    """Models serving models:/iris/1: by test_enable_models when the file runs whole, else here."""
    need_deployed(cluster, st)
    if not st.models_enabled:
        r = cluster.run_playbook("enable_models.yml", {**st.vars, "models_uri": "models:/iris/1"})
        if r.rc != 0:
            pytest.fail(f"enable_models.yml failed: {r}", pytrace=False)
        st.models_enabled = True


def deploy(cluster, st, **extra):
    v = copy.deepcopy(st.vars)
    v.update(extra)
    return cluster.run_playbook("deploy.yml", v)


def app_secrets(cluster, ns):
    return {s["metadata"]["name"]: s for s in get(cluster, "Secret", ns)
            if s["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == APP}


# --------------------------------------------------------------------------- deploy


def test_deploy_from_nothing(cluster, st):
    r = deploy(cluster, st)
    st.deploy = r
    assert r.rc == 0, str(r)
    assert r.recap.get("failed") == 0 and r.recap.get("changed", 0) > 0, str(r)


def test_every_object_exists(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    expect = {
        "Deployment": [a, f"{a}-models", f"{a}-postgresql", f"{a}-versitygw"],
        "Service": [a, f"{a}-models", f"{a}-postgresql", f"{a}-versitygw"],
        "Route": [a, f"{a}-models"],
        "ConfigMap": [f"{a}-nginx", f"{a}-models-nginx", "models-cfg", f"{a}-config", f"{a}-backup-scripts"],
        "Secret": [f"{a}-htpasswd", f"{a}-users", f"{a}-postgresql", f"{a}-versitygw", f"{a}-versitygw-client"],
        "CronJob": [f"{a}-backup"],
        "PersistentVolumeClaim": [f"{a}-backup"],
    }
    missing = [f"{k}/{n}" for k, names in expect.items() for n in names if get(cluster, k, ns, n) is None]
    assert not missing, f"missing objects: {missing}"
    # a new stack runs no MinIO
    assert get(cluster, "Route", ns, f"{a}-minio") is None and get(cluster, "Deployment", ns, f"{a}-minio") is None
    pvcs = get(cluster, "PersistentVolumeClaim", ns)
    comps = sorted(p["metadata"].get("labels", {}).get("app.kubernetes.io/component", "?") for p in pvcs)
    assert "postgresql" in comps and "versitygw" in comps and "backup" in comps, comps
    cron = get(cluster, "CronJob", ns, f"{a}-backup")["spec"]
    assert cron["schedule"] == SCHEDULE and cron["concurrencyPolicy"] == "Forbid", cron
    assert contract_problems(cluster, ns) == []
    nps = get(cluster, "NetworkPolicy", ns)
    np_comps = {p["metadata"].get("labels", {}).get("app.kubernetes.io/component") for p in nps}
    assert {"postgresql", "versitygw"} <= np_comps, np_comps


def test_recommended_labels_on_every_object(cluster, st):
    need_deployed(cluster, st)
    bad = []
    for kind in ("Deployment", "Service", "Route", "ConfigMap", "Secret", "PersistentVolumeClaim", "NetworkPolicy",
                 "CronJob"):
        for o in get(cluster, kind, st.ns):
            name = o["metadata"]["name"]
            if name == "kube-root-ca.crt":
                continue
            labels = o["metadata"].get("labels", {})
            if any(k not in labels for k in LABEL_KEYS):
                bad.append(f"{kind}/{name}: {sorted(labels)}")
                continue
            if (labels["app.kubernetes.io/name"], labels["app.kubernetes.io/instance"],
                    labels["app.kubernetes.io/part-of"], labels["app.kubernetes.io/managed-by"]) != \
                    ("mlflow", APP, "mlflow", "csc.mlflow"):
                bad.append(f"{kind}/{name}: {labels}")
    assert not bad, "objects without the recommended labels:\n" + "\n".join(bad)


def test_deployments_reach_desired_replicas(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    for name in (a, f"{a}-postgresql", f"{a}-versitygw", f"{a}-models"):
        wait_until(lambda: deployment_ready(cluster, ns, name), 60, what=f"Deployment {name} ready")
    assert get(cluster, "Deployment", ns, f"{a}-models")["spec"]["replicas"] == 0
    assert get(cluster, "Deployment", ns, a)["spec"]["replicas"] >= 1
    # every PVC bound (the pods that mount them are scheduled)
    for p in get(cluster, "PersistentVolumeClaim", ns):
        assert p.get("status", {}).get("phase") == "Bound", p["metadata"]["name"]


def test_route_tls_and_whitelist(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    for name in (a, f"{a}-models"):
        r = get(cluster, "Route", ns, name)
        tls = r["spec"].get("tls") or {}
        assert tls.get("termination") == "edge", (name, tls)
        assert tls.get("insecureEdgeTerminationPolicy") == "Redirect", (name, tls)
        ann = r["metadata"].get("annotations", {})
        assert ann.get(WHITELIST_ANNOTATION) == " ".join(WHITELIST), (name, ann)
        # every router generation admits exactly the whitelist (the stand-in reads it as the router does)
        cond = cluster.allowlist_condition(ns, name)
        assert (cond["status"], cond["message"]) == ("True", " ".join(WHITELIST)), (name, cond)
        assert r["spec"]["to"]["name"] == name
    host = get(cluster, "Route", ns, a)["spec"]["host"]
    assert host == f"{a}-{ns}.{ROUTER_DOMAIN}", host


def test_summary_names_the_hosts_the_platform_generated(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    summary = " ".join(st.deploy.stdout.split())  # the callback folds long lines
    tracking = get(cluster, "Route", ns, a)["spec"]["host"]
    presigned = get(cluster, "Route", ns, f"{a}-presigned")["spec"]["host"]
    assert f"export MLFLOW_TRACKING_URI=https://{tracking}" in summary, summary[-3000:]
    assert f"Large artifacts: pre-signed transfers through https://{presigned} (the in-cluster store, pre-signed requests only)" in summary, \
        summary[-3000:]


def test_models_off_and_empty_uri(cluster, st):
    need_deployed(cluster, st)
    cm = get(cluster, "ConfigMap", st.ns, "models-cfg")
    assert cm["data"].get("MODELS_URI", None) == "", cm["data"]


def test_no_secret_outside_secrets(cluster, st):
    """Passwords and keys are in Secrets only: not in ConfigMaps, argv, env values or output."""
    need_deployed(cluster, st)
    ns = st.ns
    values = set()
    for s in app_secrets(cluster, ns).values():
        for k, v in secret_values(s).items():
            if k.lower().endswith(("user", "username")):
                continue  # user names are printed on purpose (MLFLOW_TRACKING_USERNAME)
            for line in v.splitlines():
                # htpasswd lines: the hash part; other secrets: the whole value
                part = line.split(":", 1)[-1] if s["metadata"]["name"].endswith("-htpasswd") else line
                if len(part) >= 8:
                    values.add(part)
    assert "alice-Passw0rd-123" in values
    st.secrets_after_deploy = {k: secret_values(v) for k, v in app_secrets(cluster, ns).items()}
    leaks = []
    for cm in get(cluster, "ConfigMap", ns):
        blob = json.dumps(cm.get("data", {}))
        leaks += [f"ConfigMap/{cm['metadata']['name']}" for v in values if v in blob]
    for d in get(cluster, "Deployment", ns):
        spec = d["spec"]["template"]["spec"]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            blob = json.dumps([c.get("command"), c.get("args"), [e.get("value") for e in c.get("env", [])]])
            leaks += [f"Deployment/{d['metadata']['name']}/{c['name']}" for v in values if v in blob]
    out = st.deploy.stdout + st.deploy.stderr
    leaks += ["playbook output" for v in values if v in out]
    assert not leaks, f"secret values found in: {sorted(set(leaks))}"
    assert "alice-Passw0rd-123" not in out


def test_pod_templates_carry_checksums(cluster, st):
    need_deployed(cluster, st)
    d = get(cluster, "Deployment", st.ns, APP)
    ann = d["spec"]["template"]["metadata"].get("annotations", {})
    assert any(k.startswith("checksum/") for k in ann), ann


# --------------------------------------------------------------------------- idempotency


def test_rerun_changes_nothing(cluster, st):
    need_deployed(cluster, st)
    before = cluster.snapshot(st.ns)
    pods = pod_names(cluster, st.ns)
    r = deploy(cluster, st)
    assert r.rc == 0, str(r)
    assert r.recap.get("changed") == 0, str(r)
    after = cluster.snapshot(st.ns)
    d = diff(before, after, ignore=("Event/",))
    assert d == {"added": [], "removed": [], "changed": []}, d
    assert pod_names(cluster, st.ns) == pods


def test_check_mode_rerun_reports_nothing(cluster, st):
    need_deployed(cluster, st)
    before = cluster.snapshot(st.ns)
    r = cluster.run_playbook("deploy.yml", st.vars, check=True)
    assert r.rc == 0, str(r)
    assert r.recap.get("changed") == 0, str(r)
    assert diff(before, cluster.snapshot(st.ns), ignore=("Event/",))["changed"] == []


# --------------------------------------------------------------------------- one variable


def test_change_whitelist_touches_only_routes(cluster, st):
    need_deployed(cluster, st)
    before = cluster.snapshot(st.ns)
    pods = pod_names(cluster, st.ns)
    cfg_before = get(cluster, "ConfigMap", st.ns, f"{APP}-config")["data"]
    st.vars["mlflow_route_whitelist"] = WHITELIST + ["203.0.113.0/25"]
    r = deploy(cluster, st)
    assert r.rc == 0 and r.recap.get("changed", 0) >= 1, str(r)
    d = diff(before, cluster.snapshot(st.ns))
    assert not d["added"] and not d["removed"], d
    assert f"Route/{APP}" in d["changed"], d
    # ConfigMap A-config changes only its settings record (annotation csc.mlflow/settings)
    assert all(k.startswith("Route/") or k == f"ConfigMap/{APP}-config" for k in d["changed"]), d
    assert get(cluster, "ConfigMap", st.ns, f"{APP}-config")["data"] == cfg_before
    assert pod_names(cluster, st.ns) == pods
    ann = get(cluster, "Route", st.ns, APP)["metadata"]["annotations"][WHITELIST_ANNOTATION]
    assert ann == " ".join(WHITELIST + ["203.0.113.0/25"])
    wait_until(lambda: cluster.allowlist_condition(st.ns, APP)["message"] == ann, what="the router to read the new list")


def test_an_allowlist_set_by_hand_is_replaced(cluster, st):
    """`oc annotate route ... ip_allowlist=0.0.0.0/0` opens the Route on routers of 4.17+ (they read it first);
    the next deploy writes the whitelist back into both annotations."""
    need_deployed(cluster, st)
    cluster.kubectl_run("-n", st.ns, "annotate", "--overwrite", f"route/{APP}",
                        "haproxy.router.openshift.io/ip_allowlist=0.0.0.0/0")
    wait_until(lambda: cluster.allowlist_condition(st.ns, APP)["reason"] == "Differs", what="the hand-set list read")
    r = deploy(cluster, st)
    assert r.rc == 0, str(r)
    want = " ".join(st.vars["mlflow_route_whitelist"])
    wait_until(lambda: cluster.allowlist_condition(st.ns, APP)["message"] == want, what="the whitelist enforced again")
    assert cluster.allowlist_condition(st.ns, APP)["status"] == "True"


def test_change_password_rolls_only_tracking(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    before = cluster.snapshot(ns)
    users_before = secret_values(get(cluster, "Secret", ns, f"{a}-users"))
    ht_before = secret_values(get(cluster, "Secret", ns, f"{a}-htpasswd"))["htpasswd"]
    st.vars["mlflow_users"] = [{"name": "alice", "password": "alice-NewPassw0rd-456"}, {"name": "bob"}]
    r = deploy(cluster, st)
    assert r.rc == 0, str(r)
    d = diff(before, cluster.snapshot(ns))
    assert f"Secret/{a}-htpasswd" in d["changed"], d
    assert f"Deployment/{a}" in d["changed"], d
    untouched = [f"Deployment/{a}-postgresql", f"Deployment/{a}-versitygw", f"Secret/{a}-postgresql",
                 f"Secret/{a}-versitygw", f"Secret/{a}-versitygw-client", f"ConfigMap/{a}-config", "ConfigMap/models-cfg"]
    assert not [k for k in untouched if k in d["changed"]], d
    users_after = secret_values(get(cluster, "Secret", ns, f"{a}-users"))
    assert users_after.get("bob") == users_before.get("bob"), "bob's generated password changed"
    ht_after = secret_values(get(cluster, "Secret", ns, f"{a}-htpasswd"))["htpasswd"]

    def bob_line(text):
        return [ln for ln in text.splitlines() if ln.startswith("bob:")]

    assert bob_line(ht_after) == bob_line(ht_before), "bob's hash was rewritten"
    # chosen passwords get bcrypt; generated ones (bob, the Models pod's user) the cheap sha512_crypt
    entries = dict(ln.split(":", 1) for ln in ht_after.splitlines())
    assert entries["alice"].startswith("$2y$05$"), entries["alice"][:7]
    assert entries["bob"].startswith("$6$rounds=1000$") and entries[f"{a}-models"].startswith("$6$rounds=1000$")
    users_meta = get(cluster, "Secret", ns, f"{a}-users")["metadata"]
    assert users_meta["annotations"]["csc.mlflow/generated-passwords"] == "bob"
    assert [ln for ln in ht_after.splitlines() if ln.startswith("alice:")] != \
        [ln for ln in ht_before.splitlines() if ln.startswith("alice:")]
    # the tracking pod rolled to the new template
    wait_until(lambda: deployment_ready(cluster, ns, a), 90, what="tracking rolled out")
    # and a re-run with the new password is a no-op again
    r2 = deploy(cluster, st)
    assert r2.rc == 0 and r2.recap.get("changed") == 0, str(r2)


def _bump_memory_limit(res: dict) -> dict:
    res = copy.deepcopy(res or {})
    lim = res.setdefault("limits", {})
    lim["memory"] = "1111Mi" if lim.get("memory") != "1111Mi" else "1112Mi"
    res.setdefault("requests", {}).setdefault("memory", "128Mi")
    return res


def test_change_postgresql_limit_rolls_only_postgresql(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    defaults = role_defaults()
    key = "mlflow_postgresql_resources"
    assert key in defaults, f"{key} not in roles/mlflow/defaults/main.yml"
    before = cluster.snapshot(ns)
    tracking_pods = pod_names(cluster, ns, "tracking")
    cfg_before = get(cluster, "ConfigMap", ns, f"{a}-config")["data"]
    st.vars[key] = _bump_memory_limit(defaults[key])
    r = deploy(cluster, st)
    assert r.rc == 0, str(r)
    d = diff(before, cluster.snapshot(ns))
    # ConfigMap A-config changes only its settings record (annotation csc.mlflow/settings)
    assert sorted(d["changed"]) == sorted([f"Deployment/{a}-postgresql", f"ConfigMap/{a}-config"]), d
    assert get(cluster, "ConfigMap", ns, f"{a}-config")["data"] == cfg_before
    assert not d["added"] and not d["removed"], d
    pg = get(cluster, "Deployment", ns, f"{a}-postgresql")
    assert any(c.get("resources", {}).get("limits", {}).get("memory") == st.vars[key]["limits"]["memory"]
               for c in pg["spec"]["template"]["spec"]["containers"])
    assert pod_names(cluster, ns, "tracking") == tracking_pods
    wait_until(lambda: deployment_ready(cluster, ns, f"{a}-postgresql"), 90, what="postgresql rolled out")


# --------------------------------------------------------------------------- models


def test_enable_models(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    r = cluster.run_playbook("enable_models.yml", {**st.vars, "models_uri": "models:/iris/1"})
    assert r.rc == 0, str(r)
    assert get(cluster, "ConfigMap", ns, "models-cfg")["data"]["MODELS_URI"] == "models:/iris/1"
    d = get(cluster, "Deployment", ns, f"{a}-models")
    assert d["spec"]["replicas"] == 1
    assert deployment_ready(cluster, ns, f"{a}-models"), "enable_models.yml returned before Models was ready"
    host = get(cluster, "Route", ns, f"{a}-models")["spec"]["host"]
    assert host in r.stdout, "the invocation URL is not printed"
    # The stack was rendered as deployed and applied as deploy.yml applies it: only Models changed.
    assert f"Changed objects: ConfigMap/models-cfg, Deployment/{a}-models'" in r.stdout, r.stdout[-3000:]
    st.models_enabled = True


def test_deploy_keeps_models_enabled(cluster, st):
    need_models_enabled(cluster, st)
    ns, a = st.ns, APP
    before = cluster.snapshot(ns)
    r = deploy(cluster, st)
    assert r.rc == 0 and r.recap.get("changed") == 0, str(r)
    assert get(cluster, "Deployment", ns, f"{a}-models")["spec"]["replicas"] == 1
    assert get(cluster, "ConfigMap", ns, "models-cfg")["data"]["MODELS_URI"] == "models:/iris/1"
    assert diff(before, cluster.snapshot(ns))["changed"] == []


def test_enable_models_with_empty_uri_fails_without_change(cluster, st):
    need_deployed(cluster, st)
    before = cluster.snapshot(st.ns)
    r = cluster.run_playbook("enable_models.yml", {**st.vars, "models_uri": ""})
    assert r.rc != 0, str(r)
    assert cluster.snapshot(st.ns) == before


def test_disable_models(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    r = cluster.run_playbook("disable_models.yml", st.vars)
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, f"{a}-models")["spec"]["replicas"] == 0
    wait_until(lambda: not pod_names(cluster, ns, "models"), 60, what="models pods gone")
    r2 = cluster.run_playbook("disable_models.yml", st.vars)
    assert r2.rc == 0 and r2.recap.get("changed") == 0, str(r2)


# --------------------------------------------------------------------------- artifact store

ALLAS = {
    "mlflow_artifact_store": "allas",
    "mlflow_s3_endpoint_url": "https://a3s.fi",
    "mlflow_s3_bucket": "mlt-artifacts",
    "mlflow_s3_access_key_id": "AKIAALLASTESTKEY0001",
    "mlflow_s3_secret_access_key": "allas-secret-key-for-tests-0123456789",
    # There is nothing to copy from a fresh stack, and kwok runs no containers.
    "mlflow_artifact_migrate": False,
}


def _tracking_env(cluster, ns):
    d = get(cluster, "Deployment", ns, APP)
    env = {}
    for c in d["spec"]["template"]["spec"]["containers"]:
        for e in c.get("env", []):
            env[e["name"]] = e.get("value", e.get("valueFrom"))
    return env


def test_artifact_store_allas_without_keys_fails_without_change(cluster, st):
    need_deployed(cluster, st)
    before = cluster.snapshot(st.ns)
    v = {**st.vars, **ALLAS}
    v.pop("mlflow_s3_access_key_id")
    v.pop("mlflow_s3_secret_access_key")
    r = cluster.run_playbook("configure_artifact_store.yml", v)
    assert r.rc != 0, str(r)
    assert cluster.snapshot(st.ns) == before


def test_artifact_store_to_allas(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    before = cluster.snapshot(ns)
    r = cluster.run_playbook("configure_artifact_store.yml", {**st.vars, **ALLAS})
    assert r.rc == 0, str(r)
    assert ALLAS["mlflow_s3_secret_access_key"] not in r.stdout + r.stderr
    s3 = secret_values(get(cluster, "Secret", ns, f"{a}-s3"))
    assert ALLAS["mlflow_s3_access_key_id"] in s3.values()
    assert ALLAS["mlflow_s3_secret_access_key"] in s3.values()
    cfg = json.dumps(get(cluster, "ConfigMap", ns, f"{a}-config")["data"])
    assert "a3s.fi" in cfg and ALLAS["mlflow_s3_bucket"] in cfg, cfg
    assert ALLAS["mlflow_s3_secret_access_key"] not in cfg
    blob = json.dumps(get(cluster, "Deployment", ns, a)["spec"]["template"]) + cfg
    assert "AWS_REQUEST_CHECKSUM_CALCULATION" in blob and "AWS_RESPONSE_CHECKSUM_VALIDATION" in blob
    d = diff(before, cluster.snapshot(ns))
    assert f"Deployment/{a}" in d["changed"], d
    assert f"Deployment/{a}-postgresql" not in d["changed"], d
    wait_until(lambda: deployment_ready(cluster, ns, a), 90, what="tracking rolled out")
    # deploy.yml keeps the current store
    r2 = deploy(cluster, st)
    assert r2.rc == 0 and r2.recap.get("changed") == 0, str(r2)
    assert "a3s.fi" in json.dumps(get(cluster, "ConfigMap", ns, f"{a}-config")["data"])


def test_artifact_store_back_to_the_in_cluster_store(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    r = cluster.run_playbook("configure_artifact_store.yml",
                             {**st.vars, "mlflow_artifact_store": "versitygw", "mlflow_artifact_migrate": False})
    assert r.rc == 0, str(r)
    cfg = json.dumps(get(cluster, "ConfigMap", ns, f"{a}-config")["data"])
    assert "a3s.fi" not in cfg, cfg
    wait_until(lambda: deployment_ready(cluster, ns, a), 90, what="tracking rolled out")
    r2 = deploy(cluster, st)
    assert r2.rc == 0 and r2.recap.get("changed") == 0, str(r2)


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "playbook,override",
    [
        ("deploy.yml", {"mlflow_app_name": "My_App"}),
        ("deploy.yml", {"mlflow_app_name": "a" * 41}),
        ("deploy.yml", {"mlflow_route_whitelist": ["10.0.0.0/33"]}),
        ("deploy.yml", {"mlflow_route_whitelist": ["192.0.2.0/24", "not-an-ip"]}),
        ("deploy.yml", {"mlflow_route_whitelist": [], "mlflow_route_allow_all": False}),
        ("deploy.yml", {"mlflow_versitygw_resources": "big"}),
        ("deploy.yml", {"mlflow_tracking_replicas": "two"}),
        ("enable_models.yml", {"models_uri": ""}),
        ("enable_models.yml", {"mlflow_models_uri": "   "}),
        ("configure_artifact_store.yml", {"mlflow_artifact_store": "allas", "mlflow_s3_bucket": "b"}),
        ("configure_artifact_store.yml", {"mlflow_artifact_store": "minio"}),
    ],
    ids=["app-name-underscore", "app-name-too-long", "cidr-prefix-33", "whitelist-garbage",
         "empty-whitelist", "versitygw-spec-type", "tracking-spec-type", "models-uri-empty", "models-uri-blank", "allas-without-keys",
         "no-move-to-minio"],
)
def test_bad_input_fails_before_any_change(cluster, st, playbook, override):
    need_deployed(cluster, st)
    before = cluster.snapshot(st.ns)
    r = cluster.run_playbook(playbook, {**st.vars, **override})
    assert r.rc != 0, str(r)
    assert r.recap.get("changed", 0) == 0, str(r)
    assert cluster.snapshot(st.ns) == before


# --------------------------------------------------------------------------- undeploy


def test_undeploy_keeps_pvcs_and_secrets(cluster, st):
    need_deployed(cluster, st)
    ns, a = st.ns, APP
    secrets_before = {k: secret_values(v) for k, v in app_secrets(cluster, ns).items()}
    pvcs_before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in get(cluster, "PersistentVolumeClaim", ns)}
    r = cluster.run_playbook("undeploy.yml", st.vars)
    assert r.rc == 0, str(r)
    for kind in ("Deployment", "Service", "Route", "NetworkPolicy", "CronJob"):
        left = [o["metadata"]["name"] for o in get(cluster, kind, ns)]
        assert not left, f"{kind} left after undeploy: {left}"
    cms = [c["metadata"]["name"] for c in get(cluster, "ConfigMap", ns) if c["metadata"]["name"] != "kube-root-ca.crt"]
    assert not cms, f"ConfigMaps left after undeploy: {cms}"
    assert {k: secret_values(v) for k, v in app_secrets(cluster, ns).items()} == secrets_before
    pvcs_after = {p["metadata"]["name"]: p["metadata"]["uid"] for p in get(cluster, "PersistentVolumeClaim", ns)}
    assert pvcs_after == pvcs_before and f"{a}-backup" in pvcs_after  # the backups stay
    wait_until(lambda: not pod_names(cluster, ns), 60, what="all pods gone")
    r2 = cluster.run_playbook("undeploy.yml", st.vars)
    assert r2.rc == 0 and r2.recap.get("changed") == 0, str(r2)


def test_redeploy_reuses_secrets_and_volumes(cluster, st):
    need_deployed(cluster, st)
    ns = st.ns
    secrets_before = {k: secret_values(v) for k, v in app_secrets(cluster, ns).items()}
    pvcs_before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in get(cluster, "PersistentVolumeClaim", ns)}
    r = deploy(cluster, st)
    assert r.rc == 0, str(r)
    after = {k: secret_values(v) for k, v in app_secrets(cluster, ns).items()}
    for name, data in secrets_before.items():
        assert after.get(name) == data, f"Secret {name} changed across undeploy/deploy"
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in get(cluster, "PersistentVolumeClaim", ns)} == pvcs_before
    for name in (APP, f"{APP}-postgresql", f"{APP}-versitygw"):
        wait_until(lambda: deployment_ready(cluster, ns, name), 60, what=f"{name} ready")


def test_undeploy_purge_removes_everything(cluster, st):
    need_deployed(cluster, st)
    ns = st.ns
    r = cluster.run_playbook("undeploy.yml", {**st.vars, "mlflow_purge": True})
    assert r.rc == 0, str(r)

    def leftovers():
        snap = cluster.snapshot(ns)
        # the platform's, and the project's own limits, quota and admin (the `rahti` profile), stay
        system = ("Event/", "ConfigMap/kube-root-ca.crt", "ServiceAccount/default", "Endpoints/", "EndpointSlice/",
                  "LimitRange/", "ResourceQuota/", "AppliedClusterResourceQuota/", "ServiceAccount/project-admin",
                  "RoleBinding/admin")
        return sorted(k for k in snap if not k.startswith(system))
    wait_until(lambda: leftovers() == [], 60, what=f"namespace empty (left: {leftovers()})")
    # the volumes went too (reclaim policy Delete)
    pvs = cluster.get_json("/api/v1/persistentvolumes").get("items", [])
    mine = [p["metadata"]["name"] for p in pvs if (p["spec"].get("claimRef") or {}).get("namespace") == ns]
    wait_until(lambda: not [p for p in cluster.get_json("/api/v1/persistentvolumes").get("items", [])
                            if (p["spec"].get("claimRef") or {}).get("namespace") == ns],
               60, what=f"PVs of {ns} deleted ({mine})")
