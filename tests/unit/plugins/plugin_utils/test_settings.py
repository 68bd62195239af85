"""plugins/plugin_utils/settings.py (the settings record on ConfigMap <app>-config, an allow-list)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import settings as st


@pytest.mark.parametrize(
    "name",
    ["mlflow_s3_secret_access_key", "mlflow_s3_access_key_id", "mlflow_api_token", "mlflow_password",
     "mlflow_admin_passwd", "mlflow_database_uri", "mlflow_signing_key", "mlflow_tls_passphrase", "mlflow_client_secret"],
)
def test_secret_like_names(name):
    assert st.secret_like(name)


@pytest.mark.parametrize(
    "name",
    ["mlflow_workers", "mlflow_min_password_length", "mlflow_backup_keep", "mlflow_users", "mlflow_keys_dir",
     "mlflow_route_whitelist", "mlflow_htpasswd_scheme", "mlflow_password_length"],
)
def test_not_secret_like_names(name):
    assert not st.secret_like(name)


def test_secret_like_by_the_argument_spec():
    assert st.secret_like("mlflow_workers", {"type": "int", "no_log": True})
    assert st.secret_like("mlflow_workers", {"no_log": "true"})
    assert not st.secret_like("mlflow_workers", {"type": "int", "no_log": False})
    assert not st.secret_like("mlflow_workers", {})


def record(variables, allowed, users=None, whitelist=None, external=""):
    return st.settings_record(variables, allowed, users or [{"name": "mlflow"}], whitelist or [], external)


def test_the_record_text_is_ansibles_to_json_with_sorted_keys_and_no_spaces():
    # The text Ansible gives for {'vars': {'mlflow_x': 'ü', 'mlflow_a': [1, none, true]}, 'external_database': false}
    # | to_json(sort_keys=true, separators=[',', ':']) (ansible-core 2.19, `ansible localhost -m debug`).
    expected = '{"external_database":false,"vars":{"mlflow_a":[1,null,true],"mlflow_x":"\\u00fc"}}'
    assert record({"mlflow_x": "ü", "mlflow_a": [1, None, True]}, ["mlflow_x", "mlflow_a"]) == expected


def test_only_allowed_defined_variables_are_recorded():
    variables = {"mlflow_workers": 2, "mlflow_version": "3.17.2", "mlflow_future_setting": "x",
                 "mlflow_users": "ignored", "mlflow_route_whitelist": "ignored"}
    allowed = ["mlflow_workers", "mlflow_version", "mlflow_users", "mlflow_route_whitelist", "mlflow_not_defined"]
    users = [{"name": "alice", "password": "never recorded"}, {"name": "bob"}]
    text = record(variables, allowed, users, ["10.0.0.1"], "postgresql://u:p@h/db")
    assert json.loads(text) == {
        "external_database": True,
        "vars": {"mlflow_workers": 2, "mlflow_version": "3.17.2", "mlflow_users": [{"name": "alice"}, {"name": "bob"}],
                 "mlflow_route_whitelist": ["10.0.0.1"]},
    }
    assert "never recorded" not in text and "mlflow_future_setting" not in text


def test_external_database_as_bool_or_uri():
    assert json.loads(record({}, [], external=""))["external_database"] is False
    assert json.loads(record({}, [], external="postgresql://x"))["external_database"] is True
    assert json.loads(record({}, [], external=True))["external_database"] is True
    assert json.loads(record({}, [], external=False))["external_database"] is False


def test_secret_like_names_in_the_allow_list_are_refused():
    with pytest.raises(ValueError, match="mlflow_database_uri, mlflow_s3_secret_access_key"):
        record({}, ["mlflow_workers", "mlflow_s3_secret_access_key", "mlflow_database_uri"])
    with pytest.raises(ValueError, match="mlflow_workers"):
        st.settings_record({}, ["mlflow_workers"], [], [], "", specs={"mlflow_workers": {"no_log": True}})


def test_names_that_are_not_mlflow_variables_are_refused():
    with pytest.raises(ValueError, match="not mlflow_ variables: ansible_host"):
        record({}, ["ansible_host"])


def test_the_record_keeps_the_chosen_names_it_records():
    chosen = ["mlflow_users", "mlflow_workers", "mlflow_namespace"]
    out = json.loads(st.settings_record({"mlflow_workers": 4, "mlflow_version": "3.17.2"},
                                        ["mlflow_workers", "mlflow_version", "mlflow_users"],
                                        [{"name": "alice"}], [], "", chosen=chosen))
    # mlflow_namespace is not recorded: choosing it is not remembered either
    assert out["chosen"] == ["mlflow_users", "mlflow_workers"]
    assert "chosen" not in json.loads(st.settings_record({}, [], [], [], ""))


RECORD = {"vars": {"mlflow_users": [{"name": "alice"}, {"name": "bob"}], "mlflow_backup_schedule": "30 2 * * *",
                   "mlflow_version": "3.17.2", "mlflow_workers": 2, "mlflow_nginx_image": "nginx:1"},
          "chosen": ["mlflow_backup_schedule", "mlflow_users"], "external_database": False}


def test_a_deploy_keeps_what_a_user_chose_and_the_version():
    assert st.settings_kept(json.dumps(RECORD), []) == {
        "mlflow_users": [{"name": "alice"}, {"name": "bob"}], "mlflow_backup_schedule": "30 2 * * *",
        "mlflow_version": "3.17.2"}


def test_what_this_run_sets_wins():
    kept = st.settings_kept(RECORD, ["mlflow_users", "mlflow_version", "mlflow_namespace"])
    assert kept == {"mlflow_backup_schedule": "30 2 * * *"}


def test_the_entry_points_that_change_one_thing_keep_every_value():
    assert st.settings_kept(RECORD, ["mlflow_workers"], keep="all") == {
        n: v for n, v in RECORD["vars"].items() if n != "mlflow_workers"}


def test_a_record_from_before_chosen_existed_keeps_every_value():
    old = {"vars": RECORD["vars"], "external_database": False}
    assert st.settings_kept(old, []) == RECORD["vars"]
    assert st.settings_chosen(old, ["mlflow_namespace"]) == sorted(list(RECORD["vars"]) + ["mlflow_namespace"])


def test_no_record_keeps_nothing():
    assert st.settings_kept("", []) == {}
    assert st.settings_kept(None, [], keep="all") == {}
    assert st.settings_chosen("", ["mlflow_users"]) == ["mlflow_users"]


def test_chosen_accumulates():
    assert st.settings_chosen(RECORD, ["mlflow_workers"]) == ["mlflow_backup_schedule", "mlflow_users", "mlflow_workers"]


@pytest.mark.parametrize("bad", ["[1]", '{"vars": [1]}', "not json"])
def test_a_broken_record_is_an_error(bad):
    with pytest.raises(ValueError):
        st.settings_kept(bad, [])


def test_keep_is_checked():
    with pytest.raises(ValueError, match="keep"):
        st.settings_kept(RECORD, [], keep="some")


def test_what_counts_as_set():
    assert st.settings_named({"mlflow_users": "alice", "mlflow_backup_schedule": "", "mlflow_workers": None,
                              "mlflow_version": "3.17.2"}) == ["mlflow_backup_schedule", "mlflow_users", "mlflow_version"]
    # a blank survey answer for the users asks for no change; an empty schedule removes the backups
    assert st.settings_named({"mlflow_users": "  ", "mlflow_backup_schedule": ""}) == ["mlflow_backup_schedule"]
    assert st.settings_named({"mlflow_users": []}) == ["mlflow_users"]
    assert st.settings_named(None) == []
