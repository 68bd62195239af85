"""Running-stack benchmark (`make bench`, after deploy_bench.py): NGINX proxy vs direct.

From one run on this machine, side by side:
  * log_metric and log_batch latency (p50/p99) and throughput through the NGINX proxy
    vs straight to MLflow, every call made both ways in turn by one client process;
  * 16 clients at once posting log-batch calls through the proxy (failed-login limit on, valid credentials)
    vs straight to MLflow, rounds alternating: calls per second (medians) and p99;
  * 1 GiB artifact upload and download throughput of the MLflow client with only the printed exports
    (pre-signed URLs through the public pre-signed path, docs/DESIGN.md) vs boto3 straight to the store (the
    anchor), and the same MLflow client code on the same pre-signed URLs through the path vs straight to the store,
    BENCH_TRANSFER_ROUNDS times in turn (medians and spread), with the CPU seconds per GiB of the store, NGINX
    and the client, and the peak RSS of the tracking server's and NGINX's process groups and of the server's temp
    dir during each MLflow transfer.
The 16 clients and the transfer pairs run twice: with every process on the machine's shared cores, then with each
process under the CPU limit of its deployed container (a CFS quota, as the kubelet sets it: running_stack/cpu_limits.py;
skipped where the cgroup hierarchy is not writable). The client is never limited: it is the user's machine.
Targets: proxy overhead < 10 % on metric logging; through the pre-signed path >= 90 % of the same client straight to
the store in every round; MLflow client uploads >= 90 %, downloads >= 80 % of boto3 straight to the store.

The stack is deployed with playbooks/deploy.yml into a fresh namespace `bench-stack-<hex>` (Rahti profile) of the
running test cluster (.cluster/kubeconfig, or $CSC_MLFLOW_CLUSTER_DIR/kubeconfig) and started by tests/stack/running_stack/.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "stack"))

from running_stack import cpu_limits  # noqa: E402
from running_stack.deployed import Deployed  # noqa: E402
from running_stack.processes import local_env  # noqa: E402
from running_stack.stack import Stack  # noqa: E402
from running_stack.tools import Tools  # noqa: E402

NS = os.environ.get("BENCH_NAMESPACE", "bench-stack")
N_METRIC = int(os.environ.get("BENCH_N_METRIC", "300"))
N_BATCH = int(os.environ.get("BENCH_N_BATCH", "100"))
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))
TRANSFER_ROUNDS = int(os.environ.get("BENCH_TRANSFER_ROUNDS", "3"))
PARALLEL_CLIENTS = int(os.environ.get("BENCH_PARALLEL_CLIENTS", "16"))
PARALLEL_CALLS = int(os.environ.get("BENCH_PARALLEL_CALLS", "40"))   # log-batch calls per client and round
PARALLEL_ROUNDS = int(os.environ.get("BENCH_PARALLEL_ROUNDS", "3"))  # per side, alternating

LATENCY = textwrap.dedent("""
    import json, os, sys, time
    from mlflow.tracking import MlflowClient
    from mlflow.entities import Metric
    n_metric, n_batch, direct_uri = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    # One process, two clients; every call alternates proxy and direct (order swapped each time),
    # so both see the same machine: on a shared 2-core VM wall times drift by +-20 % within minutes.
    clients = {"proxy": MlflowClient(), "direct": MlflowClient(tracking_uri=direct_uri)}
    exp = clients["proxy"].create_experiment(f"bench-{os.getpid()}-{time.time()}")
    runs = {k: c.create_run(exp).info.run_id for k, c in clients.items()}
    out = {k: {"log_metric": [], "log_batch": []} for k in clients}
    for i in range(10):  # warm-up (connections, caches)
        for k, c in clients.items():
            c.log_metric(runs[k], "warm", i, step=i)
    def timed(kind, i, call):
        for k in (("proxy", "direct") if i % 2 == 0 else ("direct", "proxy")):
            t = time.perf_counter(); call(clients[k], runs[k]); out[k][kind].append(time.perf_counter() - t)
    for i in range(n_metric):
        timed("log_metric", i, lambda c, r: c.log_metric(r, "m", float(i), step=i))
    ts = int(time.time() * 1000)
    for b in range(n_batch):
        ms = [Metric(f"b{k}", float(b), ts, b) for k in range(100)]
        timed("log_batch", b, lambda c, r: c.log_batch(r, metrics=ms))
    print("RESULT " + json.dumps(out))
""")

TRANSFER = textwrap.dedent("""
    import json, os, sys, time
    from mlflow.tracking import MlflowClient
    big = sys.argv[1]
    c = MlflowClient()
    run = c.create_run(c.create_experiment(f"bench-big-{os.getpid()}-{time.time()}")).info.run_id
    size = os.path.getsize(big)
    t0 = time.perf_counter(); c.log_artifact(run, big); up = time.perf_counter() - t0
    d = os.path.join(os.path.dirname(big), "dl"); os.makedirs(d, exist_ok=True)
    t0 = time.perf_counter(); p = c.download_artifacts(run, os.path.basename(big), d); down = time.perf_counter() - t0
    os.remove(p)
    print("RESULT " + json.dumps({"upload_MBps": size / up / 1e6, "download_MBps": size / down / 1e6,
                                  "upload_s": up, "download_s": down}))
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


# The same MLflow client code on the same pre-signed URLs, once straight to the store and once through the stack's
# pre-signed path (the URL's host swapped, nothing else): what the path itself costs. Uploads: part URLs of a
# multipart upload (as the server's mpu/create makes them) PUT by HttpArtifactRepository._upload_part on MLflow's
# thread pool size; downloads: ranges of MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE fetched by download_chunk, as
# download_artifacts does. ROUNDS rounds, the two sides in turn (the order alternates), timed per side.
CLIENT_PAIRS = textwrap.dedent("""
    import json, math, os, sys, time
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit, urlunsplit
    import boto3
    from botocore.config import Config
    from mlflow.entities.multipart_upload import MultipartUploadCredential
    from mlflow.environment_variables import MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE, MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE
    from mlflow.store.artifact.artifact_repo import _NUM_MAX_THREADS, _NUM_MAX_THREADS_PER_CPU
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    from mlflow.utils.request_utils import download_chunk
    big, endpoint, bucket, public, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    groups = json.loads(sys.argv[6])   # {"store": pgid, "nginx": pgid}: their CPU seconds per timed transfer
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(signature_version="s3v4"))
    size = os.path.getsize(big)
    workers = min((os.cpu_count() or 2) * _NUM_MAX_THREADS_PER_CPU, _NUM_MAX_THREADS)
    pub = urlsplit(public)

    def cpu_seconds():
        tick, total = os.sysconf("SC_CLK_TCK"), {name: 0.0 for name in groups}
        for d in filter(str.isdigit, os.listdir("/proc")):
            try:
                fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            for name, pgid in groups.items():
                if int(fields[2]) == pgid:   # pgrp; utime + stime
                    total[name] += (int(fields[11]) + int(fields[12])) / tick
        t = os.times()
        return {**total, "client": t.user + t.system}

    cpu = []
    def timed(kind, side, transfer):
        c0, t0 = cpu_seconds(), time.perf_counter()
        transfer()
        took, c1 = time.perf_counter() - t0, cpu_seconds()
        cpu.append({"kind": kind, "side": side, "wall": took, **{k: c1[k] - c0[k] for k in c1}})
        return took

    def via(url, side):
        u = urlsplit(url)
        return url if side == "straight" else urlunsplit((pub.scheme, pub.netloc, u.path, u.query, ""))

    def upload(side, key):
        os.sync()   # the previous side's writes are on disk: neither side pays for the other's writeback
        chunk = MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE.get()
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        creds = [MultipartUploadCredential(url=via(s3.generate_presigned_url("upload_part", Params={
            "Bucket": bucket, "Key": key, "PartNumber": i + 1, "UploadId": upload_id}), side), part_number=i + 1,
            headers={}) for i in range(math.ceil(size / chunk))]
        parts = []
        def put_parts():
            with ThreadPoolExecutor(workers) as ex:
                parts.extend(ex.map(lambda i: HttpArtifactRepository._upload_part(creds[i], big, chunk, chunk * i),
                                    range(len(creds))))
        took = timed("upload", side, put_parts)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in parts]})
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == size
        return size / took / 1e6

    def download(side, key):
        url = via(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}), side)
        chunk = MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE.get()
        dst = big + ".dl"
        with open(dst, "wb") as f:
            f.truncate(size)
        def get_ranges():
            with ThreadPoolExecutor(workers) as ex:
                list(ex.map(lambda a: download_chunk(range_start=a, range_end=min(a + chunk, size) - 1, headers={},
                                                     download_path=dst, http_uri=url), range(0, size, chunk)))
        took = timed("download", side, get_ranges)
        os.remove(dst)
        return size / took / 1e6

    out = {"upload": [], "download": []}
    for r in range(rounds):
        sides = ("straight", "path") if r % 2 == 0 else ("path", "straight")
        up, down = {}, {}
        for side in sides:
            up[side] = upload(side, f"bench/pairs-{side}.bin")
        for side in sides:
            down[side] = download(side, f"bench/pairs-{side}.bin")
        out["upload"].append(up)
        out["download"].append(down)
    for side in ("straight", "path"):
        s3.delete_object(Bucket=bucket, Key=f"bench/pairs-{side}.bin")
    out["cpu"] = cpu
    print("RESULT " + json.dumps(out))
""")


def group_rss(pgid: int) -> int:
    """Sum of the resident set sizes (bytes) of the processes in process group `pgid`."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:   # field 5 of stat: pgrp
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")   # field 24: rss (pages)
        except (OSError, IndexError, ValueError):
            continue
    return total


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def unlinked_bytes(pgid: int, root: Path) -> int:
    """What the processes of group `pgid` hold open under `root` without a name there (deleted, or O_TMPFILE as
    Python's tempfile.TemporaryFile makes them): disk a directory walk does not see."""
    total, prefix = 0, str(root) + "/"
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[2]) != pgid:
                    continue
            for fd in os.listdir(f"/proc/{d}/fd"):
                target = os.readlink(f"/proc/{d}/fd/{fd}")
                if target.startswith(prefix) and target.endswith(" (deleted)"):
                    total += os.stat(f"/proc/{d}/fd/{fd}").st_blocks * 512
        except (OSError, IndexError, ValueError):
            continue
    return total


def server_env(stack: Stack) -> dict[str, str]:
    """The environment of the running tracking server (the pod's, as the harness mapped its paths and ports)."""
    environ = Path(f"/proc/{pid_of(stack, 'mlflow')}/environ").read_bytes().split(b"\0")
    return dict(e.decode(errors="replace").split("=", 1) for e in environ if b"=" in e)


def spool_dir(stack: Stack) -> Path:
    """The tracking server's temp dir (spool): TMPDIR of its running process (the full stack: the pod's emptyDir
    /tmp; the small stack: /mlflow/tmp on the volume)."""
    tmp = server_env(stack).get("TMPDIR")
    return Path(tmp) if tmp else stack.state / "mlflow" / "tmp"


class Peaks:
    """Samples, every 0.1 s until stopped, the tracking server's and NGINX's RSS and the server's temp dir (with
    `volume`, also that directory's size: "volume")."""

    def __init__(self, stack: Stack, volume: Path | None = None):
        self.pids = {name: pid_of(stack, name) for name in ("mlflow", "nginx")}
        self.tmp = spool_dir(stack)
        self.volume = volume
        self.peak = {"mlflow_rss": 0, "nginx_rss": 0, "mlflow_tmp": 0, "volume": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            sample = {"mlflow_rss": group_rss(self.pids["mlflow"]), "nginx_rss": group_rss(self.pids["nginx"]),
                      "mlflow_tmp": tree_bytes(self.tmp) + unlinked_bytes(self.pids["mlflow"], self.tmp),
                      "volume": tree_bytes(self.volume) if self.volume else 0}
            self.peak = {k: max(v, sample[k]) for k, v in self.peak.items()}
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# PARALLEL_CLIENTS clients at once, each its own HTTP session posting log-batch calls of 100 metrics, through the
# NGINX proxy (with the failed-login limit on: valid credentials) and straight to MLflow, rounds alternating.
PARALLEL = textwrap.dedent("""
    import json, sys, threading, time
    import requests
    proxy, direct, user, password, clients, calls, rounds = sys.argv[1:8]
    clients, calls, rounds = int(clients), int(calls), int(rounds)
    auth = {"proxy": (user, password), "direct": None}
    base = {"proxy": proxy, "direct": direct}
    def post(side, s, path, body):
        r = s.post(base[side] + "/api/2.0/mlflow/" + path, json=body, auth=auth[side], timeout=120)
        r.raise_for_status()
        return r.json()
    s = requests.Session()
    exp = post("proxy", s, "experiments/create", {"name": "bench-parallel-%f" % time.time()})["experiment_id"]
    out = {"proxy": [], "direct": []}
    order = [("proxy", "direct") if i % 2 == 0 else ("direct", "proxy") for i in range(rounds)]
    for pair in order:
        for side in pair:
            sessions = [requests.Session() for _ in range(clients)]
            runs = [post(side, sessions[i], "runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
                    for i in range(clients)]
            lat, errors = [], []
            def client(i):
                ts = int(time.time() * 1000)
                for b in range(calls):
                    body = {"run_id": runs[i], "metrics": [{"key": "m%d" % k, "value": float(b), "timestamp": ts,
                                                            "step": b} for k in range(100)]}
                    t = time.perf_counter()
                    try:
                        post(side, sessions[i], "runs/log-batch", body)
                    except Exception as e:  # counted, not hidden
                        errors.append(repr(e)[:200])
                    lat.append(time.perf_counter() - t)
            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            t0 = time.perf_counter()
            for th in threads: th.start()
            for th in threads: th.join()
            wall = time.perf_counter() - t0
            out[side].append({"calls_per_s": clients * calls / wall, "latencies": lat, "errors": errors})
    print("RESULT " + json.dumps(out))
""")


def run_py(stack: Stack, code: str, args: list[str], env: dict[str, str]) -> dict:
    venv = stack.tools.mlflow_venv
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code, *args], check=False, env=local_env(env, venv),
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"bench client failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def pid_of(stack: Stack, name: str) -> int:
    return int((stack.state / "pids" / f"{name}.pid").read_text())


def make_big(path: Path, mib: int) -> None:
    block = os.urandom(8 << 20)
    with open(path, "wb") as f:
        for i in range(max(1, mib // 8)):
            f.write(i.to_bytes(8, "little") + block[8:])


def row(name, a, b, unit):
    ratio = (a / b) if b else float("nan")
    print(f"  {name:<30} {a:>10.1f} {b:>10.1f}  {unit:<6} proxy/direct {ratio:5.2f}")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def report_regime(label: str, par: dict, pairs: dict, stack_store: str) -> None:
    """The 16 clients and the transfer pairs of one regime (shared cores, or the pods' CPU limits), with targets."""
    print(f"\n  -- {label} --")
    rates = {k: [r["calls_per_s"] for r in par[k]] for k in par}
    p99s = {k: pct([x for r in par[k] for x in r["latencies"]], 99) for k in par}
    errors = {k: sum(len(r["errors"]) for r in par[k]) for k in par}
    row(f"{PARALLEL_CLIENTS} clients log_batch", statistics.median(rates["proxy"]), statistics.median(rates["direct"]),
        "req/s")
    row(f"{PARALLEL_CLIENTS} clients log_batch p99", p99s["proxy"], p99s["direct"], "ms")
    print(f"  {PARALLEL_CLIENTS} clients x {PARALLEL_CALLS} log_batch calls, {PARALLEL_ROUNDS} rounds a side alternating: "
          f"proxy {'/'.join(f'{x:.0f}' for x in rates['proxy'])}, direct {'/'.join(f'{x:.0f}' for x in rates['direct'])} "
          f"req/s; errors proxy {errors['proxy']}, direct {errors['direct']}")
    print(f"  {BIG_MIB} MiB, the same MLflow client code on the same pre-signed URLs: through the pre-signed path vs "
          f"straight to the store ({stack_store}), {TRANSFER_ROUNDS} rounds, sides in turn")
    gib = BIG_MIB / 1024
    for kind in ("upload", "download"):
        rounds = pairs[kind]
        row(f"{kind} (path vs straight)", statistics.median(r["path"] for r in rounds),
            statistics.median(r["straight"] for r in rounds), "MB/s")
        print(f"  {kind}s, each round (path/straight MB/s, ratio): "
              + ", ".join(f"{r['path']:.0f}/{r['straight']:.0f} ({r['path'] / r['straight']:.2f})" for r in rounds))
        for side in ("path", "straight"):
            timed = [c for c in pairs["cpu"] if c["kind"] == kind and c["side"] == side]
            cpu = {k: statistics.median(c[k] / gib for c in timed) for k in ("store", "nginx", "client")}
            busy = statistics.median((c["store"] + c["nginx"] + c["client"]) / c["wall"] for c in timed)
            print(f"    {side:<8} CPU seconds per GiB (medians): store {cpu['store']:.2f}, NGINX {cpu['nginx']:.2f}, "
                  f"client {cpu['client']:.2f}; cores busy {busy:.2f}")
    par_ratio = statistics.median(rates["proxy"]) / statistics.median(rates["direct"])
    p99_ratio = p99s["proxy"] / p99s["direct"]
    print(f"  target: {PARALLEL_CLIENTS} parallel clients through NGINX (login limit on) >= 95 % of direct calls/s: "
          f"{par_ratio * 100:.0f} % {'OK' if par_ratio >= 0.95 else 'MISSED'}; p99 <= 1.2x direct: {p99_ratio:.2f}x "
          f"{'OK' if p99_ratio <= 1.2 else 'MISSED'}; errors {errors['proxy']}")
    for kind in ("upload", "download"):
        ratios = [r["path"] / r["straight"] for r in pairs[kind]]
        ok = sum(r >= 0.9 for r in ratios)
        print(f"  target: {kind} through the pre-signed path >= 90 % of the same client straight to the store in every "
              f"round: {ok} of {len(ratios)} ({', '.join(f'{r * 100:.0f} %' for r in ratios)}) "
              f"{'OK' if ok == len(ratios) else 'MISSED'}")


def main() -> int:
    from kubernetes import config

    sys.path.insert(0, str(REPO / "tests"))
    from harness.cluster import Cluster  # noqa: E402  (the test suite's handle: namespaces of the Rahti profile)

    kubeconfig = str(Path(os.environ.get("CSC_MLFLOW_CLUSTER_DIR", REPO / ".cluster")) / "kubeconfig")
    venv_bin = REPO / ".venv" / "bin"
    env = {**os.environ, "KUBECONFIG": kubeconfig, "K8S_AUTH_KUBECONFIG": kubeconfig,
           "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    cluster = Cluster(Path(kubeconfig).parent)
    ns = cluster.fresh_namespace(NS)
    t0 = time.perf_counter()
    r = subprocess.run([str(venv_bin / "ansible-playbook"), str(REPO / "playbooks/deploy.yml"), "-i",
                        str(REPO / "inventories/local"), "-e", f"mlflow_namespace={ns}", "-e", "mlflow_route_allow_all=true"],
                       env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-2000:])
        cluster.cleanup()
        return 1
    print(f"deploy.yml into {ns}: {time.perf_counter() - t0:.1f}s")
    state = Path(tempfile.mkdtemp(prefix="stack-bench-"))
    stack = Stack(Deployed(config.new_client_from_config(config_file=kubeconfig), ns), state, Tools.find())
    try:
        t0 = time.perf_counter()
        stack.up()
        stack_store = stack.deployed.configmap(f"{stack.app}-config")["ARTIFACT_STORE"]
        print(f"stack up (PostgreSQL, the {stack_store} store, MLflow, NGINX): {time.perf_counter() - t0:.1f}s")
        cfg = stack.deployed.env(stack.mlflow_container()[1])
        print(f"MLflow workers: {cfg.get('MLFLOW_WORKERS')}, nginx worker_processes from the ConfigMap")
        big = state / "big.bin"
        make_big(big, BIG_MIB)
        lat = run_py(stack, LATENCY, [str(N_METRIC), str(N_BATCH), stack.direct_uri], stack.client_env())
        user, password = next(iter(stack.users().items()))
        bucket = cfg.get("S3_BUCKET", "default")
        keys = {"AWS_ACCESS_KEY_ID": cfg["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": cfg["AWS_SECRET_ACCESS_KEY"]}
        transfers, s3s, peaks = [], [], []
        idle = Peaks(stack)
        before = {"mlflow_rss": group_rss(idle.pids["mlflow"]), "nginx_rss": group_rss(idle.pids["nginx"])}
        for _round in range(TRANSFER_ROUNDS):  # alternating, like the latency calls
            with Peaks(stack) as pk:   # the client has only the tracking exports (stack.client_env())
                transfers.append(run_py(stack, TRANSFER, [str(big)], stack.client_env()))
            peaks.append(pk.peak)
            s3s.append(run_py(stack, S3_DIRECT, [str(big), stack.store.endpoint, bucket], keys))
        at_rest = {"mlflow_rss": group_rss(idle.pids["mlflow"]), "nginx_rss": group_rss(idle.pids["nginx"])}
        groups = json.dumps({"store": pid_of(stack, stack_store), "nginx": pid_of(stack, "nginx")})

        def paired():
            """The 16 clients and the transfer pairs, as the machine runs the processes now."""
            return {"parallel": run_py(stack, PARALLEL, [stack.tracking_uri, stack.direct_uri, user, password,
                                                         str(PARALLEL_CLIENTS), str(PARALLEL_CALLS),
                                                         str(PARALLEL_ROUNDS)], {}),
                    "pairs": run_py(stack, CLIENT_PAIRS, [str(big), stack.store.endpoint, bucket, stack.presigned_uri,
                                                          str(TRANSFER_ROUNDS), groups], keys)}
        regimes = {"shared cores": paired()}
        if cpu_limits.available():
            pod_limits = cpu_limits.PodCpuLimits(stack)
            try:
                applied = pod_limits.apply()
                regimes["pod CPU limits (" + ", ".join(f"{k} {v}m" for k, v in sorted(applied.items())) + ")"] = paired()
            finally:
                pod_limits.release()
        big.unlink()
    finally:
        stack.down()
        subprocess.run(["rm", "-rf", str(state)], check=False)
        cluster.cleanup()

    def med(key, runs):
        return statistics.median(r[key] for r in runs)

    print(f"\nRunning stack, one run ({N_METRIC} log_metric and {N_BATCH} log_batch x 100 metrics, each call made "
          f"through the proxy and straight to MLflow in turn; {TRANSFER_ROUNDS} x {BIG_MIB} MiB, medians)")
    print(f"  {'':<30} {'proxy':>10} {'direct':>10}")
    for k in ("log_metric", "log_batch"):
        p_, d_ = lat["proxy"][k], lat["direct"][k]
        row(f"{k} p50", pct(p_, 50), pct(d_, 50), "ms")
        row(f"{k} p99", pct(p_, 99), pct(d_, 99), "ms")
        row(f"{k} throughput", len(p_) / sum(p_), len(d_) / sum(d_), "req/s")
    print(f"  {BIG_MIB} MiB, the MLflow client end to end (log_artifact / download_artifacts with only the tracking "
          f"exports) vs boto3 straight to the store ({stack_store}): the anchor")
    row("upload (vs boto3->S3)", med("upload_MBps", transfers), med("upload_MBps", s3s), "MB/s")
    row("download (vs boto3)", med("download_MBps", transfers), med("download_MBps", s3s), "MB/s")
    for kind in ("upload", "download"):
        key = f"{kind}_MBps"
        print(f"  {kind}s, each round (mlflow/direct MB/s, ratio): "
              + ", ".join(f"{t[key]:.0f}/{d[key]:.0f} ({t[key] / d[key]:.2f})" for t, d in zip(transfers, s3s))
              + f"; spread mlflow {min(t[key] for t in transfers):.0f}-{max(t[key] for t in transfers):.0f},"
              f" direct {min(d[key] for d in s3s):.0f}-{max(d[key] for d in s3s):.0f}")
    mib = 1 << 20
    print("  peak during each MLflow transfer round (MiB): "
          + ", ".join(f"server RSS {p['mlflow_rss'] / mib:.0f}, NGINX RSS {p['nginx_rss'] / mib:.0f}, "
                      f"server /tmp {p['mlflow_tmp'] / mib:.1f}" for p in peaks)
          + f"; at rest before: server RSS {before['mlflow_rss'] / mib:.0f}, NGINX RSS {before['nginx_rss'] / mib:.0f}"
          + f"; after: server RSS {at_rest['mlflow_rss'] / mib:.0f}, NGINX RSS {at_rest['nginx_rss'] / mib:.0f}")
    overhead = pct(lat["proxy"]["log_metric"], 50) / pct(lat["direct"]["log_metric"], 50) - 1
    up_ratio = med("upload_MBps", transfers) / med("upload_MBps", s3s)
    down_ratio = med("download_MBps", transfers) / med("download_MBps", s3s)
    print(f"\n  target: metric logging proxy overhead < 10 %: {overhead * 100:+.1f} % "
          f"{'OK' if overhead < 0.10 else 'MISSED'}")
    print(f"  target: upload >= 90 % of direct: {up_ratio * 100:.0f} % {'OK' if up_ratio >= 0.9 else 'MISSED'}")
    print(f"  target: download >= 80 % of direct: {down_ratio * 100:.0f} % {'OK' if down_ratio >= 0.8 else 'MISSED'}")
    for label, regime in regimes.items():
        report_regime(label, regime["parallel"], regime["pairs"], stack_store)
    out = REPO / "tests" / "output"
    out.mkdir(exist_ok=True)
    record = {"latency": lat, "transfers": transfers, "s3": s3s, "peaks": peaks, "regimes": regimes}
    (out / "stack_bench.json").write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
