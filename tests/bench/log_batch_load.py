"""The benches' many-writers load: client processes at once, each with its own run and HTTP connection, posting
log-batch calls (`metrics` metrics and `params` new params each, as a training loop logs a step) as fast as the
server answers until a deadline. Used by sqlite_concurrency.py (MLflow on SQLite, straight) and
small_stack_bench.py (the small and the full stack, through NGINX with a user's credentials).

Each client is a process of its own (fork), so 16 clients are not 16 threads behind one GIL.
"""

from __future__ import annotations

import base64
import http.client
import json
import multiprocessing
import statistics
import time
from urllib.parse import urlsplit


def connect(url, auth=None):
    """(connection, headers) for `url` (http://host:port), with basic auth when `auth` is (user, password)."""
    u = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120), headers


def call(conn, headers, path, body):
    """POST to the REST API; (status, text)."""
    conn.request("POST", "/api/2.0/mlflow/" + path, json.dumps(body), headers)
    r = conn.getresponse()
    return r.status, r.read().decode("utf-8", "replace")


def client(target, experiment, start_at, seconds, shape, queue):
    """One client process: its own run, log-batch calls until the deadline; counts, latencies, errors -> queue."""
    metrics, params = shape
    conn, headers = connect(*target)
    status, text = call(conn, headers, "runs/create", {"experiment_id": experiment})
    run = json.loads(text)["run"]["info"]["run_id"] if status == 200 else None
    ok, latencies, errors = 0, [], []
    while time.time() < start_at:
        time.sleep(0.01)
    n = 0
    while run and time.time() < start_at + seconds:
        ts = int(time.time() * 1000)
        body = {"run_id": run,
                "metrics": [{"key": f"m{k}", "value": float(n), "timestamp": ts, "step": n} for k in range(metrics)],
                "params": [{"key": f"p{n}_{k}", "value": str(k)} for k in range(params)]}
        t = time.perf_counter()
        try:
            status, text = call(conn, headers, "runs/log-batch", body)
        except (OSError, http.client.HTTPException) as e:
            status, text = 0, repr(e)
            conn.close()
            conn, headers = connect(*target)
        latencies.append(time.perf_counter() - t)
        if status == 200:
            ok += 1
        else:
            errors.append(f"{status} {text[:200]}")
        n += 1
    if not run:
        errors.append(f"runs/create {status} {text[:200]}")
    queue.put({"ok": ok, "latencies": latencies, "errors": errors})


def load(url, clients=16, seconds=60.0, metrics=100, params=2, auth=None):
    """`clients` processes at once for `seconds` against `url` (with `auth`, (user, password), through NGINX):
    {"ok", "errors", "latencies" (sorted, s), "calls_per_s", "seconds"}."""
    conn, headers = connect(url, auth)
    status, text = call(conn, headers, "experiments/create", {"name": f"bench-{time.time()}"})
    if status != 200:
        raise SystemExit(f"experiments/create: {status} {text[:500]}")
    experiment = json.loads(text)["experiment_id"]
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 3  # every client has its run before the clock starts
    procs = [ctx.Process(target=client, args=((url, auth), experiment, start_at, seconds, (metrics, params), queue))
             for _client in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 600) for _proc in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r["latencies"])
    ok, errors = sum(r["ok"] for r in results), [e for r in results for e in r["errors"]]
    return {"ok": ok, "errors": errors, "latencies": latencies, "calls_per_s": (ok + len(errors)) / seconds,
            "seconds": seconds}


def pct(xs, p):
    """The p-th percentile of sorted `xs` (seconds) in ms."""
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000 if xs else float("nan")


def p50(xs):
    return statistics.median(xs) * 1000 if xs else float("nan")


def error_kinds(errors, most=3):
    """The `most` commonest error texts (first 120 characters) with their counts."""
    kinds = {}
    for e in errors:
        kinds[e[:120]] = kinds.get(e[:120], 0) + 1
    return "; ".join(f"{n}x {k}" for k, n in sorted(kinds.items(), key=lambda x: -x[1])[:most])
