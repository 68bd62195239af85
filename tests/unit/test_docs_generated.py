"""The variable tables of the docs are generated from the argument specs, and the specs agree
with defaults/main.yml (docs/generate.py, `make docs`).

Over every role with argument specs (roles/*/meta/argument_specs.yml):
* every generated block is what docs/generate.py writes now;
* every option of a role is a row of a generated table in the role's README.md and in
  docs/USER_GUIDE.md;
* every variable of a role's defaults/main.yml is an option of one of its entry points, and
  every option whose variable has a default (in the role's defaults/main.yml or in those of
  the roles it depends on, meta/main.yml) declares that same value as `default:`.
The second half works on synthetic repositories: the generator over several roles.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
SPECS = gen.load_specs(REPO)
ROLES_WITH_DIRS = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())


def _row_names(text: str, path) -> set[str]:
    """Names in the first column of the generated tables of a document."""
    names = set()
    for _role, start, end in gen.find_blocks(text, str(path)):
        for line in text[start:end].splitlines():
            if m := re.match(r"^\| `([^`]+)`", line):
                names.add(m.group(1))
    return names


def _defaults(role: str) -> dict:
    for name in ("main.yml", "main.yaml"):
        path = REPO / "roles" / role / "defaults" / name
        if path.is_file():
            return yaml.safe_load(path.read_text()) or {}
    return {}


SHARED_ROLE = "mlflow"


def _dependencies(role: str) -> list[str]:
    path = REPO / "roles" / role / "meta" / "main.yml"
    meta = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    names = []
    for dep in meta.get("dependencies") or []:
        name = dep if isinstance(dep, str) else dep.get("role") or dep.get("name") or ""
        name = name.rsplit(".", 1)[-1]  # csc.mlflow.mlflow -> mlflow
        if (REPO / "roles" / name).is_dir():
            names.append(name)
    return names


def _visible_defaults(role: str, seen=None) -> dict:
    """The role's defaults over those of the roles it depends on (as Ansible layers them) and of
    the shared role csc.mlflow.mlflow, which the playbooks include (public) before the service roles."""
    seen = seen or set()
    seen.add(role)
    merged = dict(_defaults(SHARED_ROLE)) if role != SHARED_ROLE else {}
    for dep in _dependencies(role):
        if dep not in seen:
            merged.update(_visible_defaults(dep, seen))
    merged.update(_defaults(role))
    return merged


def test_there_are_specs():
    assert "mlflow" in SPECS, "roles/mlflow/meta/argument_specs.yml is missing or empty"


def test_generated_blocks_are_current():
    rendered = gen.render_all(REPO)
    stale = {rel: (cur, new) for rel, (cur, new) in rendered.items() if cur != new}
    if stale:
        diff = []
        for rel, (cur, new) in stale.items():
            diff += list(difflib.unified_diff(cur.splitlines(), new.splitlines(), f"{rel} (now)",
                                              f"{rel} (generated)", n=1, lineterm=""))
        shown = "\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else "")
        pytest.fail(f"the generated variable tables of {', '.join(map(str, stale))} differ from "
                    f"the argument specs: run `make docs` and commit the result.\n{shown}")


@pytest.mark.parametrize("role", sorted(SPECS))
def test_every_option_is_in_a_generated_table(role):
    names = gen.option_names(SPECS[role])
    for rel in (Path("roles") / role / "README.md", gen.USER_GUIDE):
        path = REPO / rel
        text = path.read_text() if path.exists() else ""
        missing = [n for n in names if n not in _row_names(text, rel)]
        assert not missing, (f"{rel}: options of role {role} in no generated table: {missing} "
                             "(run `make docs`)")


@pytest.mark.parametrize("role", ROLES_WITH_DIRS)
def test_every_default_has_an_argument_spec(role):
    options = set(gen.option_names(SPECS.get(role, {})))
    missing = sorted(set(_defaults(role)) - options)
    assert not missing, (f"roles/{role}/defaults/main.yml sets {missing}, which no entry point of "
                         f"roles/{role}/meta/argument_specs.yml declares (document them there)")


@pytest.mark.parametrize("role", sorted(SPECS))
def test_argument_spec_defaults_are_the_defaults(role):
    defaults = _visible_defaults(role)
    problems: dict[str, list[str]] = {}  # problem -> entry points (a shared option: one line)
    for entry_name, entry in SPECS[role].items():
        for name, option in gen.entry_options(entry).items():
            option = option or {}
            if "default" in option:
                if name not in defaults:
                    problem = (f"{name}: has default {option['default']!r} but is not in "
                               f"roles/{role}/defaults/main.yml (nor in a dependency's)")
                elif option["default"] != defaults[name]:
                    problem = (f"{name}: default {option['default']!r} in the spec, "
                               f"{defaults[name]!r} in defaults/main.yml")
                else:
                    continue
            elif name in defaults and not option.get("required"):
                problem = f"{name}: no `default:` in the spec, {defaults[name]!r} in defaults/main.yml"
            else:
                continue
            problems.setdefault(problem, []).append(entry_name)
    assert not problems, f"roles/{role}: argument specs and defaults disagree:\n" + "\n".join(
        f"{problem} (entry points {', '.join(entries)})" for problem, entries in problems.items())


# --------------------------------------------------------------------------------------------
# The generator itself


@pytest.mark.parametrize("markup, markdown", [
    ("C(a|b) and I(it), B(bold)", r"`a\|b` and *it*, **bold**"),
    ("V(x) O(opt=val) O(ignore:other) E(HOME) RV(rc)", "`x` `opt=val` `other` `HOME` `rc`"),
    ("L(the site, https://example.org) or U(https://a3s.fi)",
     "[the site](https://example.org) or [https://a3s.fi](https://a3s.fi)"),
    ("Secret <app>-users, a *star*, _under_ and a_b", r"Secret &lt;app>-users, a \*star\*, \_under\_ and a_b"),
    ("V(a\\)b) then C(open", "`a)b` then C(open"),
])
def test_markup(markup, markdown):
    assert gen.description(markup) == markdown


def test_description_list_and_whitespace():
    assert gen.description(["One\n  line.", "Two."]) == "One line. Two."


@pytest.mark.parametrize("value, cell", [
    ("", '`""`'),
    ("0", '`"0"`'),
    ("mlflow", "`mlflow`"),
    ([{"name": "mlflow"}], "`[{name: mlflow}]`"),
    ({"requests": {"cpu": "1", "memory": "1Gi"}}, '`{requests: {cpu: "1", memory: 1Gi}}`'),
    ("ghcr.io/x:v{{ v }}", "`ghcr.io/x:v{{ v }}`"),
    ({"a": "x, y", "b": None, "c": "yes"}, '`{a: "x, y", b: null, c: "yes"}`'),
    (False, "`false`"),
    ([], "`[]`"),
])
def test_default_cell(value, cell):
    assert gen.default_cell(value) == cell
    assert yaml.safe_load(cell.strip("`").replace("\\|", "|")) == value


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


SHARED_SPEC = """
    argument_specs:
      main:
        short_description: Deploy.
        options: &main_options
          <<: &target
            app_name: {type: str, default: app, description: The name.}
          size:
            type: dict
            description: The size.
            options:
              cpu: {type: str, default: "1", description: CPUs.}
      other:
        short_description: The same.
        options:
          <<: *main_options
      remove:
        short_description: Remove.
        options:
          <<: *target
          purge: {type: bool, default: false, required: false, description: Also the data.}
"""
EXTRA_SPEC = """
    argument_specs:
      main:
        short_description: Extra.
        options:
          app_name: {type: str, default: app, description: The name.}
          token: {type: str, required: true, no_log: true, description: A C(token).}
          mode: {type: str, choices: [a, b], default: a, description: The mode.}
"""
GUIDE = """
    # Guide

    ## Variables

    ### Role `csc.mlflow.shared`

    <!-- BEGIN GENERATED: variables of shared -->
    <!-- END GENERATED: variables of shared -->

    Prose about shared.

    ## Next section
"""


def test_several_roles(tmp_path):
    repo = _repo(tmp_path, {
        "roles/shared/meta/argument_specs.yml": SHARED_SPEC,
        "roles/shared/README.md": "# Shared\n\n## Variables\n\n"
                                  "<!-- BEGIN GENERATED: variables of shared -->\n"
                                  "<!-- END GENERATED: variables of shared -->\n\nAfter.\n",
        "roles/sub/meta/argument_specs.yml": EXTRA_SPEC,
        "roles/nospec/tasks/main.yml": "---\n[]\n",
        "docs/USER_GUIDE.md": GUIDE,
    })
    assert list(gen.load_specs(repo)) == ["shared", "sub"]
    rendered = gen.render_all(repo)
    assert set(rendered) == {Path("roles/shared/README.md"), Path("roles/sub/README.md"), gen.USER_GUIDE}

    shared = rendered[Path("roles/shared/README.md")][1]
    assert "### Entry point `main`" in shared and shared.endswith("\nAfter.\n")
    assert "| `size.cpu` | str | `\"1\"` |  | no | CPUs. |" in shared          # suboptions flattened
    assert "Takes the same variables as `main`." in shared                     # merged <<: *main_options
    assert "Also takes `app_name` (described under `main`)." in shared          # merged <<: *target
    assert shared.count("| `app_name` |") == 1

    # a README without a block gets one; it is created when missing
    sub = rendered[Path("roles/sub/README.md")][1]
    assert sub.startswith("# Role `csc.mlflow.sub`\n\n## Variables\n\n<!-- BEGIN GENERATED: variables of sub -->")
    assert "| `token` | str, no_log |  |  | yes | A `token`. |" in sub
    assert "| `mode` | str | `a` | `a`, `b` | no | The mode. |" in sub
    assert "| `app_name` |" in sub                                               # its own README: complete

    # the guide describes each option once over all roles; the missing role gets a section
    # after the last role's section, with headings one level below the section's
    guide = rendered[gen.USER_GUIDE][1]
    assert guide.count("| `app_name` |") == 1
    assert "Also takes `app_name` (described under role `csc.mlflow.shared`)." in guide
    assert "#### Entry point `main`" in guide
    assert guide.index("Prose about shared.") < guide.index("### Role `csc.mlflow.sub`") < guide.index("## Next")

    # writing it all and rendering again changes nothing
    for rel, (_current, new) in rendered.items():
        (repo / rel).write_text(new)
    assert all(cur == new for cur, new in gen.render_all(repo).values())


def test_block_errors(tmp_path):
    repo = _repo(tmp_path, {
        "roles/shared/meta/argument_specs.yml": SHARED_SPEC,
        "roles/shared/README.md": "<!-- BEGIN GENERATED: variables of shared -->\n",
        "docs/USER_GUIDE.md": GUIDE,
    })
    with pytest.raises(gen.DocsError, match="has no `<!-- END GENERATED: variables of shared -->`"):
        gen.render_all(repo)
    (repo / "roles/shared/README.md").write_text("<!-- BEGIN GENERATED: variables of gone -->\n"
                                                 "<!-- END GENERATED: variables of gone -->\n")
    with pytest.raises(gen.DocsError, match="gone, which has no argument specs"):
        gen.render_all(repo)
