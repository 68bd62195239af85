"""Running-stack benchmark (`make bench`, after deploy_bench.py): NGINX proxy vs direct.

From one run on this machine, side by side:
  * log_metric and log_batch latency (p50/p99) and throughput through the NGINX proxy
    vs straight to MLflow;
  * 1 GiB artifact upload and download throughput through the proxy (MLflow client)
    vs straight to MinIO (boto3).
Targets: proxy overhead < 10 % on metric logging; uploads >= 80 % of direct throughput.

The stack is deployed with playbooks/deploy.yml into namespace `bench-stack` of the
running test cluster (.cluster/kubeconfig, or $CSC_MLFLOW_CLUSTER_DIR/kubeconfig) and started by tests/stack/harness.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "stack"))

from harness import Deployed, Stack, Tools, local_env  # noqa: E402

NS = os.environ.get("BENCH_NAMESPACE", "bench-stack")
N_METRIC = int(os.environ.get("BENCH_N_METRIC", "300"))
N_BATCH = int(os.environ.get("BENCH_N_BATCH", "100"))
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))

CLIENT = textwrap.dedent("""
    import json, os, sys, time
    from mlflow.tracking import MlflowClient
    from mlflow.entities import Metric
    n_metric, n_batch = int(sys.argv[1]), int(sys.argv[2])
    c = MlflowClient()
    exp = c.create_experiment(f"bench-{os.getpid()}-{time.time()}")
    run = c.create_run(exp).info.run_id
    def pct(xs, p):
        xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000
    out = {}
    for i in range(10):  # warm-up (connections, caches)
        c.log_metric(run, "warm", i, step=i)
    lat = []; t0 = time.perf_counter()
    for i in range(n_metric):
        t = time.perf_counter(); c.log_metric(run, "m", float(i), step=i); lat.append(time.perf_counter() - t)
    out["log_metric"] = {"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "per_s": n_metric / (time.perf_counter() - t0)}
    lat = []; t0 = time.perf_counter(); ts = int(time.time() * 1000)
    for b in range(n_batch):
        ms = [Metric(f"b{k}", float(b), ts, b) for k in range(100)]
        t = time.perf_counter(); c.log_batch(run, metrics=ms); lat.append(time.perf_counter() - t)
    el = time.perf_counter() - t0
    out["log_batch"] = {"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "per_s": n_batch / el,
                        "metrics_per_s": 100 * n_batch / el}
    if len(sys.argv) > 3:
        big = sys.argv[3]
        size = os.path.getsize(big)
        t0 = time.perf_counter(); c.log_artifact(run, big); up = time.perf_counter() - t0
        d = os.path.join(os.path.dirname(big), "dl"); os.makedirs(d, exist_ok=True)
        t0 = time.perf_counter(); p = c.download_artifacts(run, os.path.basename(big), d); down = time.perf_counter() - t0
        os.remove(p)
        out["upload_MBps"] = size / up / 1e6
        out["download_MBps"] = size / down / 1e6
        out["upload_s"], out["download_s"] = up, down
    print("RESULT " + json.dumps(out))
""")

S3_DIRECT = textwrap.dedent("""
    import json, os, sys, time
    import boto3
    from boto3.s3.transfer import TransferConfig
    big, endpoint, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    size = os.path.getsize(big)
    t0 = time.perf_counter(); s3.upload_file(big, bucket, "bench/direct.bin"); up = time.perf_counter() - t0
    dst = big + ".dl"
    t0 = time.perf_counter(); s3.download_file(bucket, "bench/direct.bin", dst); down = time.perf_counter() - t0
    os.remove(dst); s3.delete_object(Bucket=bucket, Key="bench/direct.bin")
    print("RESULT " + json.dumps({"upload_MBps": size / up / 1e6, "download_MBps": size / down / 1e6,
                                  "upload_s": up, "download_s": down}))
""")


def run_py(stack: Stack, code: str, args: list[str], env: dict[str, str]) -> dict:
    venv = stack.tools.mlflow_venv
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code, *args], check=False, env=local_env(env, venv),
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"bench client failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def make_big(path: Path, mib: int) -> None:
    block = os.urandom(8 << 20)
    with open(path, "wb") as f:
        for i in range(max(1, mib // 8)):
            f.write(i.to_bytes(8, "little") + block[8:])


def main() -> int:
    from kubernetes import config

    kubeconfig = str(Path(os.environ.get("CSC_MLFLOW_CLUSTER_DIR", REPO / ".cluster")) / "kubeconfig")
    venv_bin = REPO / ".venv" / "bin"
    env = {**os.environ, "KUBECONFIG": kubeconfig, "K8S_AUTH_KUBECONFIG": kubeconfig,
           "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    subprocess.run([str(venv_bin / "python"), "-c", "pass"], check=True)
    kc = [str(venv_bin / "python"), "-c",
          "import sys,kubernetes as k; k.config.load_kube_config(sys.argv[1]); c=k.client.CoreV1Api();"
          "n=sys.argv[2]\ntry: c.read_namespace(n)\nexcept k.client.ApiException: "
          "c.create_namespace(k.client.V1Namespace(metadata=k.client.V1ObjectMeta(name=n)))", kubeconfig, NS]
    subprocess.run(kc, check=True)
    t0 = time.perf_counter()
    r = subprocess.run([str(venv_bin / "ansible-playbook"), str(REPO / "playbooks/deploy.yml"), "-i",
                        str(REPO / "inventories/local"), "-e", f"mlflow_namespace={NS}", "-e", "mlflow_route_allow_all=true"],
                       env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-2000:])
        return 1
    print(f"deploy.yml into {NS}: {time.perf_counter() - t0:.1f}s")
    state = Path(tempfile.mkdtemp(prefix="stack-bench-"))
    stack = Stack(Deployed(config.new_client_from_config(config_file=kubeconfig), NS), state, Tools.find())
    try:
        t0 = time.perf_counter()
        stack.up()
        print(f"stack up (PostgreSQL, MinIO, MLflow, NGINX): {time.perf_counter() - t0:.1f}s")
        cfg = stack.deployed.env(stack.mlflow_container()[1])
        print(f"MLflow workers: {cfg.get('MLFLOW_WORKERS')}, nginx worker_processes from the ConfigMap")
        big = state / "big.bin"
        make_big(big, BIG_MIB)
        proxy = run_py(stack, CLIENT, [str(N_METRIC), str(N_BATCH), str(big)], stack.client_env())
        direct = run_py(stack, CLIENT, [str(N_METRIC), str(N_BATCH)], stack.client_env(direct=True))
        bucket = cfg.get("S3_BUCKET", "default")
        s3 = run_py(stack, S3_DIRECT, [str(big), stack.minio.endpoint, bucket],
                    {"AWS_ACCESS_KEY_ID": cfg["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": cfg["AWS_SECRET_ACCESS_KEY"]})
        big.unlink()
    finally:
        stack.down()
        subprocess.run(["rm", "-rf", str(state)], check=False)

    def row(name, a, b, unit, lower_better=True):
        ratio = (a / b) if b else float("nan")
        print(f"  {name:<28} {a:>10.1f} {b:>10.1f}  {unit:<6} proxy/direct {ratio:5.2f}")

    print(f"\nRunning stack, one run ({N_METRIC} log_metric, {N_BATCH} log_batch x 100 metrics, {BIG_MIB} MiB file)")
    print(f"  {'':<28} {'proxy':>10} {'direct':>10}")
    for k in ("log_metric", "log_batch"):
        row(f"{k} p50", proxy[k]["p50_ms"], direct[k]["p50_ms"], "ms")
        row(f"{k} p99", proxy[k]["p99_ms"], direct[k]["p99_ms"], "ms")
        row(f"{k} throughput", proxy[k]["per_s"], direct[k]["per_s"], "req/s", False)
    row("upload 1 GiB (vs boto3->S3)", proxy["upload_MBps"], s3["upload_MBps"], "MB/s", False)
    row("download 1 GiB (vs boto3)", proxy["download_MBps"], s3["download_MBps"], "MB/s", False)
    overhead = proxy["log_metric"]["p50_ms"] / direct["log_metric"]["p50_ms"] - 1
    up_ratio = proxy["upload_MBps"] / s3["upload_MBps"]
    print(f"\n  target: metric logging proxy overhead < 10 %: {overhead * 100:+.1f} % "
          f"{'OK' if overhead < 0.10 else 'MISSED'}")
    print(f"  target: upload through the proxy >= 80 % of direct: {up_ratio * 100:.0f} % "
          f"{'OK' if up_ratio >= 0.8 else 'MISSED'}")
    out = REPO / "tests" / "output"
    out.mkdir(exist_ok=True)
    (out / "stack_bench.json").write_text(json.dumps({"proxy": proxy, "direct": direct, "s3": s3}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
