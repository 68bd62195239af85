#!/usr/bin/env bash
# `make bench`: performance figures (not a test). See docs/PERFORMANCE.md.
#   1. tests/bench/deploy_bench.py  deploy playbook timings on the test cluster
#   2. tests/bench/stack_bench.py   running stack: NGINX proxy vs direct (latency, 1 GiB)
#   3. tests/bench/small_stack_bench.py  small stack (SQLite, artifacts on its volume) vs full stack: 16 clients
#      logging batches, 1 GiB through each (~5 min)
# BENCH_SQLITE=1 adds tests/bench/sqlite_concurrency.py: MLflow on SQLite straight, each journal mode and worker
# count (1, 2, 4) against PostgreSQL, a minute each (~8 min).
# Starts the local test cluster when it is not running, and stops it again afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=$ROOT/.venv/bin/python
started=
if ! "$ROOT/tests/cluster/cluster.sh" status >/dev/null 2>&1; then
  "$ROOT/tests/cluster/cluster.sh" up
  started=1
fi
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { if [[ -n $started ]]; then "$ROOT/tests/cluster/cluster.sh" down || true; fi; }
trap cleanup EXIT
rc=0
echo "== Deploy playbook =="
"$PY" "$ROOT/tests/bench/deploy_bench.py" || rc=$?
echo
echo "== Running stack =="
"$PY" "$ROOT/tests/bench/stack_bench.py" || rc=$?
echo
echo "== Small stack vs full stack =="
"$PY" "$ROOT/tests/bench/small_stack_bench.py" || rc=$?
if [[ ${BENCH_SQLITE:-0} == 1 ]]; then
  echo
  echo "== MLflow on SQLite: journal modes and workers =="
  "$PY" "$ROOT/tests/bench/sqlite_concurrency.py" || rc=$?
fi
exit $rc
