"""Golden render tests: the whole stack rendered without a cluster for a handful of variable sets
(tests/render/golden_cases.yml), compared with the checked-in objects in tests/render/golden/.
A refactor that changes one byte of a manifest shows here in seconds. What is random in a render
(generated passwords and keys, salted hashes, and what is derived from them) is replaced by a
marker first; passwords a case gives are kept.

Regenerate after an intended change: `make golden`, then review `git diff tests/render/golden`."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
GOLDEN = Path(__file__).parent / "golden"
CASES = yaml.safe_load((Path(__file__).parent / "golden_cases.yml").read_text())
UPDATE = os.environ.get("CSC_MLFLOW_UPDATE_GOLDEN") == "1"


def render(case: dict, tmp_path: Path) -> dict:
    out, extra = tmp_path / "out.json", tmp_path / "case.json"
    # `inventory_vars`: vars files the case renders with, in order (an inventory's group_vars, an instance's
    # -e @file; the case's own variables win).
    if "inventory_vars" in case:
        files = case["inventory_vars"] if isinstance(case["inventory_vars"], list) else [case["inventory_vars"]]
        merged = {}
        for name in files:
            merged.update(yaml.safe_load((REPO / name).read_text()))
        case = {**merged, **{k: v for k, v in case.items() if k != "inventory_vars"}}
    extra.write_text(json.dumps(case))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(Path(__file__).parent / "render.yml"), "-e", f"@{extra}", "-e", f"out={out}"],
        cwd=REPO, capture_output=True, text=True, check=False,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "HOME": str(tmp_path),
             "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def given_values(case: dict) -> set[str]:
    """What the case gives: these stay readable in the golden files."""
    out = {u["password"] for u in case.get("mlflow_users", []) if isinstance(u, dict) and u.get("password")}
    out |= {u["name"] for u in case.get("mlflow_users", []) if isinstance(u, dict)}
    for key in ("mlflow_database_uri", "mlflow_s3_access_key_id", "mlflow_s3_secret_access_key"):
        if case.get(key):
            out.add(case[key])
    return out | {"mlflow", "mlflow-models"}


def normalise(rendered: dict, case: dict) -> dict:
    given = given_values(case)
    secrets = rendered["secrets"]
    randoms = {}
    for secret in secrets:
        for key, value in secret["data"].items():
            text = base64.b64decode(value).decode()
            if text not in given:
                secret["data"][key] = randoms.setdefault(text, f"<generated {secret['metadata']['name']}/{key}>")
            else:
                secret["data"][key] = f"<given: {text}>"
    # Checksums of Secrets hold the random values: say which Secret they sum, not the digest.
    secret_names = {s["metadata"]["name"] for s in secrets}
    for obj in rendered["objects"]:
        annotations = obj.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
        for key in annotations:
            if key.startswith("checksum/") and key[len("checksum/"):] in secret_names:
                annotations[key] = "<checksum of a Secret>"
    # Names derived from generated keys (the MinIO client user Job).
    for obj in rendered["objects"]:
        if obj["kind"] == "Job":
            obj["metadata"]["name"] = re.sub(r"-[0-9a-f]{6}$", "-<hash>", obj["metadata"]["name"])
    return {"objects": rendered["objects"], "secrets": secrets}


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=120, allow_unicode=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_render_matches_golden(name, tmp_path):
    case = CASES[name]
    got = dump(normalise(render(case, tmp_path), case))
    path = GOLDEN / f"{name}.yml"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got)
    assert path.exists(), f"{path} is missing: run `make golden`"
    expected = path.read_text()
    if got != expected:
        import difflib
        delta = "".join(list(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                                  f"golden/{name}.yml", "rendered now", n=2))[:80])
        pytest.fail(f"the render of case {name!r} changed (if intended: `make golden`, review the diff):\n{delta}",
                    pytrace=False)


def test_rahti_inventory_names_no_fixed_host():
    """Route hosts are unique across a cluster: the Rahti inventory lets the platform generate them (a fixed
    <app>.2.rahtiapp.fi would be taken by the first project that deploys that app name)."""
    objects = yaml.safe_load((GOLDEN / "rahti_inventory.yml").read_text())["objects"]
    routes = [o for o in objects if o["kind"] == "Route"]
    assert routes and all("host" not in o["spec"] for o in routes), [o["spec"].get("host") for o in routes]
    assert "rahtiapp.fi" not in json.dumps(objects)
