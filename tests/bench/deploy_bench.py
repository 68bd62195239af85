"""Deploy playbook benchmark (not a test).

On the local test cluster, in one run:
  1. cold `deploy.yml` into an empty namespace;
  2. the lower bound, cold: `kubectl apply --server-side` of the SAME objects (read back
     from namespace 1, server-set fields stripped) into another empty namespace, plus the
     same readiness waits (Deployments Available, PVCs Bound, Jobs Complete); 1 and 2 alternate
     --cold-repeat times (default 3), each into fresh namespaces;
  3. no-op re-runs of both, alternating (`deploy.yml`, then the kubectl apply + waits),
     --repeat times (default 5), so that both see the same machine: the wall times of a
     shared 2-core VM move by +-20 % from one minute to the next.

Prints wall times (medians, min and max) and the ratios playbook / lower bound. Targets
(docs/PERFORMANCE.md): no-op re-run and cold deploy each within 3x their lower bound (ratio of
the medians).

    .venv/bin/python tests/bench/deploy_bench.py [--json out.json] [--keep]

Reuses a running cluster (`make cluster-up`) or starts one and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness.cluster import Cluster, start_cluster  # noqa: E402
from harness.paths import CLUSTER_SH, STATE, kubeconfig_answers  # noqa: E402

APP = "bench"
KINDS = [
    "secrets", "configmaps", "persistentvolumeclaims", "services", "networkpolicies.networking.k8s.io",
    "deployments.apps", "routes.route.openshift.io", "serviceaccounts", "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io", "jobs.batch", "ingresses.networking.k8s.io",
]
STRIP_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
              "ownerReferences", "finalizers", "namespace")
STRIP_ANNOT_PREFIX = ("deployment.kubernetes.io/", "pv.kubernetes.io/", "volume.beta.kubernetes.io/",
                      "volume.kubernetes.io/", "kubectl.kubernetes.io/last-applied-configuration")


def clean(obj: dict) -> dict:
    obj = dict(obj)
    obj.pop("status", None)
    meta = {k: v for k, v in obj["metadata"].items() if k not in STRIP_META}
    ann = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith(STRIP_ANNOT_PREFIX)}
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    obj["metadata"] = meta
    spec = dict(obj.get("spec") or {})
    kind = obj["kind"]
    if kind == "Service":
        for k in ("clusterIP", "clusterIPs"):
            spec.pop(k, None)
    elif kind == "PersistentVolumeClaim":
        spec.pop("volumeName", None)
    elif kind == "Route":
        spec.pop("host", None)  # generated again in the other namespace
    elif kind == "Job":
        # What the Job controller adds: its selector and the labels it matches.
        spec.pop("selector", None)
        template = dict(spec.get("template") or {})
        labels = {k: v for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()
                  if k not in ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name")}
        template["metadata"] = dict(template.get("metadata") or {}, labels=labels)
        spec["template"] = template
    if spec:
        obj["spec"] = spec
    return obj


def stack_objects(cluster: Cluster, ns: str) -> list[dict]:
    out = cluster.kubectl_run("-n", ns, "get", ",".join(KINDS), "-l", f"app.kubernetes.io/instance={APP}",
                              "-o", "json").stdout
    return [o for o in (clean(i) for i in json.loads(out)["items"]) if o]


def timed(fn) -> float:
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def kubectl_apply_and_wait(cluster: Cluster, ns: str, objs: list[dict]) -> None:
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})
    cluster.kubectl_run("-n", ns, "apply", "--server-side", "--field-manager=bench", "-f", "-", input=doc)
    cluster.kubectl_run("-n", ns, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc", "--all", "--timeout=120s")
    cluster.kubectl_run("-n", ns, "wait", "--for=condition=Available", "deployments", "--all", "--timeout=120s")
    if any(o["kind"] == "Job" for o in objs):
        cluster.kubectl_run("-n", ns, "wait", "--for=condition=Complete", "jobs", "--all", "--timeout=120s")


def spread(xs: list[float]) -> str:
    return f"  ({min(xs):.2f}-{max(xs):.2f}, n={len(xs)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark namespaces")
    ap.add_argument("--repeat", type=int, default=5, help="no-op re-runs of each side (default 5)")
    ap.add_argument("--cold-repeat", type=int, default=3, help="cold deploys of each side (default 3)")
    args = ap.parse_args()

    started = False
    if not kubeconfig_answers(STATE / "kubeconfig"):
        start_cluster()
        started = True
    cluster = Cluster()
    try:
        ev = {
            "mlflow_app_name": APP,
            "mlflow_route_whitelist": ["192.0.2.0/24"],
            "mlflow_users": [{"name": "bench", "password": "bench-Passw0rd-123"}],
        }
        # Cold deploys alternate with kubectl's cold applies of the same objects, each into a fresh namespace;
        # the no-op re-runs below use the first pair.
        colds, kc_colds, objs = [], [], None
        for run in range(max(1, args.cold_repeat)):
            ns_pb, ns_kc = cluster.fresh_namespace("bench-pb"), cluster.fresh_namespace("bench-kc")
            if run == 0:
                ns1, ns2 = ns_pb, ns_kc
            cold = cluster.run_playbook("deploy.yml", {**ev, "mlflow_namespace": ns_pb})
            if cold.rc != 0:
                print(cold, file=sys.stderr)
                return 1
            colds.append(cold.seconds)
            objs = objs or stack_objects(cluster, ns_pb)
            kc_colds.append(timed(lambda ns=ns_kc: kubectl_apply_and_wait(cluster, ns, objs)))
        ev["mlflow_namespace"] = ns1
        cold_s, kc_cold = statistics.median(colds), statistics.median(kc_colds)
        noops, kc_noops, recaps = [], [], []
        for _run in range(max(1, args.repeat)):
            noop = cluster.run_playbook("deploy.yml", ev)
            if noop.rc != 0 or noop.changed != 0:
                print(f"WARNING: re-run not a no-op: {noop.recap}", file=sys.stderr)
            noops.append(noop.seconds)
            recaps.append(noop.recap)
            kc_noops.append(timed(lambda: kubectl_apply_and_wait(cluster, ns2, objs)))
        noop_s, kc_noop_s = statistics.median(noops), statistics.median(kc_noops)
        fig = {
            "objects": len(objs),
            "kinds": sorted({o["kind"] for o in objs}),
            "deploy_cold_s": round(cold_s, 2),
            "deploy_cold_runs_s": [round(x, 2) for x in colds],
            "deploy_noop_s": round(noop_s, 2),
            "deploy_noop_runs_s": [round(x, 2) for x in noops],
            "deploy_noop_changed": sum(r.get("changed", 0) for r in recaps),
            "deploy_tasks_ok": recaps[-1].get("ok"),
            "kubectl_cold_s": round(kc_cold, 2),
            "kubectl_cold_runs_s": [round(x, 2) for x in kc_colds],
            "kubectl_noop_s": round(kc_noop_s, 2),
            "kubectl_noop_runs_s": [round(x, 2) for x in kc_noops],
            "ratio_cold": round(cold_s / kc_cold, 2),
            "ratio_noop": round(noop_s / kc_noop_s, 2),
        }
        print(f"objects applied: {fig['objects']} ({', '.join(fig['kinds'])})")
        print(f"{'':38}{'wall s':>8}{'ratio':>8}")
        print(f"{'deploy.yml cold, median':38}{cold_s:8.2f}{fig['ratio_cold']:8.2f}{spread(colds)}")
        print(f"{'kubectl apply --server-side cold, median':38}{kc_cold:8.2f}{1:8.2f}{spread(kc_colds)}")
        print(f"{'deploy.yml no-op re-run, median':38}{noop_s:8.2f}{fig['ratio_noop']:8.2f}{spread(noops)}")
        print(f"{'kubectl apply --server-side no-op, median':38}{kc_noop_s:8.2f}{1:8.2f}{spread(kc_noops)}")
        print(f"no-op re-run: recap {recaps[-1]}; target ratio <= 3: "
              f"{'MET' if fig['ratio_noop'] <= 3 else 'NOT MET'}")
        print(f"cold deploy: target ratio <= 3: {'MET' if fig['ratio_cold'] <= 3 else 'NOT MET'}")
        if args.json:
            Path(args.json).write_text(json.dumps(fig, indent=2) + "\n")
        if not args.keep:
            cluster.cleanup()
        return 0
    finally:
        if started:
            subprocess.run([str(CLUSTER_SH), "down"], cwd=REPO, check=False)


if __name__ == "__main__":
    sys.exit(main())
