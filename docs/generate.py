"""Write the variable tables of the docs from the roles' argument specs (``make docs``).

Every public variable is documented once, in ``roles/<role>/meta/argument_specs.yml``. This
script renders those specs as Markdown tables between marker comments::

    <!-- BEGIN GENERATED: variables of <role> -->
    ...
    <!-- END GENERATED: variables of <role> -->

in every role's ``README.md`` and in ``docs/USER_GUIDE.md``. It works over whatever roles
have a spec (``roles/*/meta/argument_specs.yml``, or ``argument_specs`` in ``meta/main.yml``):

* A role's block holds one table per entry point, ``main`` first, the others in spec order.
  Within one document an option is described once: a later entry point (or, in the user
  guide, a later role, in name order) lists only the options not already described with the
  same spec, and names the others in one line. Suboptions are rows ``parent.child``.
* The headings inside a block are one level below the Markdown heading before the block.
* A role README without a block gets a ``## Variables`` section at its end (a missing README
  is created); docs/USER_GUIDE.md without a block of the role gets a ``Role`` section after
  the last role's section.

Usage::

    python docs/generate.py           # rewrite the blocks (prints the files it changed)
    python docs/generate.py --check   # change nothing; exit 1 naming the stale files

tests/unit/test_docs_generated.py runs the same functions and fails on drift.
Python standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

REPO = Path(__file__).resolve().parents[1]
COLLECTION = "csc.mlflow"
USER_GUIDE = Path("docs/USER_GUIDE.md")
COLUMNS = ("variable", "type", "default", "choices", "required", "description")

BEGIN_RE = re.compile(r"^<!-- BEGIN GENERATED: variables of (?P<role>[\w.-]+) -->[ \t]*$", re.M)
END_FMT = "<!-- END GENERATED: variables of {role} -->"
BEGIN_FMT = "<!-- BEGIN GENERATED: variables of {role} -->"
HEADING_RE = re.compile(r"^(#{1,6})\s+\S")
FENCE_RE = re.compile(r"^\s*(```|~~~)")


class DocsError(Exception):
    """The docs cannot be generated (a marker without its pair, a block of an unknown role...)."""


# --------------------------------------------------------------------------------------------
# Reading the specs


def load_yaml(path: Path) -> Any:
    """PyYAML's safe loader: anchors, aliases and merge keys (<<) resolve as in ansible-core."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def spec_path(role_dir: Path) -> Path | None:
    """The file holding the role's argument specs, as ansible-core looks for it."""
    for name in ("argument_specs.yml", "argument_specs.yaml"):
        if (role_dir / "meta" / name).is_file():
            return role_dir / "meta" / name
    for name in ("main.yml", "main.yaml"):
        path = role_dir / "meta" / name
        meta = load_yaml(path) if path.is_file() else None
        if isinstance(meta, dict) and meta.get("argument_specs"):
            return path
    return None


def load_specs(repo: Path = REPO) -> dict[str, dict[str, Any]]:
    """{role: {entry point: spec}} of every role with argument specs, roles in name order,
    entry points with ``main`` first and the rest in file order."""
    roles: dict[str, dict[str, Any]] = {}
    for role_dir in sorted(p for p in (repo / "roles").iterdir() if p.is_dir()):
        path = spec_path(role_dir)
        if path is None:
            continue
        specs = (load_yaml(path) or {}).get("argument_specs") or {}
        order = sorted(specs, key=lambda ep: ep != "main")  # stable: file order otherwise
        roles[role_dir.name] = {ep: specs[ep] or {} for ep in order}
    return roles


def entry_options(entry: Mapping[str, Any]) -> dict[str, Any]:
    return dict(entry.get("options") or {})


def suboptions(option: Mapping[str, Any]) -> dict[str, Any]:
    return dict(option.get("options") or option.get("suboptions") or {})


def option_names(role_specs: Mapping[str, Any]) -> list[str]:
    """Top-level option names of a role over all its entry points, first appearance first."""
    names: dict[str, None] = {}
    for entry in role_specs.values():
        names.update(dict.fromkeys(entry_options(entry)))
    return list(names)


# --------------------------------------------------------------------------------------------
# Ansible documentation markup -> Markdown

_MACRO_RE = re.compile(r"\b(?:(HORIZONTALLINE)\b|(RV|[BICVOEPMRLU])\()")
_ESCAPED_ARG_MACROS = {"V", "O", "RV", "E", "P"}  # semantic markup: \) and \\ escapes


def _code(text: str) -> str:
    """A code span (in a table cell: | escaped), its fence longer than any backtick run in it."""
    text = text.replace("|", "\\|")
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in re.findall("`+", text)) + 1)
    return f"{fence} {text} {fence}"


def _plain(text: str) -> str:
    """Plain description text made inert for Markdown (and safe in a table cell)."""
    text = text.replace("\\", "\\\\").replace("`", "\\`").replace("*", "\\*")
    text = text.replace("[", "\\[").replace("]", "\\]").replace("<", "&lt;").replace("|", "\\|")
    # an underscore next to a non-word character could open or close emphasis
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _option_ref(arg: str) -> str:
    """O(name), O(name=value), O(ignore:name), O(ns.coll.plugin#type:name=value) -> name[=value]."""
    if arg.startswith("ignore:"):
        arg = arg[len("ignore:"):]
    name, eq, value = arg.partition("=")
    if "#" in name:
        name = name.split("#", 1)[1].split(":", 1)[-1]
    if name.count(":") and not eq:
        name = name.rsplit(":", 1)[-1]
    return name + eq + value


def _read_arg(text: str, start: int, escapes: bool) -> tuple[str, int] | None:
    """The argument of a macro whose '(' is just before start, and the index after its ')'."""
    out = []
    i = start
    while i < len(text):
        char = text[i]
        if escapes and char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == ")":
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return None


def markup_to_markdown(text: str) -> str:
    """Convert Ansible's documentation markup (C(), I(), B(), V(), O(), E(), L(), U(), ...)."""
    out = []
    pos = 0
    for match in _MACRO_RE.finditer(text):
        if match.start() < pos:
            continue
        if match.group(1):  # HORIZONTALLINE: no rule inside a table cell
            out.append(_plain(text[pos:match.start()]) + " ")
            pos = match.end()
            continue
        macro = match.group(2)
        parsed = _read_arg(text, match.end(), macro in _ESCAPED_ARG_MACROS)
        if parsed is None:
            continue
        arg, end = parsed
        if macro in ("C", "V", "E", "M"):
            rendered = _code(arg)
        elif macro in ("O", "RV"):
            rendered = _code(_option_ref(arg))
        elif macro == "P":
            rendered = _code(arg.split("#", 1)[0])
        elif macro == "I":
            rendered = f"*{_plain(arg)}*"
        elif macro == "B":
            rendered = f"**{_plain(arg)}**"
        elif macro == "U":
            rendered = f"[{_plain(arg)}]({arg})"
        elif macro == "L":
            label, comma, url = arg.rpartition(",")
            rendered = f"[{_plain(label.strip())}]({url.strip()})" if comma and label else _plain(arg)
        else:  # R(text, reference): no anchors to point at outside the Ansible docs site
            rendered = _plain(arg.rpartition(",")[0].strip() or arg)
        out.append(_plain(text[pos:match.start()]) + rendered)
        pos = end
    out.append(_plain(text[pos:]))
    return "".join(out)


def description(value: Any) -> str:
    """A description (a string or a list of paragraphs) as one line of Markdown."""
    items = value if isinstance(value, list) else [value] if value else []
    return " ".join(markup_to_markdown(" ".join(str(item).split())) for item in items)


# --------------------------------------------------------------------------------------------
# Values as inline YAML


def _loads_as(text: str, value: Any) -> bool:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return loaded == value and type(loaded) is type(value)


def _scalar(value: Any, flow: bool) -> str:
    if isinstance(value, str):
        plain = (
            value
            and value.strip() == value
            and "\n" not in value
            and not (flow and any(c in value for c in ",[]{}"))
            and _loads_as(f"[{value}]" if flow else value, [value] if flow else value)
        )
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value)  # null, true/false, numbers


def inline_yaml(value: Any, flow: bool = False) -> str:
    """A value as one line of YAML flow style, e.g. ``[{name: mlflow}]``; ``""`` for ''."""
    if isinstance(value, Mapping):
        items = ", ".join(f"{inline_yaml(k, True)}: {inline_yaml(v, True)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inline_yaml(v, True) for v in value) + "]"
    return _scalar(value, flow)


def default_cell(value: Any) -> str:
    text = inline_yaml(value)
    if not _loads_as(text, value):  # JSON is YAML too
        text = json.dumps(value, ensure_ascii=False)
    return _code(text)


# --------------------------------------------------------------------------------------------
# Tables


def _type_cell(option: Mapping[str, Any]) -> str:
    kind = str(option.get("type", "str"))
    if option.get("elements"):
        kind = f"{kind} of {option['elements']}"
    if option.get("no_log"):
        kind += ", no_log"
    return kind


def _row(name: str, option: Mapping[str, Any]) -> str:
    cells = [_code(name)]
    aliases = option.get("aliases") or []
    if aliases:
        cells[0] += " (alias " + ", ".join(_code(a) for a in aliases) + ")"
    cells.append(_type_cell(option))
    cells.append(default_cell(option["default"]) if "default" in option else "")
    cells.append(", ".join(_code(inline_yaml(c)) for c in option.get("choices") or []))
    cells.append("yes" if option.get("required") else "no")
    cells.append(description(option.get("description")))
    return "| " + " | ".join(cells) + " |"


def _rows(options: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    for name, option in options.items():
        option = option or {}
        yield _row(prefix + name, option)
        yield from _rows(suboptions(option), prefix=f"{prefix}{name}.")


def table(options: Mapping[str, Any]) -> list[str]:
    return [
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join(["---"] * len(COLUMNS)) + " |",
        *_rows(options),
    ]


def _names(names: Iterable[str]) -> str:
    return ", ".join(_code(n) for n in names)


def render_block(role: str, role_specs: Mapping[str, Any], level: int,
                 described: dict[str, tuple[Any, str, str]]) -> str:
    """The inside of a role's block. ``described`` maps option names already described in this
    document to (spec, role, entry point); it is updated with what this block describes."""
    hashes = "#" * min(level, 6)
    lines = [
        f"<!-- Written by `make docs` (docs/generate.py) from the argument specs in roles/{role}/meta/:"
        " edit the spec, not this block. -->",
    ]
    entry_sets: dict[str, dict[str, Any]] = {}
    for entry_name, entry in role_specs.items():
        options = entry_options(entry)
        lines += ["", f"{hashes} Entry point `{entry_name}`", ""]
        summary = description(entry.get("short_description"))
        if entry.get("description"):
            # the short description is a heading-like phrase: end it before the paragraphs that follow
            lead = summary if not summary or summary.endswith((".", ":", "!", "?")) else summary + "."
            summary = (lead + " " + description(entry["description"])).strip()
        if summary:
            lines += [summary, ""]
        same_as = next((other for other, opts in entry_sets.items() if opts == options), None)
        entry_sets[entry_name] = options
        if not options:
            lines.append("No variables.")
            continue
        if same_as:
            lines.append(f"Takes the same variables as `{same_as}`.")
            continue
        new = {n: o for n, o in options.items() if n not in described or described[n][0] != o}
        elsewhere: dict[str, list[str]] = {}
        for name in options:
            if name not in new:
                where_role, where_entry = described[name][1:]
                where = f"`{where_entry}`" if where_role == role else f"role `{COLLECTION}.{where_role}`"
                elsewhere.setdefault(where, []).append(name)
        for where, names in elsewhere.items():
            lines += [f"Also takes {_names(names)} (described under {where}).", ""]
        if new:
            lines += table(new)
            for name, option in new.items():
                described.setdefault(name, (option, role, entry_name))
        elif lines[-1] == "":
            lines.pop()
    return "\n".join(lines).rstrip("\n")


# --------------------------------------------------------------------------------------------
# Documents


def _heading_levels(text: str) -> list[tuple[int, int]]:
    """(offset, level) of every Markdown heading outside fenced code blocks."""
    out = []
    fenced = False
    offset = 0
    for line in text.splitlines(keepends=True):
        if FENCE_RE.match(line):
            fenced = not fenced
        elif not fenced and (m := HEADING_RE.match(line)):
            out.append((offset, len(m.group(1))))
        offset += len(line)
    return out


def find_blocks(text: str, where: str = "") -> list[tuple[str, int, int]]:
    """(role, start of the block's content, end of it) of each generated block."""
    blocks = []
    for begin in BEGIN_RE.finditer(text):
        role = begin.group("role")
        end_marker = END_FMT.format(role=role)
        end = text.find(end_marker, begin.end())
        next_begin = BEGIN_RE.search(text, begin.end())
        if end < 0 or (next_begin and next_begin.start() < end):
            raise DocsError(f"{where}: `{begin.group(0)}` has no `{end_marker}` after it")
        blocks.append((role, begin.end(), end))
    stray = len(re.findall(r"<!-- END GENERATED: variables of ", text)) - len(blocks)
    if stray:
        raise DocsError(f"{where}: {stray} END GENERATED marker(s) without a BEGIN")
    return blocks


def _level_at(text: str, offset: int) -> int:
    levels = [level for start, level in _heading_levels(text) if start < offset]
    return (levels[-1] if levels else 1) + 1


def _ensure_block(path: Path, text: str, role: str, guide: bool) -> str:
    """The text with an empty block of the role added where a missing one belongs."""
    if any(block[0] == role for block in find_blocks(text, str(path))):
        return text
    block = f"{BEGIN_FMT.format(role=role)}\n{END_FMT.format(role=role)}\n"
    if not guide:
        return text.rstrip("\n") + ("\n\n" if text.strip() else "") + f"## Variables\n\n{block}"
    blocks = find_blocks(text, str(path))
    if not blocks:
        raise DocsError(f"{path}: no generated variables block yet; put `{BEGIN_FMT.format(role=role)}`"
                        f" and `{END_FMT.format(role=role)}` where the role's tables belong")
    last_role, last_start, last_end = blocks[-1]
    section_level = _level_at(text, last_start) - 1
    after = last_end + len(END_FMT.format(role=last_role))
    insert_at = next((start for start, level in _heading_levels(text) if start > after and level <= section_level),
                     len(text))
    section = f"{'#' * section_level} Role `{COLLECTION}.{role}`\n\n{block}\n"
    head = text[:insert_at].rstrip("\n") + "\n\n"
    return head + section + text[insert_at:]


def render_document(path: Path, text: str, specs: Mapping[str, Mapping[str, Any]]) -> str:
    """The text with every generated block rewritten from the specs."""
    blocks = find_blocks(text, str(path))
    unknown = sorted({block[0] for block in blocks} - set(specs))
    if unknown:
        raise DocsError(f"{path}: generated block(s) of {', '.join(unknown)}, which has no argument specs"
                        " (remove the block, or give the role meta/argument_specs.yml)")
    described: dict[str, tuple[Any, str, str]] = {}
    content: dict[tuple[int, int], str] = {}
    for role, start, end in sorted(blocks, key=lambda b: list(specs).index(b[0])):
        body = render_block(role, specs[role], _level_at(text, start), described)
        content[(start, end)] = f"\n{body}\n"
    out = []
    pos = 0
    for (start, end), body in sorted(content.items()):
        out += [text[pos:start], body]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def targets(specs: Mapping[str, Any]) -> list[tuple[Path, bool]]:
    """(path relative to the repository, is the user guide) of every document with tables."""
    return [(Path("roles") / role / "README.md", False) for role in specs] + [(USER_GUIDE, True)]


def render_all(repo: Path = REPO) -> dict[Path, tuple[str, str]]:
    """{path: (current text, generated text)} of every target document."""
    specs = load_specs(repo)
    result = {}
    for rel, guide in targets(specs):
        path = repo / rel
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        text = current
        if not guide and not current:
            text = f"# Role `{COLLECTION}.{rel.parent.name}`\n"
        roles = specs if guide else [rel.parent.name]
        for role in roles:
            text = _ensure_block(rel, text, role, guide)
        result[rel] = (current, render_document(rel, text, specs))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    try:
        rendered = render_all(REPO)
    except DocsError as exc:
        print(f"docs/generate.py: {exc}", file=sys.stderr)
        return 2
    stale = [rel for rel, (current, new) in rendered.items() if current != new]
    if args.check:
        for rel in stale:
            print(f"{rel}: generated variable tables are stale; run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for rel in stale:
        (REPO / rel).write_text(rendered[rel][1], encoding="utf-8")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
