"""playbooks/awx_configure.yml and the awx/controller_*.yml files against the awx.awx
modules' own argument specs (there is no AWX here: syntax check + `ansible-doc -j`)."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from awxlib import REPO, VENV_BIN, module_doc, render_config

PLAYBOOK = REPO / "playbooks" / "awx_configure.yml"
# config list -> the awx.awx module an infra.aap_configuration role (and our playbook)
# hands every item to
LISTS = {
    "controller_execution_environments": "awx.awx.execution_environment",
    "controller_projects": "awx.awx.project",
    "controller_inventories": "awx.awx.inventory",
    "controller_hosts": "awx.awx.host",
    "controller_credentials": "awx.awx.credential",
    "controller_templates": "awx.awx.job_template",
}
_DOCS: dict[str, dict] = {}
_SPEC_KEYS = {"type", "elements", "choices", "aliases", "required", "default", "no_log", "options"}


def doc(module: str) -> dict:
    if module not in _DOCS:
        _DOCS[module] = module_doc(module)
    return _DOCS[module]


def argspec(options: dict) -> dict:
    """Module argument spec from `ansible-doc` options (documentation keys dropped)."""
    spec = {}
    for name, o in options.items():
        s = {k: v for k, v in o.items() if k in _SPEC_KEYS}
        s.pop("required", None)  # checked separately: infra roles fill some from context
        if "options" in s:
            s["options"] = argspec(s["options"])
        spec[name] = s
    return spec


def option_names(module: str) -> set[str]:
    names = set()
    for name, o in doc(module)["options"].items():
        names.add(name)
        names.update(o.get("aliases") or [])
    return names


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_config(tmp_path_factory.mktemp("awx-render"))


def test_syntax_check():
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "--syntax-check", str(PLAYBOOK)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _awx_tasks():
    play = yaml.safe_load(PLAYBOOK.read_text())[0]
    for task in play["tasks"]:
        for key, args in task.items():
            if key.startswith("awx.awx."):
                yield task, key, args


def test_playbook_module_arguments_exist():
    seen = set()
    for task, module, args in _awx_tasks():
        seen.add(module)
        unknown = set(args) - option_names(module)
        assert not unknown, f"{task['name']}: {module} has no option(s) {sorted(unknown)}"
        required = {n for n, o in doc(module)["options"].items() if o.get("required")}
        assert required <= set(args), f"{task['name']}: missing required {sorted(required - set(args))}"
    assert seen == set(LISTS.values())


def test_playbook_module_defaults_are_controller_options():
    play = yaml.safe_load(PLAYBOOK.read_text())[0]
    defaults = play["module_defaults"]["group/awx.awx.controller"]
    for module in LISTS.values():
        assert set(defaults) <= option_names(module)


def test_credential_task_is_no_log():
    for task, module, _args in _awx_tasks():
        if module == "awx.awx.credential":
            assert task.get("no_log") is True


def test_playbook_has_no_prompts():
    play = yaml.safe_load(PLAYBOOK.read_text())[0]
    assert "vars_prompt" not in play


@pytest.mark.parametrize("config_list", sorted(LISTS))
def test_config_items_pass_module_argument_spec(rendered, config_list):
    module = LISTS[config_list]
    spec = argspec(doc(module)["options"])
    items = rendered[config_list]
    assert items, config_list
    for item in items:
        result = ArgumentSpecValidator(spec).validate(item)
        assert not result.error_messages, f"{module} {item.get('name')}: {result.error_messages}"
        required = {n for n, o in doc(module)["options"].items() if o.get("required")}
        assert required <= set(item), f"{item.get('name')}: missing {sorted(required - set(item))}"


def test_references_between_objects(rendered):
    names = {k: {i["name"] for i in v} for k, v in rendered.items()}
    for t in rendered["controller_templates"]:
        assert t["project"] in names["controller_projects"]
        assert t["inventory"] in names["controller_inventories"]
        assert t["execution_environment"] in names["controller_execution_environments"]
        assert set(t["credentials"]) <= names["controller_credentials"]
    for h in rendered["controller_hosts"]:
        assert h["inventory"] in names["controller_inventories"]
    for p in rendered["controller_projects"]:
        assert p["default_environment"] in names["controller_execution_environments"]


def test_credential_is_the_builtin_bearer_token_type(rendered):
    (cred,) = rendered["controller_credentials"]
    assert cred["credential_type"] == "OpenShift or Kubernetes API Bearer Token"
    # the input names of that type (awx/main/models/credential: kubernetes_bearer_token)
    assert set(cred["inputs"]) <= {"host", "bearer_token", "verify_ssl", "ssl_ca_cert"}
    assert cred["inputs"]["verify_ssl"] is True


def test_no_secret_in_git():
    raw = yaml.safe_load((REPO / "awx" / "controller_credentials.yml").read_text())
    (cred,) = raw["controller_credentials"]
    assert cred["inputs"]["bearer_token"].strip().startswith("{{"), "the token must come from a variable"


def test_localhost_host_vars(rendered):
    (host,) = rendered["controller_hosts"]
    assert host["name"] == "localhost"
    assert host["variables"] == {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
