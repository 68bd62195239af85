#!/usr/bin/env bash
# `make demo` / `make demo-down`: the newcomer's first command.
#
#   tests/demo/demo.sh up     local test cluster + playbooks/deploy.yml + the deployed
#                             stack running on 127.0.0.1 (real PostgreSQL, MinIO, MLflow,
#                             NGINX started from what the playbook applied)
#   tests/demo/demo.sh down   stop everything `up` started, by PID (the cluster too,
#                             when `up` started it)
#
# State in .demo/ (gitignored): pids/, logs/, deploy.log, env (export lines).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEMO=$ROOT/.demo
NS=${DEMO_NAMESPACE:-mlflow-demo}
APP=${DEMO_APP:-mlflow}
PY=$ROOT/.venv/bin/python
export PATH=$ROOT/.venv/bin:$PATH
log() { printf '[demo] %s\n' "$*" >&2; }

up() {
  mkdir -p "$DEMO"
  if [[ -f $DEMO/stack/stack.json ]]; then
    log "already up (tests/demo/demo.sh down first); settings:"; cat "$DEMO/env"; return 0
  fi
  if ! "$ROOT/tests/cluster/cluster.sh" status >/dev/null 2>&1; then
    log "starting the local test cluster"
    "$ROOT/tests/cluster/cluster.sh" up
    touch "$DEMO/cluster-started"
  fi
  eval "$("$ROOT/tests/cluster/cluster.sh" env)"
  export KUBECONFIG=${CSC_MLFLOW_CLUSTER_DIR:-$ROOT/.cluster}/kubeconfig
  export K8S_AUTH_KUBECONFIG=$KUBECONFIG
  # A Rahti-like project: its LimitRange and CSC quota, SCC-like UIDs (the tests' `rahti` profile).
  kubectl get namespace "$NS" >/dev/null 2>&1 || (cd "$ROOT/tests" && "$PY" -c '
import json, sys
from harness.cluster import Cluster
c = Cluster()
c.kubectl_run("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": c.profile_objects(sys.argv[1], "rahti")}))
' "$NS")
  # A new quota refuses pods until the controller has counted it (a real project has it long before).
  for _ in $(seq 100); do
    [[ -n "$(kubectl -n "$NS" get resourcequota -o jsonpath='{.items[*].status.used.pods}')" ]] && break
    sleep 0.2
  done

  log "ansible-playbook playbooks/deploy.yml -i inventories/local -e mlflow_namespace=$NS (log: .demo/deploy.log)"
  (cd "$ROOT" && ansible-playbook playbooks/deploy.yml -i inventories/local \
     -e "mlflow_namespace=$NS" -e "mlflow_app_name=$APP") >"$DEMO/deploy.log" 2>&1 || {
    tail -n 40 "$DEMO/deploy.log" >&2; log "deploy.yml failed"; exit 1; }

  log "starting PostgreSQL, MinIO, MLflow and NGINX from what was deployed (logs: .demo/stack/logs)"
  PYTHONPATH="$ROOT/tests/stack" "$PY" -m running_stack up --namespace "$NS" --app "$APP" --state "$DEMO/stack" \
    --kubeconfig "$KUBECONFIG" >"$DEMO/stack.json"
  url=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tracking_uri"])' "$DEMO/stack.json")
  user=$(kubectl -n "$NS" get secret "$APP-users" -o jsonpath='{.data}' |
         "$PY" -c 'import json,sys; print(sorted(json.load(sys.stdin))[0])')
  mlflow_py=$(PYTHONPATH="$ROOT/tests/stack" "$PY" -c 'from running_stack.tools import Tools; print(Tools.find().python())' 2>/dev/null || echo python3)
  pwcmd="$(command -v kubectl) --kubeconfig $KUBECONFIG -n $NS get secret $APP-users -o jsonpath='{.data.$user}' | base64 -d"
  {
    echo "export MLFLOW_TRACKING_URI=$url"
    echo "export MLFLOW_TRACKING_USERNAME=$user"
    echo "export MLFLOW_TRACKING_PASSWORD=\"\$($pwcmd)\""
  } >"$DEMO/env"
  cat <<EOF

MLflow is running (configuration from namespace $NS of the local test cluster).
  UI / tracking URL : $url   (the deployed Route would be: see .demo/deploy.log)
  user              : $user
  password          : $pwcmd
For a training script:
$(sed 's/^/  /' "$DEMO/env")
  source .demo/env
  $mlflow_py -c 'import mlflow; mlflow.set_experiment("hello"); mlflow.start_run(); mlflow.log_metric("x", 1); mlflow.end_run()'
  (that Python is the project's MLflow venv, installed from images/mlflow/requirements.txt)
Stop everything: make demo-down
EOF
}

down() {
  if [[ -d $DEMO/stack ]]; then
    log "stopping the stack"
    PYTHONPATH="$ROOT/tests/stack" "$PY" -m running_stack down --state "$DEMO/stack" || true
  fi
  if [[ -f $DEMO/cluster-started ]]; then
    log "stopping the cluster demo.sh started"
    "$ROOT/tests/cluster/cluster.sh" down || true
  fi
  rm -rf "$DEMO"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
