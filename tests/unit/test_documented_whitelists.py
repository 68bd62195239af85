"""The egress addresses the user guide gives for CSC's systems (and the instance example's commented ones) are
whitelist entries as they are written: valid, without host bits (which the whitelist would clear: a sign of a
mistyped row)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.csc.mlflow.plugins.module_utils.ip_whitelist import parse_entry

REPO = Path(__file__).resolve().parents[2]


def guide_egress_rows() -> list[tuple[str, str]]:
    text = (REPO / "docs" / "USER_GUIDE.md").read_text()
    section = text.split("### Log from a batch job", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\s*\| ([^|`]+?) \| `([0-9./]+)` \|$", section, re.M)


def example_entries() -> list[str]:
    text = (REPO / "docs" / "examples" / "instance.yml").read_text()
    return re.findall(r"^\s*#?\s*- ([0-9./]+)", text, re.M)


def test_the_guide_names_the_systems_batch_jobs_run_on():
    assert {name.split(" (")[0] for name, _cidr in guide_egress_rows()} >= {"Roihu", "Puhti", "Mahti", "LUMI"}


@pytest.mark.parametrize("entry", [cidr for _name, cidr in guide_egress_rows()] + example_entries())
def test_each_address_is_a_network_as_written(entry):
    assert str(parse_entry(entry)) == entry
