"""The execution environment definition: collection metadata for ansible-builder and an
`ansible-builder create` that yields a complete build context (offline)."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from importlib import metadata

import pytest
import yaml
from ansible_builder.ee_schema import validate_schema
from packaging.requirements import Requirement

from awxlib import REPO, VENV_BIN

GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())


def requirement_lines(path):
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def test_requirements_txt_has_no_pins_and_no_ansible():
    reqs = [Requirement(line) for line in requirement_lines(REPO / "requirements.txt")]
    assert reqs
    for r in reqs:
        assert r.name.lower() not in {"ansible", "ansible-core", "ansible-base"}, r
        assert not any(s.operator in ("==", "===") for s in r.specifier), f"pinned: {r}"
    assert "kubernetes" in {r.name for r in reqs}


def test_requirements_are_satisfied_by_the_dev_venv():
    # the versions CI tests with satisfy what the EE will install
    for line in requirement_lines(REPO / "requirements.txt"):
        r = Requirement(line)
        assert r.specifier.contains(metadata.version(r.name), prereleases=True), r


def test_bindep_lines_are_well_formed():
    for line in requirement_lines(REPO / "bindep.txt"):
        assert re.fullmatch(r"[A-Za-z0-9][\w.+-]*(\s*[<>=!]=?\s*[\w.]+)?(\s+\[[^\]]+\])?", line), line


def test_collection_ee_metadata():
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["version"] == 1
    for kind, name in (("python", "requirements.txt"), ("system", "bindep.txt")):
        assert meta["dependencies"][kind] == name
        assert (REPO / name).exists()


@pytest.mark.parametrize("ee_file", ["execution-environment.yml", "awx/execution-environment-git.yml"])
def test_ee_definition_is_valid_v3(ee_file):
    ee = yaml.safe_load((REPO / ee_file).read_text())
    validate_schema(ee)
    assert ee["version"] == 3
    collections = {c["name"]: c for c in ee["dependencies"]["galaxy"]["collections"]}
    assert "kubernetes.core" in collections
    assert any("mlflow" in name for name in collections), "the EE must carry csc.mlflow"
    assert "ansible-core" in ee["dependencies"]["ansible_core"]["package_pip"]
    assert ee["dependencies"]["ansible_runner"]["package_pip"].startswith("ansible-runner")


def test_git_ee_creates_a_context(tmp_path):
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "-f", str(REPO / "awx" / "execution-environment-git.yml"),
         "-c", str(tmp_path / "ctx")],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reqs = yaml.safe_load((tmp_path / "ctx" / "_build" / "requirements.yml").read_text())
    assert any(c.get("type") == "git" for c in reqs["collections"])


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    ctx = tmp_path_factory.mktemp("ee") / "context"
    proc = subprocess.run(
        [str(REPO / "awx" / "build-ee.sh"), "--context", str(ctx)], cwd=REPO, capture_output=True, text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ctx


def test_builder_create_produces_a_build_context(context):
    files = {p.name for p in context.iterdir()}
    assert files & {"Containerfile", "Dockerfile"}, files
    containerfile = (context / ("Containerfile" if "Containerfile" in files else "Dockerfile")).read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile  # picks up meta/execution-environment.yml of csc.mlflow
    reqs = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    (local,) = [c for c in reqs["collections"] if c.get("type") == "file"]
    # the galaxy stage runs in /build, where _build/ is copied
    assert local["name"].startswith("/build/")
    assert (context / "_build" / local["name"].removeprefix("/build/")).is_file()


def test_context_carries_the_collection(context):
    tarball = context / "_build" / "collections" / "csc-mlflow.tar.gz"
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("csc", "mlflow", GALAXY["version"])
    for needed in ("meta/execution-environment.yml", "meta/runtime.yml", "requirements.txt", "bindep.txt"):
        assert needed in names, needed
    for playbook in ("deploy", "enable_models", "disable_models", "configure_artifact_store", "undeploy"):
        assert f"playbooks/{playbook}.yml" in names, playbook
    assert any(n.startswith("roles/mlflow/tasks/") for n in names)
    # nothing of the developer's machine in the collection
    for n in names:
        assert not n.startswith((".venv", ".cluster", ".git/", "build/", ".ansible/", ".pytest_cache", ".demo")), n
