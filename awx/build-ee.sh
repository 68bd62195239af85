#!/usr/bin/env bash
# Build context (and optionally the image) of the csc.mlflow execution environment
# from this checkout. Offline up to the image build: `ansible-galaxy collection build`
# and `ansible-builder create` need no network.
#
#   awx/build-ee.sh [--context DIR] [--build --tag IMAGE[:TAG]] [--runtime podman|docker]
#
# Writes build/csc-mlflow.tar.gz (the collection, referenced by
# execution-environment.yml) and the build context (default build/ee-context).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

context="build/ee-context"
build=false
tag="csc-mlflow-ee:latest"
runtime="podman"
while [ $# -gt 0 ]; do
  case "$1" in
    --context) context="$2"; shift 2 ;;
    --build) build=true; shift ;;
    --tag) tag="$2"; shift 2 ;;
    --runtime) runtime="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

bin="$root/.venv/bin"
[ -x "$bin/ansible-builder" ] || bin="$(dirname "$(command -v ansible-builder)")"

mkdir -p build
rm -f build/csc-mlflow-*.tar.gz
"$bin/ansible-galaxy" collection build --force --output-path build . >/dev/null
cp build/csc-mlflow-*.tar.gz build/csc-mlflow.tar.gz
echo "collection: build/$(basename build/csc-mlflow-*.tar.gz) (as build/csc-mlflow.tar.gz)"

if $build; then
  "$bin/ansible-builder" build -f execution-environment.yml -c "$context" \
    --container-runtime "$runtime" -t "$tag"
else
  "$bin/ansible-builder" create -f execution-environment.yml -c "$context"
fi
