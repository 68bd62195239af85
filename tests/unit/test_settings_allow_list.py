"""The settings record on ConfigMap <app>-config is an allow-list (roles/mlflow/vars/main.yml):
nothing whose name or argument spec marks it secret may be in it, and every public variable is
either recorded or listed as not recorded, so that a new variable is a decision, not an accident."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.csc.mlflow.plugins.module_utils.settings import secret_like

REPO = Path(__file__).resolve().parents[2]
VARS = yaml.safe_load((REPO / "roles" / "mlflow" / "vars" / "main.yml").read_text())
RECORDED = VARS["_mlflow_settings_recorded"]
NOT_RECORDED = VARS["_mlflow_settings_not_recorded"]


def options() -> dict[str, dict]:
    """Every option of every entry point of every role (a name may appear in several)."""
    out: dict[str, dict] = {}
    for path in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        for entry in (yaml.safe_load(path.read_text()).get("argument_specs") or {}).values():
            for name, spec in (entry.get("options") or {}).items():
                merged = out.setdefault(name, {})
                merged["no_log"] = merged.get("no_log", False) or bool((spec or {}).get("no_log"))
    return out


def test_nothing_secret_is_recorded():
    specs = options()
    secret = [n for n in RECORDED if secret_like(n, specs.get(n))]
    assert not secret, f"secret-like variables in _mlflow_settings_recorded (they would land in a ConfigMap): {secret}"


def test_every_public_variable_is_recorded_or_said_not_to_be():
    names = set(options())
    undecided = sorted(names - set(RECORDED) - set(NOT_RECORDED))
    assert not undecided, (f"variables neither in _mlflow_settings_recorded nor in _mlflow_settings_not_recorded "
                           f"(roles/mlflow/vars/main.yml): {undecided}")
    both = sorted(set(RECORDED) & set(NOT_RECORDED))
    assert not both, f"in both lists: {both}"
    unknown = sorted((set(RECORDED) | set(NOT_RECORDED)) - names)
    assert not unknown, f"listed but not a variable of any argument spec: {unknown}"
