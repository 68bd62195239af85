#!/usr/bin/env bash
# Install/build what the running-stack tests, `make demo` and `make bench` need, cached:
#   - PostgreSQL and NGINX from Debian (chromium for the browser test);
#   - MinIO built from its Go module into $CSC_MLFLOW_CACHE/bin/minio-<version>/minio (stacks that still run it);
#   - the Versity S3 gateway (the default in-cluster store) built from its Go module at the role's
#     mlflow_versitygw_version into $CSC_MLFLOW_CACHE/bin/versitygw-<version>/versitygw;
#   - the MLflow venv from images/mlflow/requirements.txt (the image's own list) into
#     $CSC_MLFLOW_CACHE/venv/mlflow-<12-char sha256 of that file>/;
#   - an older MLflow (tests/stack/requirements-old.txt) for the upgrade test;
#   - checkov (tests/security/requirements-checkov.txt) for tests/security/test_checkov.py.
# A warm run only checks that everything is there (seconds).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CSC_MLFLOW_CACHE:-$HOME/.cache/csc-mlflow}
# shellcheck source=tests/stack/versions.env
. "$ROOT/tests/stack/versions.env"
log() { printf '[stack-tools] %s\n' "$*" >&2; }

# --- MinIO version: the role's default when it names a Go module version ------------
role_defaults=$ROOT/roles/mlflow_minio/defaults/main.yml
if [[ -f $role_defaults ]]; then
  role_minio=$(sed -n 's/^mlflow_minio_version:[[:space:]]*["'\'']\{0,1\}\([^"'\''[:space:]]*\).*/\1/p' "$role_defaults" | head -n1)
  if [[ $role_minio == v0.0.0-* ]]; then
    MINIO_MODULE_VERSION=$role_minio
  elif [[ -n $role_minio ]]; then
    log "role mlflow_minio_version=$role_minio is not a Go module version; building $MINIO_MODULE_VERSION"
  fi
fi

# --- versitygw version: the role's default ----------------------------------------
VERSITYGW_VERSION=$(sed -n 's/^mlflow_versitygw_version:[[:space:]]*["'\'']\{0,1\}\(v[0-9][^"'\''[:space:]]*\).*/\1/p' \
  "$ROOT/roles/mlflow_versitygw/defaults/main.yml" | head -n1)
[[ -n $VERSITYGW_VERSION ]] || { log "no mlflow_versitygw_version in roles/mlflow_versitygw/defaults/main.yml"; exit 1; }

# --- Debian packages --------------------------------------------------------------
need=()
for pkg in postgresql nginx-light chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
# nginx-full or nginx also satisfy the nginx need
if [[ " ${need[*]} " == *" nginx-light "* ]] && command -v nginx >/dev/null 2>&1; then
  need=("${need[@]/nginx-light/}")
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sed '/^$/d')
if ((${#need[@]})); then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts the packaged services; the tests run their own instances.
  for svc in nginx postgresql; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
  done
fi

# --- Go servers from their modules ---------------------------------------------------
go_build() {  # go_build <binary> <package@version> <dir>: <dir>/<binary>, unless it is there
  local bin=$1 pkg=$2 dir=$3 tmp
  if [[ -x $dir/$bin ]]; then return 0; fi
  log "building $pkg (minutes on 2 cores)"
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && GOBIN=$tmp/bin CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags='-s -w' "$pkg")
  mv "$tmp/bin/$bin" "$dir/$bin.part" && mv "$dir/$bin.part" "$dir/$bin"
  rm -rf "$tmp"
}
minio_dir=$CACHE/bin/minio-$MINIO_MODULE_VERSION
go_build minio "github.com/minio/minio@$MINIO_MODULE_VERSION" "$minio_dir"
vgw_dir=$CACHE/bin/versitygw-$VERSITYGW_VERSION
go_build versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" "$vgw_dir"

# --- MLflow venvs -----------------------------------------------------------------
make_venv() {  # make_venv <dir> <requirements file>
  local dir=$1 req=$2
  if [[ -f $dir/.installed ]]; then return 0; fi
  log "creating $dir from ${req#"$ROOT"/}"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
  touch "$dir/.installed"
}
req=$ROOT/images/mlflow/requirements.txt
sha=$(sha256sum "$req" | cut -c1-12)
make_venv "$CACHE/venv/mlflow-$sha" "$req"
old_req=$ROOT/tests/stack/requirements-old.txt
old_sha=$(sha256sum "$old_req" | cut -c1-12)
make_venv "$CACHE/venv/mlflow-old-$old_sha" "$old_req"
checkov_req=$ROOT/tests/security/requirements-checkov.txt
checkov_sha=$(sha256sum "$checkov_req" | cut -c1-12)
make_venv "$CACHE/venv/checkov-$checkov_sha" "$checkov_req"


log "ready: minio $minio_dir/minio, versitygw $vgw_dir/versitygw, mlflow venv $CACHE/venv/mlflow-$sha"
