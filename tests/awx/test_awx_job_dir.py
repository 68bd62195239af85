"""The private data directory awxlib.run_job hands to ansible-runner is laid out as AWX lays
out a job's (no cluster needed: nothing runs here but the inventory script)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess

import pytest
import yaml

from awxlib import REPO, ExecutionEnvironment, private_data_dir, raw_templates

TEMPLATES = {t["playbook"]: t for t in raw_templates()}
CA = "-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n"


class Unsafe(str):
    """A string that was tagged !unsafe."""


class _UnsafeLoader(yaml.SafeLoader):
    """Reads !unsafe strings as Unsafe."""


_UnsafeLoader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))


@pytest.fixture
def ee(tmp_path):
    project = tmp_path / "project"
    (project / "playbooks").mkdir(parents=True)
    shutil.copy(REPO / "ansible.cfg", project / "ansible.cfg")
    shutil.copy(REPO / "playbooks" / "deploy.yml", project / "playbooks" / "deploy.yml")
    (tmp_path / "home").mkdir()
    return ExecutionEnvironment(collections=tmp_path / "collections", project=project, home=tmp_path / "home",
                                jobs=tmp_path / "jobs")


def job_dir(ee, verify_ssl=True, answers=None):
    credential = {"host": "https://api.example.org:6443", "bearer_token": "sha256~not-a-real-token",
                  "verify_ssl": verify_ssl, "ssl_ca_cert": CA if verify_ssl else ""}
    return private_data_dir(TEMPLATES["playbooks/deploy.yml"], answers or {"mlflow_namespace": "team-a"},
                            job_id=7, credential=credential, ee=ee)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_layout_and_permissions(ee):
    pdd = job_dir(ee)
    assert (pdd / "project" / "playbooks" / "deploy.yml").is_file()
    assert (pdd / "project" / "ansible.cfg").is_file()
    assert mode(pdd) == mode(pdd / "env") == 0o700
    for name in ("extravars", "envvars", "settings", "cmdline"):
        assert mode(pdd / "env" / name) == 0o600, name
    assert json.loads((pdd / "env" / "settings").read_text())["suppress_ansible_output"] is True


def test_inventory_is_awx_script_with_localhost_only(ee):
    hosts = job_dir(ee) / "inventory" / "hosts"
    assert mode(hosts) & stat.S_IXUSR
    data = json.loads(subprocess.run([str(hosts)], capture_output=True, text=True, check=True).stdout)
    assert data["all"]["hosts"] == ["localhost"]
    localhost = data["_meta"]["hostvars"]["localhost"]
    assert localhost["ansible_connection"] == "local"
    assert localhost["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"


def test_extra_vars_are_survey_answers_and_awx_variables_all_unsafe(ee):
    extra_vars = yaml.load((job_dir(ee, answers={"mlflow_namespace": "team-a", "mlflow_users": "alice,bob"})
                            / "env" / "extravars").read_text(), Loader=_UnsafeLoader)
    assert extra_vars["mlflow_namespace"] == "team-a" and extra_vars["mlflow_users"] == "alice,bob"
    assert extra_vars["mlflow_app_name"] == "mlflow"  # a survey default
    assert extra_vars["awx_job_id"] == extra_vars["tower_job_id"] == 7
    assert extra_vars["awx_job_template_name"] == TEMPLATES["playbooks/deploy.yml"]["name"]
    assert all(isinstance(k, Unsafe) for k in extra_vars)
    assert all(isinstance(v, Unsafe) for v in extra_vars.values() if isinstance(v, str))


def test_credential_with_a_ca_certificate(ee):
    pdd = job_dir(ee, verify_ssl=True)
    env = json.loads((pdd / "env" / "envvars").read_text())
    assert env["K8S_AUTH_HOST"] == "https://api.example.org:6443"
    assert env["K8S_AUTH_API_KEY"] == "sha256~not-a-real-token"
    assert env["K8S_AUTH_VERIFY_SSL"] == "True"
    ca_file = pdd / "env" / env["K8S_AUTH_SSL_CA_CERT"].rsplit("/", 1)[-1]
    assert str(ca_file) == env["K8S_AUTH_SSL_CA_CERT"] and ca_file.read_text() == CA and mode(ca_file) == 0o600
    assert "KUBECONFIG" not in env and "K8S_AUTH_KUBECONFIG" not in env


def test_credential_without_verification(ee):
    env = json.loads((job_dir(ee, verify_ssl=False) / "env" / "envvars").read_text())
    assert env["K8S_AUTH_VERIFY_SSL"] == "False"
    assert "K8S_AUTH_SSL_CA_CERT" not in env


def test_collections_come_from_the_execution_environment_not_the_checkout(ee):
    pdd = job_dir(ee)
    env = json.loads((pdd / "env" / "envvars").read_text())
    paths = env["ANSIBLE_COLLECTIONS_PATH"].split(":")
    assert paths[0] == str(pdd / "requirements_collections")
    assert str(ee.collections) in paths
    # the project's own ./.ansible/collections is relative to the project directory, where it does not exist
    assert not any(p.startswith(str(REPO)) for p in paths)
    assert not (pdd / "project" / ".ansible").exists()
