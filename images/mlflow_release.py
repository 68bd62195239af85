"""Move the collection to a new MLflow release: ``make mlflow-release VERSION=X.Y.Z``.

In order, BEFORE any file is changed (any failure: exit 1, nothing changed):

1. the version is a final release ``X.Y.Z``, newer than the default (``mlflow_version`` in
   roles/mlflow/defaults/main.yml);
2. the image ``ghcr.io/mlflow/mlflow:vX.Y.Z-full`` is published: the registry's OCI distribution API
   (``HEAD /v2/mlflow/mlflow/manifests/vX.Y.Z-full``), anonymously, following the registry's
   ``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` challenge. A 404 refuses; a registry that
   cannot be reached, or answers anything else, refuses too ("could not verify: ..."): never assumed published;
3. ``mlflow==X.Y.Z`` and ``mlflow-skinny==X.Y.Z`` are on the package index (``pip download --no-deps``), and their
   wheel METADATA is read (the previous default's too, for the diff);
4. images/mlflow/requirements.txt is regenerated in a fresh temporary venv, as its header says (the install
   fails: refused; e.g. MLflow 3.18.0 needed an mlflow-tracing 3.18.0 the index did not have).

Then it writes: the default in roles/mlflow/defaults/main.yml and roles/mlflow/meta/argument_specs.yml,
``ARG MLFLOW_VERSION`` of images/mlflow/Containerfile, images/mlflow/requirements.txt, and the MLflow record of
images/contracts.yml (key, ``source.ref``/``url``, ``python_packages`` from the new wheel's METADATA, and a
``review`` field naming what was copied from the previous record unread), printing a diff of each; it runs
``make docs`` and ``make golden``, lists the files that still name the previous version, and runs the checks
that prove the contract (``--skip-checks``: not): tests/cluster/test_contracts.py and this script's unit tests,
the render-and-logic tier (``pytest -m "not cluster and not stack"``), then ``make stack-tools`` (a venv from
the new requirements.txt) and the running-stack tier (``pytest -m stack``). ``--dry-run`` does steps 1-4 and
prints the diffs, and writes nothing.

Standard library and PyYAML only. Registry: ``--registry`` or ``$CSC_MLFLOW_IMAGE_REGISTRY`` (default
https://ghcr.io; the tests point it at a local registry). docs/MAINTAINING.md tells the whole procedure.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import email.parser
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = Path("roles/mlflow/defaults/main.yml")
SPECS = Path("roles/mlflow/meta/argument_specs.yml")
CONTAINERFILE = Path("images/mlflow/Containerfile")
REQUIREMENTS = Path("images/mlflow/requirements.txt")
CONTRACTS = Path("images/contracts.yml")

REGISTRY_ENV = "CSC_MLFLOW_IMAGE_REGISTRY"
DEFAULT_REGISTRY = "https://ghcr.io"
IMAGE_HOST = "ghcr.io"
IMAGE_REPOSITORY = "mlflow/mlflow"
# The extras docker/Dockerfile.full installs (`pip install mlflow[extras,azure,db,gateway,genai,auth]`).
IMAGE_EXTRAS = ("extras", "azure", "db", "gateway", "genai", "auth")
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT = 20.0
VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# The running-stack tier needs the test cluster too; the `cluster` fixture starts one when none answers.
CHECKS = (
    ("the image records and this script", ["{python}", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                           "tests/cluster/test_contracts.py", "tests/unit/test_mlflow_release.py"]),
    ("render and logic (tier 1)", ["{python}", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                   "-m", "not cluster and not stack"]),
    ("the stack tools, with a venv from the new requirements.txt", ["make", "--no-print-directory", "stack-tools"]),
    ("the running stack (tier 3)", ["{python}", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "stack",
                                    "--durations=10"]),
)


class ReleaseError(Exception):
    """The release cannot be made (nothing has been changed when this is raised before the writes)."""


class Unverifiable(ReleaseError):
    """The registry could not say whether the image is published."""


# --------------------------------------------------------------------------------------------
# Versions


def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a final release X.Y.Z; ReleaseError otherwise (pre-releases, a leading v...)."""
    match = VERSION_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ReleaseError(f"{text!r} is not a release version like 3.18.0 (X.Y.Z: no 'v', no pre-release)")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def check_new_version(new: str, current: str) -> None:
    """ReleaseError unless `new` is a release newer than the current default."""
    if parse_version(new) == parse_version(current):
        raise ReleaseError(f"MLflow {new} is the default already (roles/mlflow/defaults/main.yml)")
    if parse_version(new) < parse_version(current):
        raise ReleaseError(f"MLflow {new} is older than the default {current}: this command only moves forward")


def image_ref(version: str) -> str:
    return f"{IMAGE_HOST}/{IMAGE_REPOSITORY}:{image_tag(version)}"


def image_tag(version: str) -> str:
    return f"v{version}-full"


# --------------------------------------------------------------------------------------------
# The registry (OCI distribution API)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """(scheme, parameters) of a WWW-Authenticate challenge: 'Bearer realm="...",service="...",scope="..."'.

    Parameter names are lower-cased; values may be quoted strings (with backslash escapes and commas inside) or
    tokens. ReleaseError when the header has no scheme or a malformed parameter."""
    text = (header or "").strip()
    match = re.match(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+|$)", text)
    if not match:
        raise ReleaseError(f"unreadable WWW-Authenticate header {header!r}")
    scheme, rest, params = match.group(1), text[match.end():], {}
    param_re = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)')
    pos = 0
    while pos < len(rest):
        if rest[pos] in ", \t":
            pos += 1
            continue
        item = param_re.match(rest, pos)
        if not item:
            raise ReleaseError(f"unreadable WWW-Authenticate header {header!r} (at {rest[pos:]!r})")
        value = item.group(2)
        value = re.sub(r"\\(.)", r"\1", value) if value is not None else item.group(3)
        params[item.group(1).lower()] = value
        pos = item.end()
    return scheme, params


def token_url(params: Mapping[str, str], repository: str) -> str:
    """The URL to ask for an anonymous pull token, from a Bearer challenge's parameters."""
    realm = params.get("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise ReleaseError(f"the registry's Bearer challenge has no usable realm ({dict(params)!r})")
    query = []
    if params.get("service"):
        query.append(("service", params["service"]))
    query.append(("scope", params.get("scope") or f"repository:{repository}:pull"))
    sep = "&" if urllib.parse.urlsplit(realm).query else "?"
    return realm + sep + urllib.parse.urlencode(query)


def manifest_url(registry: str, repository: str, reference: str) -> str:
    return f"{registry.rstrip('/')}/v2/{repository}/manifests/{urllib.parse.quote(reference, safe='')}"


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes = b""


def http(method: str, url: str, headers: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> Response:
    """One HTTP request; an HTTP error status is a Response, not an exception; Unverifiable when no answer."""
    req = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # nosec B310: http(s) URLs of the registry
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                            resp.read() if method != "HEAD" else b"")
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read() if exc.fp else b""
        except OSError:
            body = b""
        return Response(exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unverifiable(f"could not verify: {method} {url}: {reason}") from exc


@dataclass
class ImageCheck:
    published: bool
    detail: str
    digest: str = ""


def check_image(registry: str, repository: str, reference: str,
                request: Callable[..., Response] = http) -> ImageCheck:
    """Whether the manifest `repository:reference` exists on `registry` (base URL), asked anonymously.

    404: not published. 200: published (with its digest). A Bearer challenge is answered once with an anonymous
    token from its realm. Anything else, or no answer: Unverifiable ("could not verify: ...")."""
    url = manifest_url(registry, repository, reference)
    accept = {"Accept": ", ".join(MANIFEST_TYPES)}
    resp = request("HEAD", url, accept)
    if resp.status == 401:
        challenge = resp.headers.get("www-authenticate", "")
        scheme, params = parse_challenge(challenge) if challenge else ("", {})
        if scheme.lower() != "bearer":
            raise Unverifiable(f"could not verify: {url} answered 401 without a Bearer challenge ({challenge!r})")
        tok = request("GET", token_url(params, repository), {})
        if tok.status != 200:
            raise Unverifiable(f"could not verify: the anonymous token request answered {tok.status}")
        try:
            doc = json.loads(tok.body.decode("utf-8"))
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError) as exc:
            raise Unverifiable(f"could not verify: the token endpoint answered no JSON ({exc})") from exc
        if not token:
            raise Unverifiable("could not verify: the token endpoint answered no token")
        resp = request("HEAD", url, {**accept, "Authorization": f"Bearer {token}"})
    if resp.status == 405:  # a registry without HEAD
        resp = request("GET", url, accept)
    if resp.status == 200:
        digest = resp.headers.get("docker-content-digest", "")
        kind = resp.headers.get("content-type", "?")
        return ImageCheck(True, f"published ({kind}{', ' + digest if digest else ''})", digest)
    if resp.status == 404:
        return ImageCheck(False, f"not published: {url} answered 404 (manifest unknown)")
    raise Unverifiable(f"could not verify: {url} answered {resp.status}")


# --------------------------------------------------------------------------------------------
# Wheel METADATA


@dataclass
class Metadata:
    name: str
    version: str
    requires: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)


def parse_metadata(text: str) -> Metadata:
    msg = email.parser.Parser().parsestr(text, headersonly=True)
    return Metadata(msg.get("Name", ""), msg.get("Version", ""), [str(x).strip() for x in msg.get_all("Requires-Dist") or []],
                    [str(x).strip() for x in msg.get_all("Provides-Extra") or []])


EXTRA_RE = re.compile(r"""^\s*extra\s*==\s*["']([^"']+)["']\s*$""")


def split_requirement(line: str) -> tuple[str, str | None]:
    """(requirement without its marker, the extra it belongs to or None for the core)."""
    req, _sep, marker = line.partition(";")
    match = EXTRA_RE.match(marker) if marker else None
    if marker and not match:
        return line.strip(), None  # another marker (python_version...): a core requirement with its marker
    return req.strip(), match.group(1) if match else None


def requires_by_extra(meta: Metadata) -> dict[str, list[str]]:
    """{"": core requirements, extra: its requirements}, in METADATA order."""
    out: dict[str, list[str]] = {}
    for line in meta.requires:
        req, extra = split_requirement(line)
        out.setdefault(extra or "", []).append(req)
    return out


def requirement_name(req: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else req


def metadata_diff(old: Metadata, new: Metadata) -> list[str]:
    """Lines '- req' / '+ req' (with '; extra == ...') between two METADATA, sorted by name; extras too."""
    lines = []
    gone, added = set(old.requires) - set(new.requires), set(new.requires) - set(old.requires)
    for req in sorted(gone | added, key=lambda r: (requirement_name(r), r in added)):
        lines.append(("+ " if req in added else "- ") + req)
    for extra in sorted(set(old.extras) ^ set(new.extras)):
        lines.append(("+ " if extra in new.extras else "- ") + f"extra [{extra}]")
    return lines


def wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(names) != 1:
            raise ReleaseError(f"{wheel.name}: no single .dist-info/METADATA")
        return archive.read(names[0]).decode("utf-8")


# --------------------------------------------------------------------------------------------
# The files (pure: text in, text out)


def current_default(defaults_text: str) -> str:
    found = re.findall(r"""^mlflow_version:[ \t]*["']?([^"'\s#]+)["']?[ \t]*(?:#.*)?$""", defaults_text, re.M)
    if len(found) != 1:
        raise ReleaseError(f"{DEFAULTS}: expected one `mlflow_version:` line, found {len(found)}")
    return found[0]


def update_defaults(text: str, old: str, new: str) -> str:
    pattern = re.compile(r"""^(mlflow_version:[ \t]*["']?)""" + re.escape(old) + r"""(["']?[ \t]*(?:#.*)?)$""", re.M)
    out, count = pattern.subn(lambda m: m.group(1) + new + m.group(2), text)
    if count != 1:
        raise ReleaseError(f"{DEFAULTS}: `mlflow_version: \"{old}\"` found {count} times, expected once")
    return out


def update_spec_default(text: str, old: str, new: str, option: str = "mlflow_version") -> str:
    """Every `default: old` of `option` in an argument spec file (the line right in the option's block)."""
    lines, count, option_indent = text.splitlines(keepends=True), 0, None
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip():
            continue
        if re.match(rf"\s*{re.escape(option)}:\s*$", line):
            option_indent = indent
            continue
        if option_indent is not None and indent <= option_indent:
            option_indent = None
        if option_indent is not None and indent == option_indent + 2:
            match = re.match(r"""(\s*default:\s*["']?)""" + re.escape(old) + r"""(["']?\s*)$""", line)
            if match:
                lines[i] = match.group(1) + new + match.group(2)
                count += 1
    if not count:
        raise ReleaseError(f"{SPECS}: no `default: {old}` in an option `{option}`")
    return "".join(lines)


def update_containerfile(text: str, old: str, new: str) -> str:
    out, count = re.subn(r"^(ARG MLFLOW_VERSION=)" + re.escape(old) + r"[ \t]*$", lambda m: m.group(1) + new, text,
                         flags=re.M)
    if count != 1:
        raise ReleaseError(f"{CONTAINERFILE}: `ARG MLFLOW_VERSION={old}` found {count} times, expected once")
    return out


# --- images/mlflow/requirements.txt


def split_requirements(text: str) -> tuple[list[str], list[str]]:
    """(the header's comment lines, the pinned lines) of requirements.txt."""
    lines = text.splitlines()
    cut = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), len(lines))
    return lines[:cut], [line for line in lines[cut:] if line.strip()]


def install_command(header: Sequence[str]) -> tuple[str, list[str]]:
    """(python, packages) of the header's `pythonX.Y -m venv ... && .../pip install PKG...` line."""
    for line in header:
        match = re.match(r"#\s*(python[0-9.]*)\s+-m\s+venv\s+\S+\s*&&\s*\S*pip\s+install\s+(.+)$", line)
        if match:
            return match.group(1), shlex.split(match.group(2))
    raise ReleaseError(f"{REQUIREMENTS}: the header has no `pythonX.Y -m venv DIR && DIR/bin/pip install ...` line")


def with_version(packages: Iterable[str], new: str) -> list[str]:
    """The install list with mlflow pinned to `new` (mlflow==old -> mlflow==new; a bare mlflow too)."""
    out, seen = [], False
    for pkg in packages:
        if requirement_name(pkg) == "mlflow":
            pkg, seen = f"mlflow=={new}", True
        out.append(pkg)
    if not seen:
        raise ReleaseError(f"{REQUIREMENTS}: the header's install command installs no mlflow")
    return out


def new_requirements(text: str, old: str, new: str, freeze: str) -> str:
    """requirements.txt for `new`: the header with the version replaced (`# Note:` lines about one release
    dropped), then `pip freeze`'s lines. ReleaseError when the freeze lacks mlflow==new or mlflow-skinny==new."""
    header, _pins = split_requirements(text)
    pins = [line.strip() for line in freeze.splitlines() if line.strip() and not line.startswith("#")]  # pip's order
    for name in ("mlflow", "mlflow-skinny"):
        if f"{name}=={new}" not in pins:
            raise ReleaseError(f"the fresh venv has no {name}=={new} (pip freeze)")
    kept = [line.replace(old, new) for line in header if not line.startswith("# Note:")]
    return "\n".join(kept + pins) + "\n"


def pin_changes(old_text: str, new_text: str) -> list[str]:
    """'name: a -> b' / '+ name==b' / '- name==a' between two pinned lists."""
    def pins(text):
        return {requirement_name(p): p.partition("==")[2] for p in split_requirements(text)[1]}
    before, after = pins(old_text), pins(new_text)
    out = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            out.append(f"- {name}=={before[name]}")
        elif name not in before:
            out.append(f"+ {name}=={after[name]}")
        elif before[name] != after[name]:
            out.append(f"  {name}: {before[name]} -> {after[name]}")
    return out


# --- images/contracts.yml


def _flow_item(req: str) -> str:
    return req if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", req) else json.dumps(req)


def python_packages(meta: Metadata) -> dict[str, object]:
    """The record's python_packages from the mlflow wheel's METADATA: the image's extras, the core's SQLAlchemy."""
    by_extra = requires_by_extra(meta)
    missing = [e for e in IMAGE_EXTRAS if e not in by_extra]
    if missing:
        raise ReleaseError(f"mlflow {meta.version}'s METADATA has no extra {', '.join(missing)} (docker/Dockerfile.full "
                           f"installs [{','.join(IMAGE_EXTRAS)}]): read the new Dockerfile.full")
    out: dict[str, object] = {"db": by_extra["db"], "extras": by_extra["extras"]}
    if by_extra["gateway"] == by_extra["genai"]:
        out["gateway_genai"] = by_extra["gateway"]
    else:
        out["gateway"], out["genai"] = by_extra["gateway"], by_extra["genai"]
    for extra in IMAGE_EXTRAS:
        if extra not in ("db", "extras", "gateway", "genai"):
            out[extra] = by_extra[extra]
    sqlalchemy = [r for r in by_extra.get("", []) if requirement_name(r) == "sqlalchemy"]
    out["core_sqlalchemy"] = sqlalchemy[0] if sqlalchemy else "(none)"
    return out


def python_packages_lines(packages: Mapping[str, object], version: str, old_lines: Sequence[str] = ()) -> list[str]:
    """The `python_packages:` block (indent 4); a key whose value is unchanged keeps its old line (and comment)."""
    old_by_key = {}
    for line in old_lines[1:]:
        match = re.match(r"      ([a-z_]+):\s*(.*?)\s*(#.*)?$", line)
        if match:
            try:
                old_by_key[match.group(1)] = (yaml.safe_load(match.group(2)), line)
            except yaml.YAMLError:
                continue
    lines = [f"    python_packages:   # from mlflow {version} / mlflow-skinny {version} wheel METADATA (PyPI), extras "
             f"[{','.join(IMAGE_EXTRAS)}]"]
    for key, value in packages.items():
        old = old_by_key.get(key)
        if old and old[0] == value:
            lines.append(old[1])
        elif isinstance(value, list):
            lines.append(f"      {key}: [{', '.join(_flow_item(v) for v in value)}]")
        else:
            lines.append(f"      {key}: {json.dumps(value)}")
    return lines


def _record_span(lines: Sequence[str], key: str) -> tuple[int, int]:
    starts = [i for i, line in enumerate(lines) if line.rstrip() == f"  {key}:"]
    if len(starts) != 1:
        raise ReleaseError(f"{CONTRACTS}: record `{key}` found {len(starts)} times, expected once")
    end = starts[0] + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith("   ")):
        end += 1
    while lines[end - 1].strip() == "":
        end -= 1
    return starts[0], end


def _field_span(lines: Sequence[str], start: int, end: int, name: str, indent: int = 4) -> tuple[int, int] | None:
    pad = " " * indent
    for i in range(start, end):
        if lines[i].startswith(f"{pad}{name}:"):
            j = i + 1
            while j < end and (lines[j].startswith(pad + " ") or not lines[j].strip()):
                j += 1
            return i, j
    return None


def review_lines(old: str, new: str, today: str) -> list[str]:
    return [
        "    review: >-",
        f"      Written by images/mlflow_release.py on {today} from the v{old}-full record: key, source.ref/url and",
        f"      python_packages (mlflow {new} wheel METADATA) are {new}'s; base, user, group, entrypoint, cmd, workdir,",
        "      ports, env, reads_env, writable, read_only_root_filesystem, tools, published and notes were COPIED",
        f"      unread. Read docker/Dockerfile.full and the push-images workflow at the v{new} tag and the code the",
        "      collection relies on (server env variables, paths written), correct the fields, then delete this field.",
    ]


def update_contracts(text: str, old: str, new: str, meta: Metadata, today: str) -> str:
    """The MLflow record of images/contracts.yml moved from `old` to `new` (text edit: comments stay)."""
    lines = text.splitlines()
    start, end = _record_span(lines, image_ref(old))
    record = lines[start:end]
    record[0] = f"  {image_ref(new)}:"
    for name, value in (("ref", f"v{new}   # the release tag; its commit was not resolved here (see review)"),
                        ("url", f"https://github.com/{IMAGE_REPOSITORY}/blob/v{new}/docker/Dockerfile.full")):
        span = _field_span(record, 0, len(record), name, indent=6)
        if not span:
            raise ReleaseError(f"{CONTRACTS}: record `{image_ref(old)}` has no source.{name}")
        record[span[0]:span[1]] = [f"      {name}: {value}"]
    span = _field_span(record, 0, len(record), "python_packages")
    block = python_packages_lines(python_packages(meta), new, record[span[0]:span[1]] if span else ())
    if span:
        record[span[0]:span[1]] = block
    else:
        record += block
    span = _field_span(record, 0, len(record), "review")
    if span:
        del record[span[0]:span[1]]
    while record and not record[-1].strip():
        record.pop()
    record += review_lines(old, new, today)
    out = "\n".join(lines[:start] + record + lines[end:])
    return out + ("\n" if text.endswith("\n") else "")


def unified(path: Path, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        f"a/{path}", f"b/{path}", n=1))


def leftovers(grep_output: str, old: str) -> list[str]:
    """`git grep -n -F old` lines worth a look: not the golden files, lock lists or a changelog."""
    skip = ("tests/render/golden/", "changelogs/", "images/mlflow/requirements.txt:", "images/contracts.yml:")
    version = re.compile(r"(?<![\d.])" + re.escape(old) + r"(?![\d])")  # 3.17.1, not 3.17.10
    return [line for line in grep_output.splitlines()
            if line and not line.startswith(skip) and version.search(line.split(":", 2)[-1])]


# --------------------------------------------------------------------------------------------
# What runs (pip, make, pytest)


def run(cmd: Sequence[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=False, text=True, capture_output=True, **kw)


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def download_wheels(pip: Sequence[str], version: str, dest: Path) -> dict[str, Metadata]:
    """{name: Metadata} of mlflow and mlflow-skinny `version`, downloaded without dependencies."""
    out = {}
    for name in ("mlflow", "mlflow-skinny"):
        res = run([*pip, "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(dest), f"{name}=={version}"])
        if res.returncode != 0:
            raise ReleaseError(f"{name}=={version} is not on the package index here:\n{tail(res.stdout + res.stderr)}")
        prefix = name.replace("-", "_") + f"-{version}-"
        wheels = [w for w in dest.glob("*.whl") if w.name.startswith(prefix)]
        if len(wheels) != 1:
            raise ReleaseError(f"{name}=={version}: no single wheel downloaded ({[w.name for w in wheels]})")
        out[name] = parse_metadata(wheel_metadata(wheels[0]))
    return out


def fresh_freeze(python: str, packages: Sequence[str], workdir: Path) -> str:
    """`pip freeze` of a fresh venv of `python` with `packages` (as requirements.txt's header says)."""
    venv = workdir / "venv"
    res = run([python, "-m", "venv", str(venv)])
    if res.returncode != 0:
        raise ReleaseError(f"{python} -m venv failed (is {python} installed?):\n{tail(res.stdout + res.stderr)}")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    res = run([*pip, "install", "-q", *packages])
    if res.returncode != 0:
        raise ReleaseError(f"`pip install {' '.join(packages)}` fails here:\n{tail(res.stdout + res.stderr)}")
    res = run([*pip, "freeze", "--all", "--exclude", "pip", "--exclude", "setuptools", "--exclude", "wheel"])
    if res.returncode != 0:
        raise ReleaseError(f"pip freeze failed:\n{tail(res.stdout + res.stderr)}")
    return res.stdout


@dataclass
class Plan:
    old: str
    new: str
    image: ImageCheck
    metadata_diff: list[str]
    files: dict[Path, tuple[str, str]]  # path -> (before, after)
    pins: list[str]


def prepare(version: str, registry: str, repo: Path = REPO, python: str | None = None,
            log: Callable[[str], None] = print) -> Plan:
    """Steps 1-4: every check, and the new text of every file; nothing is written."""
    parse_version(version)
    texts = {p: (repo / p).read_text(encoding="utf-8") for p in (DEFAULTS, SPECS, CONTAINERFILE, REQUIREMENTS, CONTRACTS)}
    old = current_default(texts[DEFAULTS])
    check_new_version(version, old)
    log(f"[1/4] MLflow {old} (the default) -> {version}")

    log(f"[2/4] is {image_ref(version)} published? asking {registry}")
    image = check_image(registry, IMAGE_REPOSITORY, image_tag(version))
    if not image.published:
        raise ReleaseError(f"{image_ref(version)} is {image.detail}: refused (the default must be an image that exists)")
    log(f"      {image.detail}")

    log(f"[3/4] mlflow=={version} and mlflow-skinny=={version} on the package index")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    with tempfile.TemporaryDirectory(prefix="mlflow-release-") as tmp:
        new_meta = download_wheels(pip, version, Path(tmp) / "new")
        try:
            old_meta = download_wheels(pip, old, Path(tmp) / "old")
            diff = [f"mlflow      {line}" for line in metadata_diff(old_meta["mlflow"], new_meta["mlflow"])]
            diff += [f"mlflow-skinny {line}" for line in metadata_diff(old_meta["mlflow-skinny"], new_meta["mlflow-skinny"])]
        except ReleaseError as exc:
            diff = [f"(no diff: the previous default's wheels could not be read: {exc})"]

        header, _pins = split_requirements(texts[REQUIREMENTS])
        venv_python, packages = install_command(header)
        packages = with_version(packages, version)
        log(f"[4/4] a fresh venv: {python or venv_python} -m pip install {' '.join(packages)}")
        freeze = fresh_freeze(python or venv_python, packages, Path(tmp))

    today = datetime.date.today().isoformat()
    after = {
        DEFAULTS: update_defaults(texts[DEFAULTS], old, version),
        SPECS: update_spec_default(texts[SPECS], old, version),
        CONTAINERFILE: update_containerfile(texts[CONTAINERFILE], old, version),
        REQUIREMENTS: new_requirements(texts[REQUIREMENTS], old, version, freeze),
        CONTRACTS: update_contracts(texts[CONTRACTS], old, version, new_meta["mlflow"], today),
    }
    problems = validate_record(after[CONTRACTS], version)
    if problems:
        raise ReleaseError("the new image record does not load:\n" + "\n".join(problems))
    files = {p: (texts[p], after[p]) for p in after if after[p] != texts[p]}
    return Plan(old, version, image, diff, files, pin_changes(texts[REQUIREMENTS], after[REQUIREMENTS]))


def validate_record(contracts_text: str, version: str) -> list[str]:
    """Problems of the new MLflow record as YAML (tests/cluster/contracts.py checks the schema in the checks)."""
    try:
        images = (yaml.safe_load(contracts_text) or {}).get("images") or {}
    except yaml.YAMLError as exc:
        return [f"{CONTRACTS}: {exc}"]
    rec = images.get(image_ref(version))
    if not isinstance(rec, dict):
        return [f"{CONTRACTS}: no record {image_ref(version)}"]
    return [f"{CONTRACTS}: {image_ref(version)}: {k} missing" for k in ("source", "python_packages", "review")
            if k not in rec]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("version", help="the MLflow release, e.g. 3.18.0")
    parser.add_argument("--dry-run", action="store_true", help="check and show the diffs; write nothing, run nothing")
    parser.add_argument("--skip-checks", action="store_true", help="write the files but run no tests")
    parser.add_argument("--registry", default=os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY,
                        help=f"registry base URL (default ${REGISTRY_ENV} or {DEFAULT_REGISTRY})")
    parser.add_argument("--python", help="the interpreter of the fresh venv (default: the one requirements.txt names)")
    args = parser.parse_args(argv)
    me = "mlflow-release"
    try:
        plan = prepare(args.version, args.registry, python=args.python)
    except ReleaseError as exc:
        print(f"{me}: {exc}", file=sys.stderr)
        print(f"{me}: refused; nothing was changed", file=sys.stderr)
        return 1

    print(f"\nwheel METADATA, mlflow {plan.old} -> {plan.new} (Requires-Dist, Provides-Extra):")
    print("\n".join("  " + line for line in plan.metadata_diff) or "  (no change)")
    print(f"\nimages/mlflow/requirements.txt, pinned packages that change ({len(plan.pins)}):")
    print("\n".join("  " + line for line in plan.pins) or "  (none)")
    for path, (before, after) in plan.files.items():
        if path != REQUIREMENTS:
            print("\n" + unified(path, before, after), end="")
    if args.dry_run:
        print(f"\n{me}: dry run: nothing written; would run `make docs`, `make golden` and "
              + ("no checks" if args.skip_checks else "the checks: " + "; ".join(name for name, _cmd in CHECKS)))
        return 0

    for path, (_before, after) in plan.files.items():
        (REPO / path).write_text(after, encoding="utf-8")
    print(f"\nwrote {', '.join(str(p) for p in plan.files)}")
    failed = []
    for target in ("docs", "golden"):
        res = run(["make", "--no-print-directory", target], cwd=REPO)
        print(f"make {target}: {'ok' if res.returncode == 0 else 'FAILED'}")
        if res.returncode != 0:
            failed.append(f"make {target}")
            print(tail(res.stdout + res.stderr, 30))

    grep = run(["git", "grep", "-n", "-F", plan.old], cwd=REPO)
    left = leftovers(grep.stdout, plan.old)

    if not args.skip_checks:
        for name, cmd in CHECKS:
            cmd = [sys.executable if part == "{python}" else part for part in cmd]
            print(f"\n== check: {name}: {' '.join(cmd)}", flush=True)
            res = subprocess.run(cmd, cwd=REPO, check=False)
            if res.returncode != 0:
                failed.append(name)

    print(f"\n== summary: MLflow {plan.old} -> {plan.new}")
    print(f"image {image_ref(plan.new)}: {plan.image.detail}")
    print(f"files: {', '.join(str(p) for p in plan.files)}, and what `make docs` / `make golden` rewrote (git diff)")
    print(f"images/contracts.yml: the record's `review` field names what was copied unread from v{plan.old}-full: "
          "read the new Dockerfile.full, correct, delete the field")
    if left:
        print(f"still naming {plan.old} ({len(left)} lines; tests that assert the default, examples, prose):")
        print("\n".join("  " + line for line in left))
    if args.skip_checks:
        print("checks: skipped (--skip-checks)")
    else:
        print("checks: " + ("all passed" if not failed else "FAILED: " + "; ".join(failed)))
    print("then: a changelog fragment (changelogs/fragments/), docs/SECURITY.md's version floor if it moves, commit")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
