"""Helpers shared by the AWX tests: load the config-as-code files and the role's
argument specs, map job templates to the role's entry points, and run a job template's
playbook as AWX's job engine does (ansible-runner on a private data directory)."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[2]
AWX = REPO / "awx"
VENV_BIN = REPO / ".venv" / "bin"

# playbook -> the role entry points it runs, as "role:entry point" (roles/<role>/meta/argument_specs.yml)
_SERVICES = ["mlflow_postgresql:main", "mlflow_minio:main", "mlflow_versitygw:main", "mlflow_tracking:main", "mlflow_models:main",
             "mlflow:apply"]
ENTRY_POINTS = {
    "playbooks/deploy.yml": ["mlflow:prepare"] + _SERVICES,
    "playbooks/grow.yml": ["mlflow:prepare"] + _SERVICES,
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


# --- Jobs run by the engine AWX and the automation controller use: ansible-runner ---------------------------------
# The private data directory is laid out as AWX's job runner lays it out (awx/main/tasks/jobs.py, AWX 24):
# project/, inventory/hosts (an inventory script), env/extravars, env/envvars, env/settings, env/cmdline.

AWX_URL = "https://awx.example.org"
# The ANSIBLE_* settings AWX puts into every job's environment (awx/settings/defaults.py).
_AWX_ANSIBLE_SETTINGS = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
    "ANSIBLE_FORCE_COLOR": "True",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
}
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class ExecutionEnvironment:
    """What a job finds in the csc.mlflow execution environment, made on this machine."""

    collections: Path  # the collections installed in the image (its /usr/share/ansible/collections)
    project: Path  # the project's files, copied into each job's private data directory
    home: Path  # an empty HOME: no kubeconfig to fall back to
    jobs: Path  # where the private data directories are made


class _UntrustedDumper(yaml.SafeDumper):
    """Writes every string as !unsafe: AWX hands survey answers over so that they are never templated."""


_UntrustedDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar("!unsafe", value))


def awx_job_vars(template: dict, job_id: int, revision: str = "0" * 40) -> dict:
    """The variables AWX adds to the extra vars of a job a user launched, under both prefixes."""
    values = {
        "job_id": job_id,
        "job_launch_type": "manual",
        "user_id": 1,
        "user_name": "admin",
        "user_email": "admin@example.org",
        "user_first_name": "",
        "user_last_name": "",
        "inventory_id": 1,
        "inventory_name": "MLflow localhost",
        "project_revision": revision,
        "project_scm_branch": "main",
        "job_template_id": 1,
        "job_template_name": template["name"],
        "execution_node": "awx-task",
    }
    return {f"{prefix}_{key}": value for prefix in ("awx", "tower") for key, value in values.items()}


def awx_inventory_script() -> str:
    """inventory/hosts as AWX writes it: a script printing the inventory of awx/controller_inventories.yml."""
    hosts = yaml.safe_load((AWX / "controller_inventories.yml").read_text())["controller_hosts"]
    # The variables are stored with their Jinja escaped for the configuration run; render them as it does.
    render = jinja2.Environment().from_string
    hostvars = {}
    for number, host in enumerate(hosts, start=1):
        variables = {k: render(v).render() if isinstance(v, str) else v for k, v in (host.get("variables") or {}).items()}
        hostvars[host["name"]] = {**variables, "remote_host_enabled": "true", "remote_host_id": number,
                                  "remote_tower_enabled": "true", "remote_tower_id": number}
    data = {"all": {"hosts": sorted(hostvars)}, "_meta": {"hostvars": hostvars}}
    return f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(data)!r})\n"


def kubernetes_credential_env(inputs: dict, env_dir: Path) -> dict:
    """What the "OpenShift or Kubernetes API Bearer Token" credential injects: a CA certificate goes to a file
    in env/ and verification is on only with one (an empty certificate counts as none here)."""
    env = {"K8S_AUTH_HOST": inputs["host"], "K8S_AUTH_API_KEY": inputs["bearer_token"]}
    if inputs.get("verify_ssl") and inputs.get("ssl_ca_cert"):
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, "w") as f:
            f.write(inputs["ssl_ca_cert"])
        env.update(K8S_AUTH_VERIFY_SSL="True", K8S_AUTH_SSL_CA_CERT=path)
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"
    return env


def _search_path(project_value: str | None, defaults: list[str], requirements: Path) -> str:
    """A collections or roles path as AWX sets it: the project's requirements, the project's ansible.cfg
    setting when it names more than the defaults, the defaults."""
    paths = list(defaults)
    if project_value and any(p not in defaults for p in project_value.split(":")):
        paths.insert(0, project_value)
    return ":".join([str(requirements), *paths])


def awx_job_env(pdd: Path, ee: ExecutionEnvironment, job_id: int, credential: dict, revision: str) -> dict:
    """env/envvars of a job: AWX's settings, the job's own variables, the search paths, the credential."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(pdd / "project" / "ansible.cfg")
    project = config["defaults"] if config.has_section("defaults") else {}
    collections = _search_path(project.get("collections_path"), ["~/.ansible/collections", str(ee.collections)],
                               pdd / "requirements_collections")
    roles = _search_path(project.get("roles_path"),
                         ["~/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles"], pdd / "requirements_roles")
    return {
        **_AWX_ANSIBLE_SETTINGS,
        "AWX_PRIVATE_DATA_DIR": str(pdd),
        "JOB_ID": str(job_id),
        "INVENTORY_ID": "1",
        "PROJECT_REVISION": revision,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000",
        "AWX_HOST": AWX_URL,
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(pdd / "cp"),
        "ANSIBLE_COLLECTIONS_PATHS": collections,
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_ROLES_PATH": roles,
        **kubernetes_credential_env(credential, pdd / "env"),
    }


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@dataclass
class JobRun:
    """A finished job: its status, rc, output and events as ansible-runner left them in artifacts/<ident>/."""

    ident: str
    status: str
    rc: int
    stdout: str  # without colours
    events: list[dict] = field(default_factory=list)
    runner_output: str = ""  # what the ansible-runner process itself printed
    seconds: float = 0.0

    @property
    def stats(self) -> dict:
        """The playbook_on_stats event's counts for localhost ({} when the playbook did not get that far)."""
        for event in self.events:
            if event.get("event") == "playbook_on_stats":
                return {k: v.get("localhost", 0) for k, v in event["event_data"].items() if isinstance(v, dict)}
        return {}

    @property
    def changed(self) -> int:
        return self.stats.get("changed", 0)

    @property
    def failed(self) -> int:
        return self.stats.get("failures", 0)

    def stored_text(self) -> str:
        """Everything of the job that AWX keeps: its output and every string in its events."""
        return "\n".join([self.stdout, *(s for event in self.events for s in _strings(event))])

    def __str__(self) -> str:  # handy in assertion messages
        return (f"job {self.ident}: status={self.status} rc={self.rc} stats={self.stats} ({self.seconds:.1f}s)\n"
                f"--- stdout (tail) ---\n{self.stdout[-6000:]}\n--- ansible-runner ---\n{self.runner_output[-3000:]}")


def private_data_dir(template: dict, answers: dict, *, job_id: int, credential: dict, ee: ExecutionEnvironment,
                     timeout: int = 900) -> Path:
    """The private data directory of a job launched from ``template``: the survey's defaults overridden by
    ``answers`` plus AWX's awx_* variables, ``credential`` (the inputs of an "OpenShift or Kubernetes API Bearer
    Token" credential) injected."""
    revision = "0" * 40
    pdd = ee.jobs / f"awx_{job_id}"
    pdd.mkdir(mode=0o700, parents=True)
    shutil.copytree(ee.project, pdd / "project", symlinks=True)
    (pdd / "inventory").mkdir(mode=0o700)
    (pdd / "env").mkdir(mode=0o700)
    (pdd / "cp").mkdir(mode=0o700)

    def write(relative: str, text: str, mode: int = 0o600) -> None:
        path = pdd / relative
        path.touch(mode=mode)
        path.write_text(text)

    write("inventory/hosts", awx_inventory_script(), 0o700)
    extra_vars = {**survey_defaults(template), **answers, **awx_job_vars(template, job_id, revision)}
    write("env/extravars", yaml.dump(extra_vars, Dumper=_UntrustedDumper, default_flow_style=False))
    write("env/envvars", json.dumps(awx_job_env(pdd, ee, job_id, credential, revision)))
    # AWX's runner settings, except that the output file is kept: the secret check reads it too.
    write("env/settings", json.dumps({"job_timeout": timeout, "suppress_ansible_output": True,
                                      "suppress_output_file": False}))
    write("env/cmdline", "-u root")  # AWX names the remote user always; root without a machine credential
    return pdd


def run_job(template: dict, answers: dict, *, job_id: int, credential: dict, ee: ExecutionEnvironment,
            timeout: int = 900) -> JobRun:
    """Launch a job template as AWX does (see private_data_dir): its playbook run by ``ansible-runner run``
    in a process of its own."""
    pdd = private_data_dir(template, answers, job_id=job_id, credential=credential, ee=ee, timeout=timeout)
    # The EE's environment: no Kubernetes credentials or Ansible settings of this machine's, an empty HOME.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("K8S_AUTH_", "ANSIBLE_")) and k not in ("KUBECONFIG", "PYTHONPATH")}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", HOME=str(ee.home))
    start = time.monotonic()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-runner"), "run", str(pdd), "--playbook", template["playbook"], "--ident", str(job_id)],
        env=env, capture_output=True, text=True, timeout=timeout + 60, check=False,
    )
    seconds = time.monotonic() - start
    artifacts = pdd / "artifacts" / str(job_id)

    def read(name: str, default: str = "") -> str:
        """An artifact's text; ``default`` when ansible-runner did not write it."""
        path = artifacts / name
        return path.read_text() if path.exists() else default

    events = sorted((json.loads(event.read_text()) for event in (artifacts / "job_events").glob("*.json")
                     if not event.name.endswith("-partial.json")), key=lambda e: e.get("counter", 0))
    rc = read("rc").strip()
    return JobRun(
        ident=str(job_id),
        status=read("status", "missing").strip(),
        rc=int(rc) if rc else proc.returncode or -1,  # no rc: the playbook never ran
        stdout=_ANSI_ESCAPE.sub("", read("stdout")).replace("\r\n", "\n"),
        events=events,
        runner_output=proc.stdout + proc.stderr,
        seconds=seconds,
    )
