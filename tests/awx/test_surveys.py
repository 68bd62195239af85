"""Survey specs of the job templates in awx/controller_templates.yml: valid for the
controller (JSON schema + the rules the schema cannot express) and in line with the
role's argument specs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from awxlib import ENTRY_POINTS, REPO, argument_specs, raw_templates

SCHEMA = json.loads((Path(__file__).parent / "survey_schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
TEMPLATES = raw_templates()
IDS = [t["playbook"].split("/")[-1].removesuffix(".yml") for t in TEMPLATES]

# Survey answers that are secrets must be password questions (masked in the UI, stored
# encrypted, shown as $encrypted$ in the job's extra vars).
SECRET_VARIABLES = {"mlflow_s3_access_key_id", "mlflow_s3_secret_access_key"}


def semantic_errors(survey: dict) -> list[str]:
    """Rules of the controller's survey validation that a JSON schema cannot express."""
    errors = []
    seen = set()
    for q in survey["spec"]:
        var, qtype, default = q["variable"], q["type"], q.get("default", "")
        if var in seen:
            errors.append(f"{var}: variable used twice")
        seen.add(var)
        lo, hi = q.get("min"), q.get("max")
        if lo is not None and hi is not None and lo > hi:
            errors.append(f"{var}: min {lo} > max {hi}")
        if qtype in ("text", "textarea", "password") and default != "":
            if lo is not None and len(default) < lo or hi is not None and len(default) > hi:
                errors.append(f"{var}: default length {len(default)} outside [{lo}, {hi}]")
        if qtype in ("integer", "float") and default != "":
            if lo is not None and default < lo or hi is not None and default > hi:
                errors.append(f"{var}: default {default} outside [{lo}, {hi}]")
        if qtype in ("multiplechoice", "multiselect"):
            defaults = default if isinstance(default, list) else [d for d in str(default).splitlines() if d]
            if qtype == "multiplechoice" and len(defaults) > 1:
                errors.append(f"{var}: multiplechoice with more than one default")
            for d in defaults:
                if d not in q.get("choices", []):
                    errors.append(f"{var}: default {d!r} not among the choices")
        if q["required"] and qtype in ("multiplechoice", "multiselect") and default == "":
            errors.append(f"{var}: a required choice without a default")
    return errors


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_one_template_per_playbook():
    assert sorted(t["playbook"] for t in TEMPLATES) == sorted(ENTRY_POINTS)
    for t in TEMPLATES:
        assert t["survey_enabled"] is True and t["survey_spec"], t["name"]
        assert t["ask_variables_on_launch"] is False, "extra vars only through the survey"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_survey_matches_schema(template):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(template["survey_spec"])]
    assert not errors, errors
    assert not semantic_errors(template["survey_spec"])


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda s: s["spec"][0].pop("variable"), "'variable' is a required property"),
        (lambda s: s["spec"][0].update(variable="1bad-name"), "does not match"),
        (lambda s: s["spec"][0].update(type="checkbox"), "is not one of"),
        (lambda s: s["spec"][0].update(required="yes"), "is not of type 'boolean'"),
        (lambda s: s["spec"].append({"type": "multiplechoice", "question_name": "q", "variable": "v", "required": True}), "'choices' is a required property"),
        (
            lambda s: s["spec"].append(
                {"type": "integer", "question_name": "q", "variable": "v", "required": True, "min": 0, "max": 9, "default": "3"}
            ),
            "is not valid under any of the given schemas",
        ),
        (lambda s: s.update(spec=[]), "should be non-empty"),
        (lambda s: s.pop("description"), "'description' is a required property"),
    ],
)
def test_schema_rejects_bad_specs(mutate, expected):
    survey = copy.deepcopy(TEMPLATES[0]["survey_spec"])
    mutate(survey)
    messages = [e.message for e in VALIDATOR.iter_errors(survey)]
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "question, expected",
    [
        ({"type": "multiplechoice", "choices": ["a", "b"], "default": "c"}, "not among the choices"),
        ({"type": "text", "min": 1, "max": 3, "default": "toolong"}, "outside"),
        ({"type": "integer", "min": 1, "max": 3, "default": 7}, "outside"),
        ({"type": "text", "min": 5, "max": 3, "default": ""}, "min 5 > max 3"),
    ],
)
def test_semantic_rules_catch_bad_specs(question, expected):
    survey = {"name": "n", "description": "", "spec": [{"question_name": "q", "variable": "v", "required": False, **question}]}
    assert any(expected in e for e in semantic_errors(survey))


def test_secrets_are_password_questions():
    for t in TEMPLATES:
        for q in t["survey_spec"]["spec"]:
            if q["variable"] in SECRET_VARIABLES:
                assert q["type"] == "password" and q.get("default", "") == "", (t["name"], q["variable"])


def test_undeploy_and_purge_need_confirmation():
    (undeploy,) = [t for t in TEMPLATES if t["playbook"] == "playbooks/undeploy.yml"]
    spec = {q["variable"]: q for q in undeploy["survey_spec"]["spec"]}
    assert spec["mlflow_confirm_undeploy"]["required"] is True
    assert spec["mlflow_confirm_undeploy"]["default"] == ""
    assert spec["mlflow_purge"]["default"] == "false"
    assert "mlflow_confirm_purge" in spec


def test_restore_needs_confirmation():
    (restore,) = [t for t in TEMPLATES if t["playbook"] == "playbooks/restore.yml"]
    spec = {q["variable"]: q for q in restore["survey_spec"]["spec"]}
    assert spec["mlflow_tracking_confirm_restore"]["required"] is True
    assert spec["mlflow_tracking_confirm_restore"]["default"] == ""
    assert spec["mlflow_tracking_restore_backup"]["default"] == ""


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_survey_variables_are_in_the_role_argument_specs(template):
    specs = argument_specs()
    if not specs:
        pytest.fail("no roles/*/meta/argument_specs.yml")
    entry = ENTRY_POINTS[template["playbook"]]
    assert all(e in specs for e in entry), f"entry points {entry} missing from argument_specs"
    options = {k: v for e in entry for k, v in (specs[e].get("options") or {}).items()}
    missing = [q["variable"] for q in template["survey_spec"]["spec"] if q["variable"] not in options]
    assert not missing, f"survey variables not in argument_specs[{entry}]: {missing}"
    for q in template["survey_spec"]["spec"]:
        opt = options[q["variable"]]
        choices = q.get("choices") or []
        if q["type"] == "multiplechoice" and set(choices) <= {"true", "false"}:
            # "true"/"false" answers: the role must take them as booleans
            assert opt.get("type") == "bool", f"{q['variable']} should be type bool in argument_specs"
        elif q["type"] == "multiplechoice" and opt.get("choices"):
            assert set(choices) <= set(opt["choices"]), f"{q['variable']}: {choices} vs {opt['choices']}"
        elif q["type"] in ("text", "textarea") and opt.get("type") == "list":
            # a list variable must take a string answer: argspec `list` would split on
            # commas only and `elements: dict` would reject the names
            assert opt.get("elements") in (None, "str", "raw"), f"{q['variable']}: a text answer cannot become {opt}"


def test_survey_playbooks_exist():
    missing = [t["playbook"] for t in TEMPLATES if not (REPO / t["playbook"]).exists()]
    assert not missing
