#!/usr/bin/env bash
# The local test cluster: real etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok (kubelet stand-in) on 127.0.0.1.
#
#   tests/cluster/cluster.sh up      start (a no-op when already up)
#   tests/cluster/cluster.sh down    stop by PID (apiserver before etcd); safe twice
#   tests/cluster/cluster.sh env     print `export ...` lines for a shell
#   tests/cluster/cluster.sh status  exit 0 when the apiserver answers
#   tests/cluster/cluster.sh contracts  regenerate the image-contracts ConfigMap from
#                                    images/contracts.yml + tests/cluster/test-images.yml
#
# State in .cluster/ (gitignored): kubeconfig (admin, client certificate), token
# (bearer token of ServiceAccount kube-system/csc-mlflow-admin, cluster-admin),
# ca.crt, server, ports, pids/, logs/, pki/. Every `up` starts from an empty etcd.
#
# What the cluster adds to plain Kubernetes, so that it behaves like OpenShift for us:
#   * Pod Security `restricted` enforced on every namespace (admission configuration);
#   * the Route CRD of github.com/openshift/api plus a MutatingAdmissionPolicy that
#     lowercases spec.tls.termination and fills an empty spec.host with
#     <name>-<namespace>.apps.kwok.test;
#   * a default StorageClass `standard` served by kube-controller-manager's hostPath
#     provisioner (PVCs bind, purge deletes the volumes);
#   * two kwok nodes `kwok-node-0` and `-1` that run every pod: Running/Ready, Job pods Succeeded,
#     except where a test asked for a failure (manifests/job-faults.yaml): Failed, exit code 1;
#   * what OpenShift's restricted-v2 SCC does to pods in namespaces with the
#     openshift.io/sa.scc.* annotations (assign runAsUser/fsGroup, refuse IDs out of range);
#   * image contracts: pods whose images have no record in images/contracts.yml, or that
#     would run a root image as root under runAsNonRoot, are refused (outside kube-system);
#   * the AppliedClusterResourceQuota CRD and tests/cluster/standins.py: Route status as the
#     router writes it (Admitted / HostAlreadyClaimed), ACRQ status mirrored from ResourceQuotas;
#   * the ServiceMonitor CRD (OpenShift's monitoring stack always serves it), and the roles
#     OpenShift gives a project's admin beyond Kubernetes' `admin` (openshift-roles.yaml):
#     Routes and the project's quota, not ServiceMonitors (ClusterRole `monitoring-edit`);
#   * Gateway API (standard channel CRDs), Envoy Gateway's SecurityPolicy and Istio's
#     AuthorizationPolicy CRDs, and in standins.py (gateway_standin.py) a Gateway API
#     implementation's status writer for GatewayClasses of Envoy Gateway, Istio and an unknown
#     controller (no data path: nothing is routed or filtered).
# The manifests are in tests/cluster/manifests/; per-namespace profiles (rahti, kubernetes)
# are applied by tests/conftest.py (Cluster.fresh_namespace).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MANIFESTS="$HERE/manifests"
# Python with the `kubernetes` client and PyYAML (stand-ins, contracts ConfigMap).
PYTHON="${CSC_MLFLOW_PYTHON:-$REPO/.venv/bin/python}"
# Image records: the product's, then the test-only ones (fake images of the cluster's own tests).
CONTRACTS=(images/contracts.yml tests/cluster/test-images.yml)
STATE="${CSC_MLFLOW_CLUSTER_DIR:-$REPO/.cluster}"
PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
ROUTER_DOMAIN="apps.kwok.test"
SERVICE_CIDR="10.96.0.0/16"
ADMIN_SA="csc-mlflow-admin"
# Order matters for `down`: consumers first, etcd last.
COMPONENTS=(standins kwok kube-scheduler kube-controller-manager kube-apiserver etcd)

log() { printf '[cluster %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

load_tools() {
  eval "$("$HERE/build.sh" --print-env)"
  KUBECTL="$K8S_BIN/kubectl"
  for t in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "$K8S_BIN/$t" ]] || die "$K8S_BIN/$t missing: run tests/cluster/build.sh (make cluster-tools)"
  done
  [[ -x "$KWOK_BIN/kwok" ]] || die "kwok missing: run tests/cluster/build.sh"
  [[ -s "$ROUTE_CRD" ]] || die "Route CRD missing: run tests/cluster/build.sh"
  [[ -s "${ACRQ_CRD:-}" ]] || die "AppliedClusterResourceQuota CRD missing: run tests/cluster/build.sh"
  [[ -s "${SERVICEMONITOR_CRD:-}" ]] || die "ServiceMonitor CRD missing: run tests/cluster/build.sh"
  command -v etcd >/dev/null || die "etcd missing: run tests/cluster/build.sh"
}

kc() { "$KUBECTL" --kubeconfig "$STATE/kubeconfig" "$@"; }

pid_alive() {  # pid_alive <component>: the recorded PID runs the expected binary
  local f="$PIDS/$1.pid" pid
  [[ -s "$f" ]] || return 1
  pid="$(<"$f")"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1" || return 1
}

api_ready() {
  [[ -s "$STATE/kubeconfig" && -x "${KUBECTL:-/nonexistent}" ]] || return 1
  [[ "$(kc --request-timeout=2s get --raw /readyz 2>/dev/null)" == ok ]]
}

free_port() {
  /usr/bin/python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start_bg() {  # start_bg <component> <argv...>
  local name="$1"; shift
  # setsid: own process group, so nothing here receives the caller's signals.
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$PIDS/$name.pid"
}

wait_for() {  # wait_for <seconds> <description> <command...>
  local secs="$1" what="$2"; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "timed out after ${secs}s waiting for $what (logs in $LOGS)"
    sleep 0.2
  done
}

# ------------------------------------------------------------------ certificates
gen_pki() {
  mkdir -p "$PKI"
  chmod 0700 "$PKI"
  [[ -s "$PKI/admin.crt" && -s "$PKI/sa.key" ]] && return 0
  log "generating certificates in $PKI"
  (
    cd "$PKI"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=csc-mlflow-test-ca" 2>/dev/null
    cat >apiserver.ext <<EOF
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment
EOF
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >client.ext
    sign() {  # sign <name> <subject> <extfile>
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$3" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr"
    }
    sign apiserver "/CN=kube-apiserver" apiserver.ext
    sign kcm "/CN=system:kube-controller-manager" client.ext
    sign scheduler "/CN=system:kube-scheduler" client.ext
    sign kwok "/O=system:masters/CN=kwok" client.ext
    sign admin "/O=system:masters/CN=csc-mlflow-admin" client.ext
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

write_kubeconfig() {  # write_kubeconfig <file> <cert basename> <server>
  local ca crt key
  ca="$(base64 -w0 <"$PKI/ca.crt")"
  crt="$(base64 -w0 <"$PKI/$2.crt")"
  key="$(base64 -w0 <"$PKI/$2.key")"
  (umask 077; render "$MANIFESTS/kubeconfig.yaml" SERVER="$3" CA_DATA="$ca" USER="$2" CERT_DATA="$crt" \
    KEY_DATA="$key" >"$1")
}

render() {  # render <manifest> [NAME=value]...: the manifest with its @NAME@ placeholders filled in
  # In the shell, not sed: no escaping of the values, and the private keys (kubeconfig.yaml)
  # stay out of any process's command line.
  local text arg
  text="$(<"$1")"
  shift
  for arg in ROUTER_DOMAIN="$ROUTER_DOMAIN" ADMIN_SA="$ADMIN_SA" "$@"; do
    text="${text//"@${arg%%=*}@"/"${arg#*=}"}"
  done
  printf '%s\n' "$text"
}

write_configs() {
  cp "$MANIFESTS/admission.yaml" "$STATE/admission.yaml"
  local f sep=""
  for f in "$MANIFESTS"/kwok-stages/*.yaml; do
    printf '%s' "$sep"
    cat "$f"
    sep=$'---\n'
  done >"$STATE/kwok.yaml"
}

bootstrap_objects() {
  local f sep=""
  for f in bootstrap.yaml openshift-roles.yaml route-defaults.yaml scc-restricted-v2.yaml image-contracts.yaml job-faults.yaml; do
    printf '%s' "$sep"
    render "$MANIFESTS/$f"
    sep=$'---\n'
  done
}

route_probe() {  # dry-run a Route that needs both mutations; succeeds once the policy acts
  local out
  out="$(kc create --dry-run=server -o jsonpath='{.spec.tls.termination} {.spec.host}' \
    -f "$MANIFESTS/probe-route.yaml" 2>/dev/null)" || return 1
  [[ "$out" == "edge probe-default.$ROUTER_DOMAIN" ]]
}

probe_pod() {  # probe_pod <image> [namespace]: a pod that passes Pod Security restricted
  render "$MANIFESTS/probe-pod.yaml" NAMESPACE="${2:-default}" IMAGE="$1"
}

probe_image() {
  kc -n kube-system get configmap image-contracts -o 'jsonpath={.data.\.probe}'
}

contracts_probe() {  # the image-contracts policy reads the current ConfigMap
  local probe out
  probe="$(probe_image)" && [[ -n "$probe" ]] || return 1
  kc create --dry-run=server -o name -f - >/dev/null 2>&1 < <(probe_pod "$probe") || return 1
  out="$(kc create --dry-run=server -o name -f - 2>&1 < <(probe_pod unrecorded.test/probe:1))" && return 1
  [[ "$out" == *'ImagePullBackOff: image "unrecorded.test/probe:1" has no record'* ]]
}

scc_probe() {  # the SCC stand-in assigns runAsUser in an annotated namespace
  local probe out
  probe="$(probe_image)" && [[ -n "$probe" ]] || return 1
  out="$(kc create --dry-run=server -o 'jsonpath={.spec.containers[0].securityContext.runAsUser}' -f - \
    2>/dev/null < <(probe_pod "$probe" csc-mlflow-scc-probe))" || return 1
  [[ "$out" == 1000000000 ]]
}

# The Gateway API CRDs and the implementations' policy CRDs (names as the files define them).
GATEWAY_CRDS=(gatewayclasses gateways httproutes grpcroutes referencegrants backendtlspolicies listenersets
  tcproutes tlsroutes udproutes)
gateway_crd_names() {
  printf 'crd/%s.gateway.networking.k8s.io\n' "${GATEWAY_CRDS[@]}"
  printf 'crd/%s\n' securitypolicies.gateway.envoyproxy.io authorizationpolicies.security.istio.io
}

apply_gateway_crds() {  # apply (idempotent) and wait until served
  local names f
  # Checked here, not in load_tools: `status` of a cluster started before these CRDs must still answer.
  for f in GATEWAY_API_CRDS SECURITYPOLICY_CRD AUTHORIZATIONPOLICY_CRD; do
    [[ -s "${!f:-}" ]] || die "$f missing: run tests/cluster/build.sh"
  done
  mapfile -t names < <(gateway_crd_names)
  kc apply --server-side -f "$GATEWAY_API_CRDS" -f "$SECURITYPOLICY_CRD" -f "$AUTHORIZATIONPOLICY_CRD" >/dev/null
  kc wait --for condition=Established --timeout 60s "${names[@]}" >/dev/null
}

gateway_crds_present() {
  local names
  mapfile -t names < <(gateway_crd_names)
  kc get "${names[@]}" >/dev/null 2>&1
}

standins_ready() {
  pid_alive standins && grep -q 'ready: watching' "$LOGS/standins.log"
}

apply_contracts() {  # (re)generate the image-contracts ConfigMap; wait until the policy reads it
  local files=() f
  for f in "${CONTRACTS[@]}"; do
    if [[ -s "$REPO/$f" ]]; then files+=("$f"); else log "WARNING: $f missing: its images will be refused"; fi
  done
  local cm
  cm="$(cd "$REPO" && "$PYTHON" "$HERE/contracts.py" configmap "${files[@]}")" || die "bad image records (above)"
  kc apply --server-side --force-conflicts --field-manager csc-mlflow-contracts -f - <<<"$cm" >/dev/null
  wait_for 30 "the image-contracts policy to read the ConfigMap" contracts_probe
}

token_ready() {
  [[ -n "$(kc -n kube-system get secret "$ADMIN_SA-token" -o jsonpath='{.data.token}' 2>/dev/null)" ]]
}

# ------------------------------------------------------------------ commands
cmd_up() {
  load_tools
  "$PYTHON" -c 'import kubernetes, yaml' 2>/dev/null || die "$PYTHON lacks the kubernetes client (make setup)"
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  if pid_alive kube-apiserver && api_ready; then
    # A cluster started before the Gateway API CRDs were added: add them (the stand-ins watch them).
    if ! gateway_crds_present; then
      log "adding the Gateway API CRDs to the running cluster"
      apply_gateway_crds
    fi
    if ! pid_alive standins; then
      log "the stand-ins had stopped: restarting them (their log: $LOGS/standins.log)"
      start_bg standins "$PYTHON" "$HERE/standins.py" --kubeconfig "$STATE/kubeconfig" --router-domain "$ROUTER_DOMAIN"
      wait_for 60 "the stand-ins (router, cluster quota)" standins_ready
    fi
    log "already up: $(<"$STATE/server")"
    return 0
  fi
  cmd_down quiet
  local t0=$SECONDS
  gen_pki
  write_configs

  local etcd_port etcd_peer api_port kcm_port sched_port kwok_port
  etcd_port="$(free_port)"; etcd_peer="$(free_port)"; api_port="$(free_port)"
  kcm_port="$(free_port)"; sched_port="$(free_port)"; kwok_port="$(free_port)"
  local server="https://127.0.0.1:$api_port"
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nKCM_PORT=%s\nSCHEDULER_PORT=%s\nKWOK_PORT=%s\n' \
    "$etcd_port" "$etcd_peer" "$api_port" "$kcm_port" "$sched_port" "$kwok_port" >"$STATE/ports"
  echo "$server" >"$STATE/server"
  cp "$PKI/ca.crt" "$STATE/ca.crt"
  write_kubeconfig "$STATE/kubeconfig" admin "$server"
  write_kubeconfig "$STATE/kcm.kubeconfig" kcm "$server"
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler "$server"
  write_kubeconfig "$STATE/kwok.kubeconfig" kwok "$server"

  # etcd on tmpfs when there is one: every API write waits for etcd's fsync.
  local etcd_dir="$STATE/etcd"
  if [[ -d /dev/shm && -w /dev/shm ]]; then
    etcd_dir="/dev/shm/csc-mlflow-etcd-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)"
  fi
  rm -rf "$etcd_dir"
  mkdir -p "$etcd_dir" && chmod 0700 "$etcd_dir"
  echo "$etcd_dir" >"$STATE/etcd-dir"
  start_bg etcd etcd --name csc-mlflow --data-dir "$etcd_dir" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "csc-mlflow=http://127.0.0.1:$etcd_peer" \
    --experimental-watch-progress-notify-interval 5s --log-level warn
  wait_for 20 etcd curl -fsS "http://127.0.0.1:$etcd_port/health"

  start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --cert-dir "$PKI" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode RBAC \
    --endpoint-reconciler-type none \
    --admission-control-config-file "$STATE/admission.yaml" \
    --enable-priority-and-fairness=false --profiling=false \
    --feature-gates WatchList=false
  # WatchList=false: with it on, the apiserver turns every watch from resourceVersion 0
  # into a streaming watch-list, which needs etcd progress notifications that Debian's
  # etcd 3.4 lacks: such watches fail at once and clients (kwok, python) only see
  # changes on their next re-list, tens of seconds later.
  wait_for 60 kube-apiserver api_ready

  start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/kcm.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --cert-dir "$STATE/kcm-certs" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --controllers '*,-node-lifecycle-controller' \
    --enable-hostpath-provisioner=true \
    --leader-elect=false --profiling=false
  start_bg kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$sched_port" \
    --leader-elect=false --profiling=false
  start_bg kwok "$KWOK_BIN/kwok" \
    --kubeconfig "$STATE/kwok.kubeconfig" --config "$STATE/kwok.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address "127.0.0.1:$kwok_port" --node-ip 127.0.0.1 --cidr 10.244.0.0/16

  kc apply --server-side -f "$ROUTE_CRD" -f "$ACRQ_CRD" -f "$SERVICEMONITOR_CRD" >/dev/null
  kc wait --for condition=Established --timeout 60s crd/routes.route.openshift.io \
    crd/appliedclusterresourcequotas.quota.openshift.io crd/servicemonitors.monitoring.coreos.com >/dev/null
  apply_gateway_crds
  start_bg standins "$PYTHON" "$HERE/standins.py" --kubeconfig "$STATE/kubeconfig" --router-domain "$ROUTER_DOMAIN"
  bootstrap_objects | kc apply --server-side -f - >/dev/null
  wait_for 60 "the Route admission policy" route_probe
  apply_contracts
  # The SCC stand-in, seen from a namespace with the annotations the `rahti` profile sets.
  kc create namespace csc-mlflow-scc-probe >/dev/null
  kc annotate namespace csc-mlflow-scc-probe openshift.io/sa.scc.uid-range=1000000000/10000 \
    openshift.io/sa.scc.supplemental-groups=1000000000/10000 >/dev/null
  wait_for 60 "the SCC admission policies" scc_probe
  kc delete namespace csc-mlflow-scc-probe --wait=false >/dev/null
  wait_for 60 "the stand-ins (router, cluster quota)" standins_ready
  wait_for 60 "the admin ServiceAccount token" token_ready
  (umask 077; kc -n kube-system get secret "$ADMIN_SA-token" -o jsonpath='{.data.token}' | base64 -d >"$STATE/token")
  wait_for 60 "the kwok nodes Ready" kc wait --for condition=Ready --timeout 1s node/kwok-node-0 node/kwok-node-1
  # The apiserver taints every new node not-ready; the node lifecycle controller (disabled:
  # kwok sends no heartbeats we need) would lift it once Ready. Lift it here.
  for node in kwok-node-0 kwok-node-1; do
    kc taint node "$node" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  done
  wait_for 60 "ServiceAccount default/default" kc -n default get serviceaccount default
  for c in "${COMPONENTS[@]}"; do pid_alive "$c" || die "$c exited (see $LOGS/$c.log)"; done
  cat >"$STATE/env" <<EOF
KUBECONFIG=$STATE/kubeconfig
KUBECTL=$KUBECTL
K8S_AUTH_HOST=$server
K8S_AUTH_SSL_CA_CERT=$STATE/ca.crt
EOF
  log "up in $((SECONDS - t0)) s: $server (KUBECONFIG=$STATE/kubeconfig)"
}

stop_one() {  # stop_one <component>
  local name="$1" f="$PIDS/$1.pid" pid i
  [[ -s "$f" ]] || { rm -f "$f"; return 0; }
  pid="$(<"$f")"
  if pid_alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop in 10 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

cmd_down() {
  [[ -d "$PIDS" ]] || return 0
  local c
  for c in "${COMPONENTS[@]}"; do stop_one "$c"; done
  if [[ -s "$STATE/etcd-dir" ]]; then
    local d
    d="$(<"$STATE/etcd-dir")"
    [[ "$d" == /dev/shm/csc-mlflow-etcd-* || "$d" == "$STATE/etcd" ]] && rm -rf "$d"
    rm -f "$STATE/etcd-dir"
  fi
  rm -f "$STATE/token" "$STATE/server"
  [[ "${1:-}" == quiet ]] || log "down"
}

cmd_env() {
  [[ -s "$STATE/server" ]] || die "cluster is not up (tests/cluster/cluster.sh up)"
  load_tools
  printf 'export KUBECONFIG=%q\n' "$STATE/kubeconfig"
  # shellcheck disable=SC2016  # $PATH / $(cat) are for the shell that evaluates this output
  printf 'export PATH=%q:"$PATH"\n' "$K8S_BIN"
  printf '# AWX-style credentials instead of a kubeconfig:\n'
  # shellcheck disable=SC2016
  printf '# export K8S_AUTH_HOST=%q K8S_AUTH_SSL_CA_CERT=%q K8S_AUTH_API_KEY="$(cat %q)"\n' \
    "$(<"$STATE/server")" "$STATE/ca.crt" "$STATE/token"
}

lock() {  # one up/down at a time (several engineers / test sessions share .cluster)
  mkdir -p "$STATE"
  exec 8>"$STATE/.lock"
  flock 8
}

case "${1:-}" in
  up) lock; cmd_up ;;
  down) lock; cmd_down ;;
  env) cmd_env ;;
  status) load_tools; api_ready ;;
  contracts) load_tools; api_ready || die "cluster is not up (tests/cluster/cluster.sh up)"; apply_contracts ;;
  *) echo "usage: $0 up|down|env|status|contracts" >&2; exit 2 ;;
esac
