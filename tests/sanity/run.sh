#!/usr/bin/env bash
# `ansible-test sanity` on the whole collection, offline except for PyPI.
#
#   tests/sanity/run.sh                       # every default sanity test, Python 3.11
#   tests/sanity/run.sh --test validate-modules --test pylint   # extra args go to ansible-test
#
# How it works:
# * ansible-test insists on running inside .../ansible_collections/<ns>/<name>/, so the
#   git-tracked files of the checkout (as they are in the working tree) are copied to a
#   temporary directory laid out as ansible_collections/csc/mlflow, with kubernetes.core
#   (the route_whitelist module imports its module_utils) from the venv next to it.
# * `--local` runs each sanity test from its own virtual environment, which ansible-test
#   creates *without* pip and bootstraps with a get-pip script fetched from
#   ci-files.testing.ansible.com -- not reachable here. ansible-test looks for that script
#   in ~/.ansible/test/cache/get_pip_<version>.py first, so we put a small stand-in there
#   that installs pip from Python's own `ensurepip` wheel and then runs `pip install` with
#   the arguments ansible-test gave (pinned pip, then each test's pinned requirements from
#   PyPI, which is reachable). Nothing in ansible-test is patched and the tests themselves
#   are unchanged. Alternatives considered: `--venv` (same bootstrap), `--docker` (no
#   container engine here), `--requirements` (same bootstrap).
# * ansible-test keeps those venvs under ~/.ansible/test; HOME points at
#   $CSC_MLFLOW_CACHE/ansible-test/core-<ansible-core version>/home for the run, so they
#   are built once per ansible-core version and the real ~/.ansible is left alone.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PY="$VENV/bin/python"
CACHE="${CSC_MLFLOW_CACHE:-$HOME/.cache/csc-mlflow}"
PYTHON_VERSION="${SANITY_PYTHON:-3.11}"

[ -x "$VENV/bin/ansible-test" ] || { echo "run 'make setup' first ($VENV/bin/ansible-test missing)" >&2; exit 2; }

# The shellcheck sanity test is skipped (a mere warning) without the program.
if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get install -y --no-install-recommends shellcheck \
      || { apt-get update && apt-get install -y --no-install-recommends shellcheck; }; } >/dev/null \
      || echo "WARNING: could not install shellcheck; its sanity test will be skipped" >&2
  else
    echo "WARNING: shellcheck not found (apt-get install shellcheck); its sanity test will be skipped" >&2
  fi
fi

core_version="$("$PY" -c 'from ansible.release import __version__; print(__version__)')"
pip_version="$("$PY" - <<'PYEOF'
import re, pathlib, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"default_packages = dict\(\s*pip='([0-9.]+)'", src).group(1))
PYEOF
)"
AT_HOME="$CACHE/ansible-test/core-$core_version/home"
mkdir -p "$AT_HOME/.ansible/test/cache"
cat > "$AT_HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py" <<'PYEOF'
"""Offline stand-in for ansible-test's get-pip bootstrap (written by tests/sanity/run.sh).

ansible-test runs this as __main__ inside a venv created without pip, with get-pip's
arguments (pip install arguments plus --no-setuptools / --no-wheel). Install pip from
the interpreter's bundled ensurepip wheel, then let pip install what was asked.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
rc = subprocess.call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
if rc == 0 and "--no-setuptools" in sys.argv:
    # ensurepip also brings setuptools; get-pip would not have.
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "setuptools"])
sys.exit(rc)
PYEOF

WORK="$(mktemp -d "${TMPDIR:-/tmp}/csc-mlflow-sanity.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DEST="$WORK/ansible_collections/csc/mlflow"
mkdir -p "$DEST"
# Tracked files only (other people's untracked work in progress is not ours to judge);
# taken from the working tree so that uncommitted edits of tracked files are tested.
(cd "$REPO" && git ls-files -z --cached | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp --parents -t "$DEST")
K8S_CORE="$("$PY" -c 'import ansible_collections.kubernetes.core as m, os; print(os.path.dirname(m.__file__))' 2>/dev/null \
    || echo "$VENV/lib/python$PYTHON_VERSION/site-packages/ansible_collections/kubernetes/core")"
mkdir -p "$WORK/ansible_collections/kubernetes"
cp -r "$K8S_CORE" "$WORK/ansible_collections/kubernetes/core"

cd "$DEST"
echo "ansible-test sanity (ansible-core $core_version, Python $PYTHON_VERSION) in $DEST" >&2
HOME="$AT_HOME" PATH="$VENV/bin:$PATH" "$VENV/bin/ansible-test" sanity --local --python "$PYTHON_VERSION" --color no "$@"
