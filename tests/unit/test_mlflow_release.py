"""images/mlflow_release.py (`make mlflow-release VERSION=X.Y.Z`): its decisions, and the registry check against a
local registry stand-in.

The stand-in (RegistryStandIn, below) is a small HTTP server on 127.0.0.1 that answers the two endpoints the
command uses as ghcr.io does: ``HEAD /v2/<repo>/manifests/<tag>`` asks for a Bearer token with a
``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` challenge, and ``GET /token`` hands out an anonymous
one. The CNCF distribution registry built from its Go module would be the real thing, but its cold build took
about two minutes on this 2-core machine (docs/MAINTAINING.md), too much for the test run; the client was tried
against it once by hand (same answers: 200 with a digest, 404 MANIFEST_UNKNOWN).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "images" / "mlflow_release.py"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rel = _load("mlflow_release", SCRIPT)
contracts = _load("image_contracts", REPO / "tests" / "cluster" / "contracts.py")

DIGEST = "sha256:" + "ab" * 32


# --------------------------------------------------------------------------------------------
# A registry stand-in: the manifest endpoint behind a Bearer challenge, and the token endpoint


class RegistryStandIn:
    """ghcr.io's two answers on 127.0.0.1: manifests of `tags` exist; everything else is 404 MANIFEST_UNKNOWN."""

    def __init__(self, tags=(), repository="mlflow/mlflow", token_status=200, manifest_status=None, auth=True):
        self.tags, self.repository = set(tags), repository
        self.token_status, self.manifest_status, self.auth = token_status, manifest_status, auth
        self.requests: list[tuple[str, str, dict]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def _answer(self, status, headers=None, body=b""):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):  # pylint: disable=invalid-name
                self._handle()

            def do_HEAD(self):  # pylint: disable=invalid-name
                self._handle()

            def _handle(self):
                stand_in.requests.append((self.command, self.path, dict(self.headers)))
                url = urlsplit(self.path)
                if url.path == "/token":
                    query = parse_qs(url.query)
                    ok = query.get("scope") == [f"repository:{stand_in.repository}:pull"] and query.get("service")
                    body = json.dumps({"token": "anonymous-token"}).encode() if ok else b"{}"
                    return self._answer(stand_in.token_status if ok else 400, {"Content-Type": "application/json"}, body)
                prefix = f"/v2/{stand_in.repository}/manifests/"
                if not url.path.startswith(prefix):
                    return self._answer(404)
                if stand_in.auth and self.headers.get("Authorization") != "Bearer anonymous-token":
                    realm = f"http://127.0.0.1:{stand_in.port}/token"
                    challenge = (f'Bearer realm="{realm}",service="registry.test",'
                                 f'scope="repository:{stand_in.repository}:pull"')
                    return self._answer(401, {"WWW-Authenticate": challenge}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                if stand_in.manifest_status:
                    return self._answer(stand_in.manifest_status)
                if url.path[len(prefix):] in stand_in.tags and "application/vnd.oci.image.index.v1+json" in \
                        self.headers.get("Accept", ""):
                    return self._answer(200, {"Content-Type": "application/vnd.oci.image.index.v1+json",
                                              "Docker-Content-Digest": DIGEST}, b"{}")
                return self._answer(404, {"Content-Type": "application/json"},
                                    b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def next_release() -> str:
    """The minor release after the default (3.18.0 while the default is 3.17.x)."""
    major, minor, _patch = rel.parse_version(rel.current_default((REPO / rel.DEFAULTS).read_text()))
    return f"{major}.{minor + 1}.0"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


# --------------------------------------------------------------------------------------------
# Versions


@pytest.mark.parametrize("text, parsed", [("3.18.0", (3, 18, 0)), ("10.0.12", (10, 0, 12)), (" 3.1.0 ", (3, 1, 0))])
def test_release_versions(text, parsed):
    assert rel.parse_version(text) == parsed


@pytest.mark.parametrize("text", ["v3.18.0", "3.18", "3.18.0rc0", "3.18.0.dev1", "03.1.0", "", "3.18.0-full", None])
def test_not_release_versions(text):
    with pytest.raises(rel.ReleaseError, match="not a release version"):
        rel.parse_version(text)


def test_only_forward():
    rel.check_new_version("3.18.0", "3.17.2")
    rel.check_new_version("3.17.10", "3.17.2")  # numbers, not strings
    with pytest.raises(rel.ReleaseError, match="default already"):
        rel.check_new_version("3.17.2", "3.17.2")
    with pytest.raises(rel.ReleaseError, match="older than the default"):
        rel.check_new_version("3.9.0", "3.17.2")


def test_image_reference():
    assert rel.image_ref("3.18.0") == "ghcr.io/mlflow/mlflow:v3.18.0-full"


# --------------------------------------------------------------------------------------------
# The challenge


def test_ghcr_challenge():
    scheme, params = rel.parse_challenge(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:mlflow/mlflow:pull"')
    assert scheme == "Bearer"
    assert params == {"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:mlflow/mlflow:pull"}
    assert rel.token_url(params, "mlflow/mlflow") == \
        "https://ghcr.io/token?service=ghcr.io&scope=repository%3Amlflow%2Fmlflow%3Apull"


def test_challenge_grammar():
    # spaces, upper-case names, a token value, commas and escaped quotes inside a quoted value
    scheme, params = rel.parse_challenge(
        'bearer  Realm = "https://auth.example.test/t?a=1" , service=reg.test, scope="repository:a/b:pull,push", '
        'error="x \\"y\\""')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.example.test/t?a=1", "service": "reg.test",
                      "scope": "repository:a/b:pull,push", "error": 'x "y"'}
    # a realm with a query keeps it; no scope: pull of the repository asked
    assert rel.token_url({"realm": "https://auth.example.test/t?a=1"}, "mlflow/mlflow") == \
        "https://auth.example.test/t?a=1&scope=repository%3Amlflow%2Fmlflow%3Apull"
    assert rel.parse_challenge("Basic") == ("Basic", {})


@pytest.mark.parametrize("header", ["", '"Bearer"', 'Bearer realm="unterminated', "Bearer =x"])
def test_unreadable_challenges(header):
    with pytest.raises(rel.ReleaseError, match="unreadable WWW-Authenticate"):
        rel.parse_challenge(header)


@pytest.mark.parametrize("params", [{}, {"realm": "ftp://x/token"}, {"realm": "/token"}])
def test_challenge_without_a_usable_realm(params):
    with pytest.raises(rel.ReleaseError, match="no usable realm"):
        rel.token_url(params, "mlflow/mlflow")


# --------------------------------------------------------------------------------------------
# The registry


def test_a_published_image_after_the_challenge():
    with RegistryStandIn(tags={"v3.18.0-full"}) as reg:
        found = rel.check_image(reg.url, "mlflow/mlflow", "v3.18.0-full")
    assert found.published and found.digest == DIGEST and "image.index" in found.detail
    (m1, p1, h1), (m2, p2, _h2), (m3, p3, h3) = reg.requests
    assert (m1, p1) == ("HEAD", "/v2/mlflow/mlflow/manifests/v3.18.0-full") and "Authorization" not in h1
    assert (m2, p2) == ("GET", "/token?service=registry.test&scope=repository%3Amlflow%2Fmlflow%3Apull")
    assert (m3, p3) == ("HEAD", p1) and h3["Authorization"] == "Bearer anonymous-token"
    assert all(t in h1["Accept"] for t in rel.MANIFEST_TYPES)  # OCI index and manifest, Docker list and manifest


def test_a_missing_image_is_not_published():
    with RegistryStandIn(tags={"v3.17.2-full"}) as reg:
        found = rel.check_image(reg.url, "mlflow/mlflow", "v3.18.0-full")
    assert not found.published and "404" in found.detail


def test_a_registry_without_auth():
    with RegistryStandIn(tags={"v3.18.0-full"}, auth=False) as reg:
        assert rel.check_image(reg.url, "mlflow/mlflow", "v3.18.0-full").published
        assert not rel.check_image(reg.url, "mlflow/mlflow", "v9.0.0-full").published
    assert not any(path.startswith("/token") for _m, path, _h in reg.requests)


@pytest.mark.parametrize("kw, message", [
    ({"token_status": 403}, "token request answered 403"),
    ({"manifest_status": 500}, "answered 500"),
    ({"manifest_status": 401}, "answered 401"),  # the token does not open it
])
def test_other_answers_cannot_verify(kw, message):
    with RegistryStandIn(tags={"v3.18.0-full"}, **kw) as reg:
        with pytest.raises(rel.Unverifiable, match=f"could not verify: .*{message}"):
            rel.check_image(reg.url, "mlflow/mlflow", "v3.18.0-full")


def test_an_unreachable_registry_cannot_verify():
    with pytest.raises(rel.Unverifiable, match="^could not verify: HEAD http://127.0.0.1:"):
        rel.check_image(f"http://127.0.0.1:{closed_port()}", "mlflow/mlflow", "v3.18.0-full")


def test_a_401_without_bearer():
    def answer(method, url, headers):
        del method, url, headers
        return rel.Response(401, {"www-authenticate": 'Basic realm="x"'})
    with pytest.raises(rel.Unverifiable, match="without a Bearer challenge"):
        rel.check_image("https://registry.test", "mlflow/mlflow", "v1.0.0-full", request=answer)


def test_the_command_refuses_what_it_cannot_verify():
    """Here (no internet) the command for the next release refuses with "could not verify"; nothing changes."""
    version = next_release()
    paths = (rel.DEFAULTS, rel.SPECS, rel.CONTAINERFILE, rel.REQUIREMENTS, rel.CONTRACTS)
    before = {p: (REPO / p).read_bytes() for p in paths}
    res = subprocess.run([sys.executable, str(SCRIPT), version, "--registry", f"http://127.0.0.1:{closed_port()}"],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "mlflow-release: could not verify: HEAD http://127.0.0.1:" in res.stderr
    assert f"/v2/mlflow/mlflow/manifests/v{version}-full" in res.stderr
    assert "refused; nothing was changed" in res.stderr
    assert {p: (REPO / p).read_bytes() for p in paths} == before


def test_the_command_refuses_a_missing_image_and_bad_versions():
    version = next_release()
    with RegistryStandIn(tags=set()) as reg:
        with pytest.raises(rel.ReleaseError, match=f"v{version}-full is not published: .* 404"):
            rel.prepare(version, reg.url, log=lambda line: None)
    with pytest.raises(rel.ReleaseError, match="not a release version"):
        rel.prepare("v3.18.0", "http://127.0.0.1:1", log=lambda line: None)
    assert rel.main(["3.0.0", "--registry", "http://127.0.0.1:1"]) == 1  # older than the default


# --------------------------------------------------------------------------------------------
# METADATA


META_OLD = """Metadata-Version: 2.4
Name: mlflow
Version: 3.17.2
Requires-Python: >=3.10
Requires-Dist: mlflow-skinny==3.17.2
Requires-Dist: mlflow-tracing==3.17.2
Requires-Dist: sqlalchemy<3,>=1.4.0
Requires-Dist: pyarrow<26,>=4.0.0
Requires-Dist: pywin32; sys_platform == "win32"
Provides-Extra: extras
Requires-Dist: pyarrow; extra == "extras"
Requires-Dist: boto3; extra == "extras"
Requires-Dist: google-cloud-storage>=1.30.0; extra == "extras"
Provides-Extra: db
Requires-Dist: PyMySQL; extra == "db"
Requires-Dist: psycopg2-binary; extra == "db"
Requires-Dist: psycopg[binary]; extra == "db"
Provides-Extra: gateway
Requires-Dist: fastapi<1; extra == "gateway"
Requires-Dist: uvicorn[standard]<1; extra == "gateway"
Provides-Extra: genai
Requires-Dist: fastapi<1; extra == "genai"
Requires-Dist: uvicorn[standard]<1; extra == "genai"
Provides-Extra: azure
Requires-Dist: azure-storage-blob>=12; extra == "azure"
Provides-Extra: auth
Requires-Dist: Flask-WTF<2; extra == 'auth'

MLflow: A Platform for ML Development and Productionization
Requires-Dist: not-a-header (the description)
"""

META_NEW = (META_OLD.replace("3.17.2", "3.18.0").replace("pyarrow<26", "pyarrow<27")
            .replace('Requires-Dist: uvicorn[standard]<1; extra == "genai"\n',
                     'Requires-Dist: uvicorn[standard]<1; extra == "genai"\nRequires-Dist: litellm<2; extra == "genai"\n')
            .replace("Provides-Extra: azure\n", "Provides-Extra: azure\nProvides-Extra: skills\n"))


def test_metadata():
    meta = rel.parse_metadata(META_OLD)
    assert (meta.name, meta.version) == ("mlflow", "3.17.2")
    assert "not-a-header (the description)" not in " ".join(meta.requires)
    assert meta.extras == ["extras", "db", "gateway", "genai", "azure", "auth"]
    by_extra = rel.requires_by_extra(meta)
    assert by_extra["db"] == ["PyMySQL", "psycopg2-binary", "psycopg[binary]"]
    assert by_extra["auth"] == ["Flask-WTF<2"]  # single quotes in the marker
    assert 'pywin32; sys_platform == "win32"' in by_extra[""]  # another marker stays a core requirement


def test_metadata_diff():
    assert rel.metadata_diff(rel.parse_metadata(META_OLD), rel.parse_metadata(META_NEW)) == [
        '+ litellm<2; extra == "genai"',
        "- mlflow-skinny==3.17.2", "+ mlflow-skinny==3.18.0",
        "- mlflow-tracing==3.17.2", "+ mlflow-tracing==3.18.0",
        "- pyarrow<26,>=4.0.0", "+ pyarrow<27,>=4.0.0",
        "+ extra [skills]",
    ]
    assert rel.metadata_diff(rel.parse_metadata(META_OLD), rel.parse_metadata(META_OLD)) == []


def test_python_packages_of_the_image():
    packages = rel.python_packages(rel.parse_metadata(META_OLD))
    assert packages == {"db": ["PyMySQL", "psycopg2-binary", "psycopg[binary]"],
                        "extras": ["pyarrow", "boto3", "google-cloud-storage>=1.30.0"],
                        "gateway_genai": ["fastapi<1", "uvicorn[standard]<1"],
                        "azure": ["azure-storage-blob>=12"], "auth": ["Flask-WTF<2"],
                        "core_sqlalchemy": "sqlalchemy<3,>=1.4.0"}
    new = rel.python_packages(rel.parse_metadata(META_NEW))
    assert "gateway_genai" not in new and new["genai"] == ["fastapi<1", "uvicorn[standard]<1", "litellm<2"]
    with pytest.raises(rel.ReleaseError, match="no extra auth"):
        rel.python_packages(rel.parse_metadata(META_OLD.replace('; extra == \'auth\'', "")))


# --------------------------------------------------------------------------------------------
# The files


def test_defaults_specs_and_containerfile_of_the_repository():
    defaults = (REPO / rel.DEFAULTS).read_text()
    old, new = rel.current_default(defaults), next_release()
    out = rel.update_defaults(defaults, old, new)
    assert rel.current_default(out) == new and yaml.safe_load(out)["mlflow_version"] == new
    assert len(out.splitlines()) == len(defaults.splitlines())

    specs = (REPO / rel.SPECS).read_text()
    out = rel.update_spec_default(specs, old, new)

    def defaults(text):
        return {entry: spec["options"]["mlflow_version"]["default"]
                for entry, spec in yaml.safe_load(text)["argument_specs"].items()
                if "mlflow_version" in (spec.get("options") or {})}
    assert defaults(specs) and set(defaults(specs).values()) == {old} and set(defaults(out).values()) == {new}
    assert len(out.splitlines()) == len(specs.splitlines())

    containerfile = (REPO / rel.CONTAINERFILE).read_text()
    out = rel.update_containerfile(containerfile, old, new)
    assert f"ARG MLFLOW_VERSION={new}\n\n" in out and len(out.splitlines()) == len(containerfile.splitlines())


def test_file_edits_refuse_what_they_do_not_find():
    with pytest.raises(rel.ReleaseError, match="expected one"):
        rel.current_default("mlflow_version: 1.0.0\nmlflow_version: 2.0.0\n")
    assert rel.current_default("x: 1\nmlflow_version: '3.17.2'   # pinned\n") == "3.17.2"
    with pytest.raises(rel.ReleaseError, match="found 0 times"):
        rel.update_defaults('mlflow_version: "3.17.1"\n', "3.17.2", "3.18.0")
    assert rel.update_defaults('mlflow_version: "3.17.2"  # x\n', "3.17.2", "3.18.0") == 'mlflow_version: "3.18.0"  # x\n'
    spec = ("argument_specs:\n  main:\n    options:\n      other:\n        default: 3.17.2\n"
            "      mlflow_version:\n        type: str\n        default: '3.17.2'\n"
            "        suboptions:\n          x:\n            default: 3.17.2\n")
    out = rel.update_spec_default(spec, "3.17.2", "3.18.0")
    assert out.count("3.18.0") == 1 and "default: '3.18.0'" in out and "other:\n        default: 3.17.2" in out
    with pytest.raises(rel.ReleaseError, match="no `default: 3.17.2` in an option"):
        rel.update_spec_default(spec.replace("'3.17.2'", "'3.17.1'"), "3.17.2", "3.18.0")
    with pytest.raises(rel.ReleaseError, match="ARG MLFLOW_VERSION=3.17.2"):
        rel.update_containerfile("ARG MLFLOW_VERSION=3.17.1\n", "3.17.2", "3.18.0")


REQS = """# The ONE pinned list
#
# Regenerate (then run the stack tests):
#   python3.11 -m venv /tmp/v && /tmp/v/bin/pip install 'mlflow==3.17.2' psycopg2-binary 'psycopg[binary]' boto3
#   /tmp/v/bin/pip freeze --all --exclude pip --exclude setuptools --exclude wheel
# Note: mlflow 3.18.0's mlflow-skinny was not installable when this was generated.
# Direct requirements: mlflow, psycopg2-binary, ...
alembic==1.20.1
boto3==1.44.5
mlflow==3.17.2
mlflow-skinny==3.17.2
"""


def test_requirements():
    header, pins = rel.split_requirements(REQS)
    assert len(header) == 7 and pins == ["alembic==1.20.1", "boto3==1.44.5", "mlflow==3.17.2", "mlflow-skinny==3.17.2"]
    python, packages = rel.install_command(header)
    assert python == "python3.11" and packages == ["mlflow==3.17.2", "psycopg2-binary", "psycopg[binary]", "boto3"]
    assert rel.with_version(packages, "3.18.0")[0] == "mlflow==3.18.0"
    freeze = "alembic==1.20.1\nboto3==1.44.18\nMako==1.3.0\nmlflow==3.18.0\nmlflow-skinny==3.18.0\n"  # pip's order
    out = rel.new_requirements(REQS, "3.17.2", "3.18.0", freeze)
    assert "install 'mlflow==3.18.0' psycopg2-binary" in out and "# Note:" not in out and "3.17.2" not in out
    assert out.endswith("# Direct requirements: mlflow, psycopg2-binary, ...\nalembic==1.20.1\nboto3==1.44.18\n"
                        "Mako==1.3.0\nmlflow==3.18.0\nmlflow-skinny==3.18.0\n")
    assert rel.pin_changes(REQS, out) == ["  boto3: 1.44.5 -> 1.44.18", "+ mako==1.3.0", "  mlflow: 3.17.2 -> 3.18.0",
                                          "  mlflow-skinny: 3.17.2 -> 3.18.0"]
    with pytest.raises(rel.ReleaseError, match="no mlflow-skinny==3.18.0"):
        rel.new_requirements(REQS, "3.17.2", "3.18.0", "mlflow==3.18.0\nmlflow-skinny==3.17.2\n")
    with pytest.raises(rel.ReleaseError, match="installs no mlflow"):
        rel.with_version(["boto3"], "3.18.0")
    with pytest.raises(rel.ReleaseError, match="no `pythonX.Y -m venv"):
        rel.install_command(["# pip install mlflow"])


def test_the_requirements_header_of_the_repository_names_its_command():
    header, pins = rel.split_requirements((REPO / rel.REQUIREMENTS).read_text())
    python, packages = rel.install_command(header)
    assert python.startswith("python3") and any(p.startswith("mlflow==") for p in packages)
    default = rel.current_default((REPO / rel.DEFAULTS).read_text())
    assert f"mlflow=={default}" in packages and f"mlflow=={default}" in pins


def test_the_image_record_moves_to_the_new_release():
    text = (REPO / rel.CONTRACTS).read_text()
    old = rel.current_default((REPO / rel.DEFAULTS).read_text())
    meta = rel.parse_metadata(META_NEW)
    out = rel.update_contracts(text, old, "3.18.0", meta, "2026-12-07")
    before, after = yaml.safe_load(text)["images"], yaml.safe_load(out)["images"]
    assert rel.image_ref("3.18.0") in after and rel.image_ref(old) not in after
    assert contracts.validate_contracts(after) == []
    rec, prev = after[rel.image_ref("3.18.0")], before[rel.image_ref(old)]
    assert rec["source"]["ref"] == "v3.18.0" and rec["source"]["url"].endswith("/blob/v3.18.0/docker/Dockerfile.full")
    assert rec["python_packages"]["genai"] == ["fastapi<1", "uvicorn[standard]<1", "litellm<2"]
    assert rec["python_packages"]["core_sqlalchemy"] == "sqlalchemy<3,>=1.4.0"
    assert "2026-12-07" in rec["review"] and "COPIED" in rec["review"]
    # the facts not re-read are the previous record's, word for word
    for key in set(prev) - {"source", "python_packages"}:
        assert rec[key] == prev[key], key
    # the other records, their comments and the file's header are untouched
    assert {k: v for k, v in after.items() if k != rel.image_ref("3.18.0")} == \
        {k: v for k, v in before.items() if k != rel.image_ref(old)}
    changed = [line for line in out.splitlines() if line not in text.splitlines()]
    assert all(line.startswith(("  ghcr.io/mlflow", "      ref:", "      url:", "    python_packages:", "      ",
                                "    review:")) for line in changed), changed
    assert text.split("images:")[0] == out.split("images:")[0] and out.endswith("\n")
    # a second release replaces the review field (one per record); the unchanged lines keep their comments
    again = rel.update_contracts(out, "3.18.0", "3.18.1", meta, "2026-12-08")
    rec = yaml.safe_load(again)["images"][rel.image_ref("3.18.1")]
    assert again.count("    review: >-") == 1 and "2026-12-08" in rec["review"]
    assert [line for line in again.splitlines() if line.startswith("      db:")] == \
        [line for line in out.splitlines() if line.startswith("      db:")]
    assert rel.validate_record(again, "3.18.1") == [] and rel.validate_record(again, "3.18.0")
    with pytest.raises(rel.ReleaseError, match="found 0 times"):
        rel.update_contracts(text, "1.0.0", "3.18.0", meta, "2026-12-07")


def test_leftovers():
    grep = ("tests/render/golden/a.yml:3:  image: v3.17.2\nchangelogs/fragments/x.yml:1: 3.17.2\n"
            "tests/stack/test_stack_metrics.py:71:  assert 'mlflow_version=\"3.17.2\"' in text\n"
            "images/mlflow/requirements.txt:5: mlflow==3.17.2\n")
    assert rel.leftovers(grep, "3.17.2") == ["tests/stack/test_stack_metrics.py:71:  assert 'mlflow_version=\"3.17.2\"' in text"]
    assert rel.leftovers("a.py:1: x = '3.17.20'\nb.py:2: y = '13.17.2'\nc.py:3: 3.17.2rc0\n", "3.17.2") == ["c.py:3: 3.17.2rc0"]


def test_the_checks_it_runs():
    names = [" ".join(cmd) for _name, cmd in rel.CHECKS]
    assert any("tests/cluster/test_contracts.py" in n for n in names)
    assert any("not cluster and not stack" in n for n in names)
    assert names.index("make --no-print-directory stack-tools") < next(i for i, n in enumerate(names) if "-m stack" in n)
