"""plugins/filter/stack.py: the filters, their documentation files, arguments and errors."""

from __future__ import annotations

import inspect
from collections import UserDict
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.csc.mlflow.plugins.filter import stack

FILTER_DIR = Path(stack.__file__).resolve().parent
EXPECTED = {
    "live_index", "stack_state", "route_hosts", "obsolete_objects", "object_refs", "artifact_store",
    "artifact_store_problems", "stack_credentials", "secrets_plan", "users", "input_problems", "deploy_problems",
    "artifact_store_input_problem", "tracking_config", "settings_record", "tracking_problems",
    "backup_problems", "restore_summary", "tracking_replicas", "presigned_path", "ingress_problems",
    "undeploy_kinds", "deploy_summary", "settings_kept", "settings_chosen", "settings_named", "users_change",
    "redact", "backup_copy", "backup_copy_keys", "backup_copy_problems", "stack_size_problems",
}
FILTERS = stack.FilterModule().filters()


def test_the_filter_module_exposes_every_filter():
    assert set(FILTERS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_filter_has_its_documentation_file(name):
    doc = yaml.safe_load((FILTER_DIR / (name + ".yml")).read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    options = doc["DOCUMENTATION"]["options"]
    params = list(inspect.signature(FILTERS[name]).parameters.values())
    named = [p.name for p in params[1:] if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    assert "_input" in options
    if any(p.kind == p.VAR_KEYWORD for p in params):
        # Keyword-argument filters: every documented option is an argument of the module function.
        target = {"input_problems": stack.inputs.input_problems, "deploy_problems": stack.inputs.deploy_problems,
                  "artifact_store_input_problem": stack.inputs.artifact_store_input_problem,
                  "tracking_problems": stack.inputs.tracking_problems,
                  "stack_size_problems": stack.inputs.stack_size_problems,
                  "backup_problems": stack.backup.backup_problems, "tracking_config": stack._tracking_config,
                  "backup_copy": stack.backup.backup_copy, "backup_copy_problems": stack.backup.backup_copy_problems,
                  "deploy_summary": stack.summary.deploy_summary}[name]
        target_params = list(inspect.signature(target).parameters)
        if name in ("tracking_config", "deploy_summary"):
            target_params = target_params[1:]  # the input: the store, the credentials
        assert set(options) - {"_input"} == set(target_params)
    else:
        assert list(options)[1:] == named


class LazyDict(UserDict):
    """Stands for Ansible 2.19's lazy containers: values are only right when read through items()."""

    def items(self):
        return [(k, v() if callable(v) else v) for k, v in self.data.items()]


def test_arguments_are_read_as_plain_values():
    names = LazyDict({"tracking": lambda: "demo", "models": "demo-models", "minio": "demo-minio"})
    hosts = FILTERS["route_hosts"]({"tracking": "", "models": "m.x", "minio": ""}, {"demo": "old"}, None, names)
    assert hosts == {"tracking": "old", "models": "m.x", "minio": "", "presigned": ""}
    assert hosts.__class__ is dict


def test_keyword_filters_take_a_dict_or_keywords():
    args = dict(app_name="mlflow", namespace="", version="3.17.2", route_host="", models_route_host="",
                minio_route_host="", target_namespace="ns")
    assert FILTERS["input_problems"]({}, **args) == []
    assert FILTERS["input_problems"](args) == []
    assert FILTERS["input_problems"](args, namespace="Bad_NS") == ["mlflow_namespace 'Bad_NS' is not a DNS label"]
    assert FILTERS["input_problems"](None, **args) == []
    with pytest.raises(AnsibleFilterError, match="input must be a dict"):
        FILTERS["input_problems"]("x", **args)


def test_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="input_problems: TypeError"):
        FILTERS["input_problems"]({}, app_name="x")
    with pytest.raises(AnsibleFilterError, match="users: ValueError"):
        FILTERS["users"](None)
    with pytest.raises(AnsibleFilterError, match="settings_record: ValueError: .*mlflow_s3_secret_access_key"):
        FILTERS["settings_record"]({}, ["mlflow_s3_secret_access_key"], [], [], "")
    with pytest.raises(AnsibleFilterError, match="live_index: KeyError"):
        FILTERS["live_index"]([{"kind": "Secret"}])


def test_a_few_filters_end_to_end():
    live = FILTERS["live_index"]([{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "demo-users", "uid": "u"},
                                   "data": {"alice": "a2VwdA=="}}])
    assert live == {"Secret/demo-users": {"metadata": {"name": "demo-users"}, "data": {"alice": "kept"},
                                          "raw": {"alice": "a2VwdA=="}}}
    store = FILTERS["artifact_store"](None, {}, "http://demo-minio:9000", "default", "https://a3s.fi")
    assert store["uri"] == "s3://default/"
    cfg = FILTERS["tracking_config"](store, artifact_mode="proxied", workers=2, enable_job_execution=False,
                                     tracking_host="", service_name="demo", namespace="ns")
    assert cfg["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://default/"
    assert FILTERS["users"]("a,b") == [{"name": "a"}, {"name": "b"}]
    assert FILTERS["object_refs"]([{"metadata": {"name": "x"}}], "v1", "Service") == [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}]
