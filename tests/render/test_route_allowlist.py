"""Every Route the collection writes carries an allowlist that OpenShift's router enforces, whatever form the
whitelist was given in (issue "Where users are in 2026": the router drops a malformed list and lets everyone
through; a trailing space is enough). The router's grammar: tests/cluster/router_allowlist.py, from
openshift/router's template and parseIPList. Checked for every form the whitelist normaliser accepts (pure), for
the rendered stack (Routes of tracking, pre-signed transfers and Models), and for csc.mlflow.route_whitelist's
patches (tests/modules/test_route_whitelist.py, on the test cluster)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ansible_collections.csc.mlflow.plugins.module_utils.ip_whitelist import (
    ROUTE_ANNOTATIONS, normalize, to_annotation)
from ansible_collections.csc.mlflow.plugins.module_utils.route_whitelist import plan
from test_golden import render

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("router_allowlist", REPO / "tests" / "cluster" / "router_allowlist.py")
router = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(router)

# The forms users give (lists, strings with any separator, hosts, host bits, IPv6, duplicates, long lists).
FORMS = [
    ["192.0.2.0/24"],
    "192.0.2.0/24",
    "192.0.2.0/24, 198.51.100.7",
    "192.0.2.0/24;198.51.100.7|203.0.113.0/25",
    " 192.0.2.0/24\n198.51.100.7\t\n",
    ["10.0.0.5/24", "10.0.0.0/24", "2001:db8::1/128", "2001:DB8::/32"],
    ["198.51.100.7/32", "198.51.100.7"],
    [f"10.{i}.0.0/16" for i in range(80)],  # more than the 61 the docs name: the router writes a file
]


def enforced_by_every_router(annotations: dict) -> list[str]:
    current, why = router.admitted(annotations)
    older, older_why = router.admitted(annotations, older_router=True)
    assert current is not None and why == "enforced", why
    assert older == current, older_why
    return current


@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
def test_every_accepted_form_is_written_as_the_router_reads_it(form):
    entries = normalize(form)
    value = to_annotation(entries)
    assert enforced_by_every_router({key: value for key in ROUTE_ANNOTATIONS}) == entries
    assert plan(None, form, "present")[0] == value  # what csc.mlflow.route_whitelist writes


def test_the_rendered_routes_are_enforced_by_every_router(tmp_path):
    form = FORMS[4]
    rendered = render({"mlflow_namespace": "allowlist", "mlflow_route_whitelist": form,
                       "mlflow_models_route_host": "models.example.test"}, tmp_path)
    items = rendered["objects"] if isinstance(rendered, dict) and "objects" in rendered else rendered
    routes = [o for o in items if o["kind"] == "Route"]
    assert len(routes) == 3, [r["metadata"]["name"] for r in routes]  # tracking, pre-signed, Models
    for route in routes:
        annotations = route["metadata"]["annotations"]
        assert {annotations[k] for k in ROUTE_ANNOTATIONS} == {to_annotation(normalize(form))}
        assert enforced_by_every_router(annotations) == normalize(form)
