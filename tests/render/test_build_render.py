"""The optional OpenShift build is self-contained (no test cluster serves the build API, so this
checks what the role renders and the order it applies things in)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def render(tmp_path):
    out = tmp_path / "build.json"
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(REPO / "tests" / "render" / "build.yml"), "-e", f"out={out}"],
                          cwd=REPO, capture_output=True, text=True, check=False,
                          env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                               "HOME": str(tmp_path), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {o["kind"]: o for o in json.loads(out.read_text())}


def test_build_has_no_git_source_and_carries_its_inputs(tmp_path):
    objs = render(tmp_path)
    assert set(objs) == {"ImageStream", "ConfigMap", "BuildConfig"}
    bc = objs["BuildConfig"]
    src = bc["spec"]["source"]
    assert src["type"] == "Dockerfile" and "git" not in src
    assert src["dockerfile"] == (REPO / "images" / "mlflow" / "Containerfile").read_text()
    assert src["configMaps"] == [{"configMap": {"name": objs["ConfigMap"]["metadata"]["name"]}}]
    assert objs["ConfigMap"]["data"]["requirements.txt"] == (REPO / "images" / "mlflow" / "requirements.txt").read_text()
    version = yaml.safe_load((REPO / "roles" / "mlflow" / "defaults" / "main.yml").read_text())["mlflow_version"]
    assert bc["spec"]["strategy"]["dockerStrategy"]["buildArgs"] == [{"name": "MLFLOW_VERSION", "value": version}]
    assert bc["spec"]["output"]["to"] == {"kind": "ImageStreamTag", "name": f"mlflow-mlflow:{version}"}
    # No ConfigChange trigger (it fires only on creation): the role starts a Build when the inputs change.
    assert bc["spec"]["triggers"] == []
    assert len(bc["metadata"]["annotations"]["csc.mlflow/build-inputs"]) == 64


def test_requirements_pin_the_version_the_build_argument_names():
    version = yaml.safe_load((REPO / "roles" / "mlflow" / "defaults" / "main.yml").read_text())["mlflow_version"]
    assert f"mlflow=={version}\n" in (REPO / "images" / "mlflow" / "requirements.txt").read_text()


def tasks_of(path):
    """The tasks of a task file; a file that is one block (its module_defaults) gives the block's tasks."""
    tasks = yaml.safe_load(path.read_text())
    return tasks[0]["block"] if len(tasks) == 1 and "block" in tasks[0] else tasks


def test_workloads_are_applied_only_after_the_build():
    tasks = tasks_of(REPO / "playbooks" / "tasks" / "apply_services.yml")
    # The build is the tracking role's hook of stage before_apply, which every applying playbook runs before the
    # shared role's `apply` (the stack but the Routes and the Secrets).
    hooks = yaml.safe_load((REPO / "roles" / "mlflow_tracking" / "vars" / "main.yml").read_text())["_mlflow_tracking_hooks"]
    assert [h["stage"] for h in hooks if h["tasks_from"] == "build"] == ["before_apply"]
    before_apply = [i for i, t in enumerate(tasks) if "'before_apply'" in str(t.get("loop", ""))]
    apply = [i for i, t in enumerate(tasks) if (t.get("ansible.builtin.include_role") or {}).get("tasks_from") == "apply"]
    assert len(before_apply) == 1 and len(apply) == 1 and before_apply[0] < apply[0]
    build = tasks_of(REPO / "roles" / "mlflow_tracking" / "tasks" / "build.yml")
    assert [t["name"] for t in build][:2] == ["Apply the ImageStream, the build's ConfigMap and the BuildConfig",
                                              "Look for the image of this MLflow version"]
