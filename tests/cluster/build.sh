#!/usr/bin/env bash
# Install / build the local test cluster's components at pinned versions.
#
#   etcd                         Debian package etcd-server
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                                built from k8s.io/kubernetes through the wrapper
#                                module in this directory (go.mod / go.sum)
#   kwok                         built from sigs.k8s.io/kwok (kubelet stand-in)
#   Route CRD                    from the github.com/openshift/api Go module
#   AppliedClusterResourceQuota CRD
#                                derived from that module's ClusterResourceQuota CRD
#                                (same schema, namespaced kind, status subresource)
#   ServiceMonitor CRD           from the github.com/prometheus-operator/prometheus-operator
#                                module (OpenShift's monitoring stack always serves it)
#
# Everything lands in $CSC_MLFLOW_CACHE (default ~/.cache/csc-mlflow) in folders
# keyed by version; a warm run checks a few files and exits. Safe to run twice and
# concurrently with itself (a lock serialises builds).
#
# Usage: tests/cluster/build.sh [--print-env]
#   --print-env   only print the resolved paths as shell assignments (no build)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

K8S_VERSION="v1.36.3"
KWOK_VERSION="v0.8.0"
# github.com/openshift/api publishes no tags for Go modules; pin a pseudo-version.
OPENSHIFT_API_VERSION="v0.0.0-20260813212709-d4bb0b443cb8"
PROMETHEUS_OPERATOR_VERSION="v0.85.0"

CACHE="${CSC_MLFLOW_CACHE:-$HOME/.cache/csc-mlflow}"
K8S_BIN="$CACHE/bin/kubernetes-$K8S_VERSION"
KWOK_BIN="$CACHE/bin/kwok-$KWOK_VERSION"
CRD_DIR="$CACHE/crd/openshift-api-$OPENSHIFT_API_VERSION"
ROUTE_CRD="$CRD_DIR/routes.crd.yaml"
ACRQ_CRD="$CRD_DIR/appliedclusterresourcequotas.crd.yaml"
SERVICEMONITOR_CRD="$CACHE/crd/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/servicemonitors.crd.yaml"
K8S_TOOLS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

if [[ "${1:-}" == "--print-env" ]]; then
  printf 'K8S_VERSION=%q\nKWOK_VERSION=%q\nK8S_BIN=%q\nKWOK_BIN=%q\nROUTE_CRD=%q\nACRQ_CRD=%q\nSERVICEMONITOR_CRD=%q\n' \
    "$K8S_VERSION" "$KWOK_VERSION" "$K8S_BIN" "$KWOK_BIN" "$ROUTE_CRD" "$ACRQ_CRD" "$SERVICEMONITOR_CRD"
  exit 0
fi

log() { printf '[cluster-build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

mkdir -p "$CACHE/bin" "$CACHE/crd"
# One build at a time (two engineers / two make targets may start it together).
exec 9>"$CACHE/.cluster-build.lock"
flock 9

# ---------------------------------------------------------------- Debian packages
need_pkgs=()
command -v etcd >/dev/null 2>&1 || need_pkgs+=(etcd-server)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
command -v flock >/dev/null 2>&1 || need_pkgs+=(util-linux)
if ((${#need_pkgs[@]})); then
  log "apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # Debian's package starts an etcd service on install where systemd runs; we never use it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi

command -v go >/dev/null 2>&1 || { log "Go is required (go.dev/dl)"; exit 1; }

export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0

# The folder of a Go module (module@version) in Go's module cache, downloaded if need be. Run
# outside any module: the CRDs are files of the module, not packages to build.
module_dir() {
  (cd "$(mktemp -d)" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

# ---------------------------------------------------------------- Kubernetes
k8s_ok=1
for t in "${K8S_TOOLS[@]}"; do [[ -x "$K8S_BIN/$t" ]] || k8s_ok=0; done
if ((k8s_ok)); then
  log "kubernetes $K8S_VERSION: cached in $K8S_BIN"
else
  log "building kubernetes $K8S_VERSION (${K8S_TOOLS[*]}); cold build takes a while"
  start=$SECONDS
  tmp="$(mktemp -d "$CACHE/bin/.kubernetes-$K8S_VERSION.XXXXXX")"
  pkgs=()
  for t in "${K8S_TOOLS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$t"); done
  # One `go build` for all four: shared packages compile once.
  (cd "$HERE" && go build -trimpath -ldflags="-s -w" -o "$tmp/" "${pkgs[@]}")
  for t in "${K8S_TOOLS[@]}"; do [[ -x "$tmp/$t" ]] || { log "missing $t after build"; exit 1; }; done
  rm -rf "$K8S_BIN"
  mv "$tmp" "$K8S_BIN"
  log "kubernetes built in $((SECONDS - start)) s"
fi

# ---------------------------------------------------------------- kwok
if [[ -x "$KWOK_BIN/kwok" ]]; then
  log "kwok $KWOK_VERSION: cached in $KWOK_BIN"
else
  log "building kwok $KWOK_VERSION"
  start=$SECONDS
  tmp="$(mktemp -d "$CACHE/bin/.kwok-$KWOK_VERSION.XXXXXX")"
  # sigs.k8s.io/kwok has no replace directives: `go install pkg@version` works.
  (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install -trimpath -ldflags="-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
  rm -rf "$KWOK_BIN"
  mv "$tmp" "$KWOK_BIN"
  log "kwok built in $((SECONDS - start)) s"
fi

# ---------------------------------------------------------------- OpenShift CRDs
if [[ -s "$ROUTE_CRD" && -s "$ACRQ_CRD" ]]; then
  log "OpenShift CRDs: cached in $CRD_DIR"
else
  log "fetching github.com/openshift/api@$OPENSHIFT_API_VERSION"
  dir="$(module_dir "github.com/openshift/api@$OPENSHIFT_API_VERSION")"
  src="$dir/route/v1/zz_generated.crd-manifests/routes.crd.yaml"
  [[ -s "$src" ]] || { log "Route CRD not found at $src"; exit 1; }
  mkdir -p "$CRD_DIR"
  cp "$src" "$ROUTE_CRD.tmp" && mv "$ROUTE_CRD.tmp" "$ROUTE_CRD"
  chmod 0644 "$ROUTE_CRD"
  # OpenShift serves AppliedClusterResourceQuota (a project's read-only view of a
  # ClusterResourceQuota) from its own apiserver; openshift/api ships no CRD for it. Its Go
  # type has the ClusterResourceQuota's spec and status, so derive one: same schema,
  # namespaced, names of the Applied kind.
  src="$(echo "$dir"/quota/v1/zz_generated.crd-manifests/*clusterresourcequotas*.crd.yaml)"
  [[ -s "$src" ]] || { log "ClusterResourceQuota CRD not found at $src"; exit 1; }
  sed -e 's/^  name: clusterresourcequotas\.quota\.openshift\.io$/  name: appliedclusterresourcequotas.quota.openshift.io/' \
    -e 's/^    kind: ClusterResourceQuota$/    kind: AppliedClusterResourceQuota/' \
    -e 's/^    listKind: ClusterResourceQuotaList$/    listKind: AppliedClusterResourceQuotaList/' \
    -e 's/^    plural: clusterresourcequotas$/    plural: appliedclusterresourcequotas/' \
    -e 's/^    singular: clusterresourcequota$/    singular: appliedclusterresourcequota/' \
    -e 's/^  scope: Cluster$/  scope: Namespaced/' \
    -e 's/^\( *\)ClusterResourceQuota mirrors ResourceQuota at a cluster scope\./\1AppliedClusterResourceQuota mirrors ClusterResourceQuota at a project scope (derived by tests\/cluster\/build.sh)./' \
    "$src" >"$ACRQ_CRD.tmp"
  n="$(grep -cE '^(  name: applied|    kind: Applied|    listKind: Applied|    plural: applied|    singular: applied|  scope: Namespaced$|      status: \{\}$)' "$ACRQ_CRD.tmp")"
  [[ "$n" == 7 ]] || { log "unexpected ClusterResourceQuota CRD layout in $src ($n of 7 edits)"; exit 1; }
  mv "$ACRQ_CRD.tmp" "$ACRQ_CRD"
  chmod 0644 "$ACRQ_CRD"
fi

# ---------------------------------------------------------------- monitoring CRD
if [[ -s "$SERVICEMONITOR_CRD" ]]; then
  log "ServiceMonitor CRD: cached in $(dirname "$SERVICEMONITOR_CRD")"
else
  log "fetching github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
  dir="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  src="$dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
  [[ -s "$src" ]] || { log "ServiceMonitor CRD not found at $src"; exit 1; }
  mkdir -p "$(dirname "$SERVICEMONITOR_CRD")"
  cp "$src" "$SERVICEMONITOR_CRD.tmp" && mv "$SERVICEMONITOR_CRD.tmp" "$SERVICEMONITOR_CRD"
  chmod 0644 "$SERVICEMONITOR_CRD"
fi

log "ready: $K8S_BIN, $KWOK_BIN, $ROUTE_CRD, $ACRQ_CRD, $SERVICEMONITOR_CRD"
