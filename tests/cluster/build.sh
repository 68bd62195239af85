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
#   Gateway API CRDs             standard channel of sigs.k8s.io/gateway-api (config/crd/standard/
#                                *.yaml, CRDs only: GatewayClass, Gateway, HTTPRoute, GRPCRoute,
#                                ReferenceGrant, BackendTLSPolicy, ListenerSet, TCP/TLS/UDPRoute)
#   SecurityPolicy CRD           Envoy Gateway's, from the github.com/envoyproxy/gateway module
#                                (charts/gateway-crds-helm/templates/generated/, Helm guard stripped)
#   AuthorizationPolicy CRD      Istio's, the one document of istio.io/api's
#                                kubernetes/customresourcedefinitions.gen.yaml
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
GATEWAY_API_VERSION="v1.6.3"
ENVOY_GATEWAY_VERSION="v1.9.1"
ISTIO_API_VERSION="v1.32.0"

CACHE="${CSC_MLFLOW_CACHE:-$HOME/.cache/csc-mlflow}"
K8S_BIN="$CACHE/bin/kubernetes-$K8S_VERSION"
KWOK_BIN="$CACHE/bin/kwok-$KWOK_VERSION"
CRD_DIR="$CACHE/crd/openshift-api-$OPENSHIFT_API_VERSION"
ROUTE_CRD="$CRD_DIR/routes.crd.yaml"
ACRQ_CRD="$CRD_DIR/appliedclusterresourcequotas.crd.yaml"
SERVICEMONITOR_CRD="$CACHE/crd/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/servicemonitors.crd.yaml"
GATEWAY_API_CRDS="$CACHE/crd/gateway-api-$GATEWAY_API_VERSION/standard.crds.yaml"
SECURITYPOLICY_CRD="$CACHE/crd/envoy-gateway-$ENVOY_GATEWAY_VERSION/securitypolicies.crd.yaml"
AUTHORIZATIONPOLICY_CRD="$CACHE/crd/istio-api-$ISTIO_API_VERSION/authorizationpolicies.crd.yaml"
K8S_TOOLS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

if [[ "${1:-}" == "--print-env" ]]; then
  printf 'K8S_VERSION=%q\nKWOK_VERSION=%q\nK8S_BIN=%q\nKWOK_BIN=%q\nROUTE_CRD=%q\nACRQ_CRD=%q\nSERVICEMONITOR_CRD=%q\n' \
    "$K8S_VERSION" "$KWOK_VERSION" "$K8S_BIN" "$KWOK_BIN" "$ROUTE_CRD" "$ACRQ_CRD" "$SERVICEMONITOR_CRD"
  printf 'GATEWAY_API_CRDS=%q\nSECURITYPOLICY_CRD=%q\nAUTHORIZATIONPOLICY_CRD=%q\n' \
    "$GATEWAY_API_CRDS" "$SECURITYPOLICY_CRD" "$AUTHORIZATIONPOLICY_CRD"
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

# ---------------------------------------------------------------- Gateway API and implementations
# Module zips of a few MB each (seconds); only the CRD files are kept.
install_file() {  # install_file <dest>: stdin -> dest, atomically, 0644
  mkdir -p "$(dirname "$1")"
  cat >"$1.tmp" && chmod 0644 "$1.tmp" && mv "$1.tmp" "$1"
}

if [[ -s "$GATEWAY_API_CRDS" ]]; then
  log "Gateway API CRDs: cached in $(dirname "$GATEWAY_API_CRDS")"
else
  log "fetching sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
  dir="$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"
  # Every CRD of the standard channel; not its ValidatingAdmissionPolicy safe-upgrades (it only
  # guards CRD upgrades, and every `up` starts from an empty etcd).
  files=()
  for f in "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
    grep -q '^kind: CustomResourceDefinition$' "$f" && files+=("$f")
  done
  ((${#files[@]} >= 4)) || { log "Gateway API standard CRDs not found in $dir/config/crd/standard"; exit 1; }
  for f in "${files[@]}"; do printf -- '---\n'; sed '/^---$/d' "$f"; done | install_file "$GATEWAY_API_CRDS"
fi

if [[ -s "$SECURITYPOLICY_CRD" ]]; then
  log "SecurityPolicy CRD: cached in $(dirname "$SECURITYPOLICY_CRD")"
else
  log "fetching github.com/envoyproxy/gateway@$ENVOY_GATEWAY_VERSION"
  dir="$(module_dir "github.com/envoyproxy/gateway@$ENVOY_GATEWAY_VERSION")"
  src="$dir/charts/gateway-crds-helm/templates/generated/gateway.envoyproxy.io_securitypolicies.yaml"
  [[ -s "$src" ]] || { log "SecurityPolicy CRD not found at $src"; exit 1; }
  # The chart wraps it in `{{- if .Values.crds.envoyGateway.enabled }}` ... `{{- end }}`.
  sed -e '/^{{.*}}$/d' "$src" | install_file "$SECURITYPOLICY_CRD"
  ! grep -q '{{' "$SECURITYPOLICY_CRD" || { log "Helm templating left in $SECURITYPOLICY_CRD"; exit 1; }
fi

if [[ -s "$AUTHORIZATIONPOLICY_CRD" ]]; then
  log "AuthorizationPolicy CRD: cached in $(dirname "$AUTHORIZATIONPOLICY_CRD")"
else
  log "fetching istio.io/api@$ISTIO_API_VERSION"
  dir="$(module_dir "istio.io/api@$ISTIO_API_VERSION")"
  src="$dir/kubernetes/customresourcedefinitions.gen.yaml"
  [[ -s "$src" ]] || { log "Istio CRDs not found at $src"; exit 1; }
  # All of Istio's CRDs in one file (~1 MB, 14 CRDs); keep the one the tests use.
  awk 'function flush() { if (doc ~ /\n  name: authorizationpolicies\.security\.istio\.io\n/) printf "%s", doc; doc = "" }
       /^---$/ { flush(); next } { doc = doc $0 "\n" } END { flush() }' "$src" | install_file "$AUTHORIZATIONPOLICY_CRD"
  grep -q '^  name: authorizationpolicies.security.istio.io$' "$AUTHORIZATIONPOLICY_CRD" ||
    { log "AuthorizationPolicy CRD not found in $src"; exit 1; }
fi

log "ready: $K8S_BIN, $KWOK_BIN, $ROUTE_CRD, $ACRQ_CRD, $SERVICEMONITOR_CRD, $GATEWAY_API_CRDS, $SECURITYPOLICY_CRD, $AUTHORIZATIONPOLICY_CRD"
