"""checkov over every rendered stack (the golden cases: the objects deploy.yml applies, byte for byte).

No pod without a NetworkPolicy (CKV2_K8S_6), and no other finding than those docs/SECURITY.md justifies
(its "checkov" table, read here: a new finding fails until it is fixed or justified there).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "render" / "golden"


def _justified() -> set[str]:
    text = (REPO / "docs" / "SECURITY.md").read_text()
    section = text.split("## checkov", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (CKV\w+) \|", section, re.M))


@pytest.fixture(scope="module")
def findings(tools, tmp_path_factory) -> dict[str, set[str]]:
    """checkov's failed checks over all golden cases: check id -> {case: Kind/name, ...}."""
    root = tmp_path_factory.mktemp("checkov")
    for case in sorted(GOLDEN.glob("*.yml")):
        objects = yaml.safe_load(case.read_text())["objects"]
        (root / f"{case.stem}.yaml").write_text(yaml.safe_dump_all(objects))
    r = subprocess.run([str(tools.checkov_venv / "bin" / "checkov"), "-d", str(root), "--framework", "kubernetes",
                        "--quiet", "--compact", "-o", "json"], capture_output=True, text=True, check=False, timeout=600)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    reports = json.loads(r.stdout)
    out: dict[str, set[str]] = {}
    for report in reports if isinstance(reports, list) else [reports]:
        for f in report["results"]["failed_checks"]:
            out.setdefault(f["check_id"], set()).add(f"{Path(f['file_path']).stem}: {f['resource']}")
    return out


def test_every_pod_has_a_network_policy(findings):
    assert "CKV2_K8S_6" not in findings, sorted(findings["CKV2_K8S_6"])


def test_every_other_finding_is_justified_in_security_md(findings):
    justified = _justified()
    assert justified, "docs/SECURITY.md has no checkov table"
    unjustified = {k: sorted(v)[:5] for k, v in findings.items() if k not in justified}
    assert not unjustified, unjustified
