"""argument_specs: several role entry points' options as one spec (pure logic), and deploy.yml's use of it."""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.csc.mlflow.plugins.plugin_utils.argument_specs import merged_options, parse_entry_point

REPO = Path(__file__).resolve().parents[4]

SPECS = {
    "a": {"main": {"options": {"x": {"type": "int"}, "shared": {"type": "str", "default": ""}}},
          "other": {"options": {"shared": {"type": "str", "default": ""}, "y": {"type": "bool"}}}},
    "b": {"main": {"options": {"z": {"type": "dict"}}}, "empty": {"options": {}}, "bare": {}},
}


def test_entry_points_default_to_main():
    assert parse_entry_point("mlflow") == ("mlflow", "main")
    assert parse_entry_point("mlflow:prepare") == ("mlflow", "prepare")
    assert parse_entry_point(" mlflow_minio ") == ("mlflow_minio", "main")


@pytest.mark.parametrize("term", ["", "  ", ":main", "mlflow:", None, ["mlflow"]])
def test_malformed_entry_points_are_refused(term):
    with pytest.raises(ValueError):
        parse_entry_point(term)


def test_options_of_the_entry_points_are_merged():
    merged = merged_options(SPECS, [("a", "main"), ("a", "other"), ("b", "main"), ("b", "empty"), ("b", "bare")])
    assert merged == {"x": {"type": "int"}, "shared": {"type": "str", "default": ""}, "y": {"type": "bool"},
                      "z": {"type": "dict"}}


def test_an_option_declared_differently_is_refused():
    specs = {"a": SPECS["a"], "c": {"main": {"options": {"shared": {"type": "int"}}}}}
    with pytest.raises(ValueError, match="option shared is declared differently by a:main and c:main"):
        merged_options(specs, [("a", "main"), ("c", "main")])


@pytest.mark.parametrize("entry_points, message", [
    ([("nope", "main")], "role nope has no argument specs"),
    ([("a", "nope")], "role a has no entry point nope"),
])
def test_unknown_roles_and_entry_points_are_refused(entry_points, message):
    with pytest.raises(ValueError, match=message):
        merged_options(SPECS, entry_points)


def _playbook_tasks(name):
    """The tasks of a playbook, with those of the task files it imports in their place."""
    tasks = []
    for task in yaml.safe_load((REPO / "playbooks" / name).read_text())[0]["tasks"]:
        if "ansible.builtin.import_tasks" in task:
            tasks += yaml.safe_load((REPO / "playbooks" / task["ansible.builtin.import_tasks"]).read_text())
        else:
            tasks.append(task)
    return tasks


def _includes(tasks):
    for task in tasks:
        if "ansible.builtin.include_role" in task:
            yield task["ansible.builtin.include_role"]
        if "ansible.builtin.import_tasks" in task:  # in a block
            yield from _includes(yaml.safe_load((REPO / "playbooks" / task["ansible.builtin.import_tasks"]).read_text()))
        for part in ("block", "rescue"):
            yield from _includes(task.get(part) or [])


@pytest.mark.parametrize("playbook", ["deploy.yml", "configure_artifact_store.yml", "rotate_kek.yml",
                                      "enable_models.yml", "disable_models.yml", "restore.yml"])
def test_playbook_validates_the_entry_points_of_every_role_it_includes_and_no_other(playbook):
    tasks = _playbook_tasks(playbook)
    spec_task = tasks[0]["ansible.builtin.validate_argument_spec"]["argument_spec"]
    validated = re.findall(r"'([a-z_:]+)'", spec_task.split("role_argument_spec'", 1)[1].split(")")[0])
    # Not validated again: put_back (a rescue, no input of its own) and the service roles' steps (_mlflow_hooks_due,
    # of roles the playbook includes and validates).
    includes = [inc for inc in _includes(tasks[1:]) if inc.get("tasks_from") != "put_back" and "{{" not in inc["name"]]
    included = [inc["name"].split(".")[-1] + ":" + inc.get("tasks_from", "main") for inc in includes]
    assert [parse_entry_point(term) for term in validated] == [parse_entry_point(term) for term in included]
    assert all(inc.get("rolespec_validate") is False for inc in _includes(tasks[1:])), "validated twice"


def test_the_specs_of_the_deploy_roles_merge_without_conflict():
    specs = {}
    for path in (REPO / "roles").glob("*/meta/argument_specs.yml"):
        specs[path.parents[1].name] = yaml.safe_load(path.read_text())["argument_specs"]
    merged = merged_options(specs, [("mlflow", "prepare"), ("mlflow_postgresql", "main"), ("mlflow_minio", "main"),
                                    ("mlflow_tracking", "main"), ("mlflow_models", "main"), ("mlflow", "apply")])
    assert {"mlflow_app_name", "mlflow_postgresql_image", "mlflow_minio_resources", "mlflow_tracking_replicas",
            "mlflow_models_resources"} <= set(merged)
