"""Helpers shared by the AWX tests: load the config-as-code files and the role's
argument specs, and map job templates to the role's entry points."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
AWX = REPO / "awx"
VENV_BIN = REPO / ".venv" / "bin"

# playbook -> the role entry points it runs, as "role:entry point" (roles/<role>/meta/argument_specs.yml)
_SERVICES = ["mlflow_postgresql:main", "mlflow_minio:main", "mlflow_versitygw:main", "mlflow_tracking:main", "mlflow_models:main",
             "mlflow:apply"]
ENTRY_POINTS = {
    "playbooks/deploy.yml": ["mlflow:prepare"] + _SERVICES,
    "playbooks/enable_models.yml": ["mlflow_models:enable", "mlflow:connect"] + _SERVICES,
    "playbooks/disable_models.yml": ["mlflow_models:disable", "mlflow:connect"] + _SERVICES,
    "playbooks/configure_artifact_store.yml": ["mlflow_tracking:artifact_store", "mlflow:connect", "mlflow:prepare"] + _SERVICES,
    "playbooks/restore.yml": ["mlflow_tracking:restore", "mlflow:connect"] + _SERVICES,
    "playbooks/users.yml": ["mlflow:users"] + _SERVICES,
    "playbooks/undeploy.yml": ["mlflow:undeploy"],
}

# Test values for the site settings the files reference.
SITE_VARS = {
    "mlflow_awx_ee_image": "registry.example.org/csc/csc-mlflow-ee:0.1.0",
    "mlflow_awx_scm_url": "https://git.example.org/csc/ansible-collection-mlflow.git",
    "mlflow_awx_k8s_host": "https://api.cluster.example.org:6443",
    "mlflow_awx_k8s_api_key": "not-a-real-token",
    "mlflow_awx_k8s_ca_cert": "",
    "mlflow_awx_k8s_verify_ssl": "true",
}


def raw_templates() -> list[dict]:
    """controller_templates as stored (YAML anchors resolved, Jinja not rendered)."""
    return yaml.safe_load((AWX / "controller_templates.yml").read_text())["controller_templates"]


def render_config(tmp_dir: Path, extra_vars: dict | None = None) -> dict:
    """Every controller_* list, rendered by Ansible itself (tests/awx/render_config.yml)."""
    out = tmp_dir / "rendered.json"
    ev = tmp_dir / "vars.json"
    ev.write_text(json.dumps({**SITE_VARS, **(extra_vars or {}), "awx_render_out": str(out)}))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(REPO / "tests" / "awx" / "render_config.yml"), "-e", f"@{ev}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_dir), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def argument_specs() -> dict:
    """Every role's entry points, keyed "role:entry point"."""
    out = {}
    for path in sorted((REPO / "roles").glob("*/meta/argument_specs.yml")):
        for entry, spec in (yaml.safe_load(path.read_text()).get("argument_specs") or {}).items():
            out[f"{path.parents[1].name}:{entry}"] = spec
    return out


def module_doc(module: str) -> dict:
    """`ansible-doc -j` of a module: {'options': {...}, ...}."""
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "-j", module], capture_output=True, text=True, check=True, cwd=REPO
    )
    return json.loads(proc.stdout)[module]["doc"]


def survey_defaults(template: dict) -> dict:
    """The extra vars AWX sends when every survey question keeps its default."""
    return {q["variable"]: q.get("default", "") for q in template["survey_spec"]["spec"]}
