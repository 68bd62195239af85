"""Pure logic of plugins/plugin_utils/resources.py (the LimitRange and quota preflight of a run)."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from ansible_collections.csc.mlflow.plugins.plugin_utils import pod_resources, quantity, quotas
from ansible_collections.csc.mlflow.plugins.plugin_utils import resources as rs

FIXTURES = Path(__file__).parent / "fixtures" / "resources"


def load(name):
    return [d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d]


LIMITS = load("limitrange.yml")
ACRQ = load("acrq.yml")[0]
RQ = load("resourcequota.yml")[0]
STACK = load("stack.yml")[0]["items"]
VARS = {
    "mlflow/ensure-bucket": "mlflow_job_resources",
    "mlflow/mlflow": "mlflow_tracking_resources",
    "mlflow/nginx": "mlflow_nginx_resources",
    "mlflow-models/models": "mlflow_models_resources",
    "mlflow-models/nginx": "mlflow_nginx_resources",
    "mlflow-postgresql/*": "mlflow_postgresql_resources",
    "mlflow-minio/*": "mlflow_minio_resources",
    "mlflow-postgresql": "mlflow_postgresql_storage_size",
    "mlflow-minio": "mlflow_minio_storage_size",
    "job/*": "mlflow_job_resources",
}
JOB = {"name": "job", "spec": {"containers": [{"name": "job", "resources": {
    "requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
    "limits": {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "512Mi"}}}]}}


def stack():
    return copy.deepcopy(STACK)


def obj(objects, name, kind="Deployment"):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def container(objects, workload, name):
    spec = obj(objects, workload)["spec"]["template"]["spec"]
    return next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)


def check(objects, **kw):
    kw.setdefault("limit_ranges", LIMITS)
    kw.setdefault("quotas", [ACRQ])
    kw.setdefault("variables", VARS)
    return rs.problems(objects, **kw)


def live_of(deployment, pods=None):
    """The Deployment as read back from the API server, with its pods running."""
    live = copy.deepcopy(deployment)
    live["metadata"].update({"uid": "u-" + live["metadata"]["name"], "generation": 1, "resourceVersion": "42"})
    live["spec"]["template"]["metadata"]["creationTimestamp"] = None
    for c in live["spec"]["template"]["spec"]["containers"]:
        c.update({"terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"})
        for field in ("requests", "limits"):  # the API server writes quantities canonically
            for k, v in c.get("resources", {}).get(field, {}).items():
                c["resources"][field][k] = quantity.format_quantity(v, k)
    count = live["spec"].get("replicas", 1) if pods is None else pods
    live["status"] = {"replicas": count, "readyReplicas": count, "availableReplicas": count, "observedGeneration": 1}
    return live


def with_used(quota, **used):
    quota = copy.deepcopy(quota)
    quota["status"]["total"]["used"].update(used)
    return quota


# --- quantities -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("100m", "0.1"), ("1", "1"), ("4", "4"), ("0.5", "0.5"), ("1.5", "1.5"), (".5", "0.5"), ("1.G", "1e9"),
    ("500Mi", 500 * 2 ** 20), ("1.5Gi", 3 * 2 ** 29), ("16Gi", 16 * 2 ** 30), ("1Ki", 1024), ("2Ei", 2 * 2 ** 60),
    ("1k", 1000), ("1M", "1e6"), ("5G", "5e9"), ("1T", "1e12"), ("1P", "1e15"), ("1E", "1e18"),
    ("1e3", 1000), ("1E3", 1000), ("1.5e3", 1500), ("12e-3", "0.012"), ("1e+2", 100),
    ("1n", "1e-9"), ("250u", "0.00025"), ("0.0000000001", "1e-9"), ("-1Ki", -1024), ("+2", 2), ("0", 0), ("000", 0),
    (2, 2), (0.25, "0.25"), ("123456789012345678901234567890", "123456789012345678901234567890"),
])
def test_quantities_are_parsed_exactly(text, value):
    assert quantity.parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "m", "1K", "1 Gi", "1Gi3", "1e", "1x", "Gi", "1.2.3", "--1", True, None, "1e1.5"])
def test_what_kubernetes_refuses_is_not_a_quantity(text):
    with pytest.raises(quantity.QuantityError):
        quantity.parse_quantity(text)


@pytest.mark.parametrize("value, resource, text", [
    ("0.1", "cpu", "100m"), ("1", "limits.cpu", "1"), ("4", "cpu", "4"), ("5.5", "limits.cpu", "5500m"), ("1250m", "cpu", "1250m"),
    ("250u", "cpu", "250u"), ("1n", "cpu", "1n"), ("-500m", "cpu", "-500m"),
    ("16Gi", "memory", "16Gi"), ("1536Mi", "limits.memory", "1536Mi"), ("1.5Gi", "memory", "1536Mi"), ("500Mi", "memory", "500Mi"),
    ("1G", "memory", "1G"), ("1E", "requests.storage", "1E"), ("1000", "memory", "1k"), ("1234", "memory", "1234"),
    ("1024000", "memory", "1024k"), ("1048576", "memory", "1Mi"),
    ("100", "pods", "100"), ("20", "persistentvolumeclaims", "20"), ("0", "memory", "0"), ("0.5", "memory", "500m"),
])
def test_quantities_are_formatted_readably(value, resource, text):
    assert quantity.format_quantity(value, resource) == text


@pytest.mark.parametrize("text", ["100m", "1", "1.5", "500Mi", "1536Mi", "16Gi", "1e3", "12e-3", "1n", "7Ei", "1G", "999999999n", "1.000000001", "3Ti"])
@pytest.mark.parametrize("resource", ["cpu", "memory", "pods"])
def test_formatting_round_trips(text, resource):
    value = quantity.parse_quantity(text)
    assert quantity.parse_quantity(quantity.format_quantity(value, resource)) == value
    assert quantity.format_quantity(quantity.format_quantity(value, resource), resource) == quantity.format_quantity(value, resource)


# --- LimitRange -------------------------------------------------------------------------------


def test_the_default_stack_fits_rahti():
    assert check(stack(), reserve=[JOB]) == []
    assert check(stack(), replicas={"mlflow-models": 1}, reserve=[JOB]) == []


def test_rahti_ephemeral_storage_is_tight_for_the_defaults():
    # the defaults with Models and a Job: 4864Mi of limits.ephemeral-storage of the 5Gi the CSC project shares
    busy = with_used(ACRQ, **{"limits.ephemeral-storage": "512Mi"})
    assert check(stack(), quotas=[busy], reserve=[JOB]) == []
    assert check(stack(), quotas=[busy], replicas={"mlflow-models": 1}, reserve=[JOB]) == [
        "the run needs limits.ephemeral-storage 4864Mi (mlflow 2304Mi, mlflow-models 1280Mi, mlflow-postgresql 512Mi, mlflow-minio 256Mi, job 512Mi), "
        "AppliedClusterResourceQuota crq-2001234 allows 5Gi and 512Mi are used by other workloads: 4608Mi left; lower limits.ephemeral-storage "
        "(mlflow_job_resources, mlflow_tracking_resources, mlflow_nginx_resources, mlflow_models_resources, mlflow_postgresql_resources, "
        "mlflow_minio_resources) or ask CSC for more quota"
    ]


def test_a_limit_ten_times_its_request_is_refused():
    objects = stack()
    container(objects, "mlflow-postgresql", "postgresql")["resources"] = {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}
    assert check(objects) == [
        "mlflow-postgresql/postgresql: cpu limit 1 is 10x its request 100m; LimitRange limits allows at most 5x: "
        "set mlflow_postgresql_resources so that limits.cpu <= 5 x requests.cpu (e.g. requests.cpu 200m, or limits.cpu 500m)"
    ]


def test_the_ratio_is_checked_on_the_defaulted_request():
    objects = stack()
    container(objects, "mlflow-minio", "minio")["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"memory": "1Gi"}}
    assert check(objects) == []  # the missing cpu request defaults to the limit (SetDefaults_Pod), not to 100m
    container(objects, "mlflow-minio", "minio")["resources"] = {"limits": {"cpu": "600m"}}
    assert check(objects, quotas=[]) == []
    container(objects, "mlflow-minio", "minio")["resources"] = {"limits": {"memory": "1Gi"}}
    assert check(objects, quotas=[]) == []  # cpu from LimitRange: 500m / 100m = 5x


def test_a_ratio_of_exactly_five_passes_and_just_above_fails():
    objects = stack()
    container(objects, "mlflow", "nginx")["resources"] = {"requests": {"cpu": "50m"}, "limits": {"cpu": "251m"}}
    assert check(objects, quotas=[]) == [
        "mlflow/nginx: cpu limit 251m is 5.02x its request 50m; LimitRange limits allows at most 5x: "
        "set mlflow_nginx_resources so that limits.cpu <= 5 x requests.cpu (e.g. requests.cpu 51m, or limits.cpu 250m)"
    ]


def test_a_limit_above_the_maximum_is_refused():
    objects = stack()
    container(objects, "mlflow", "mlflow")["resources"]["limits"]["memory"] = "20Gi"
    assert check(objects, quotas=[]) == [
        "mlflow/mlflow: memory limit 20Gi is above the maximum 16Gi of LimitRange limits: lower mlflow_tracking_resources.limits.memory"
    ]


def test_below_the_minimum_is_refused():
    objects = stack()
    container(objects, "mlflow", "nginx")["resources"] = {"requests": {"cpu": "10m", "memory": "4Mi"}, "limits": {"cpu": "50m", "memory": "64Mi"}}
    assert check(objects, quotas=[]) == [
        "mlflow/nginx: cpu request 10m is below the minimum 50m of LimitRange limits: raise mlflow_nginx_resources.requests.cpu",
        "mlflow/nginx: memory request 4Mi is below the minimum 8Mi of LimitRange limits: raise mlflow_nginx_resources.requests.memory",
    ]


def test_init_containers_are_checked_too():
    objects = stack()
    container(objects, "mlflow", "ensure-bucket")["resources"]["limits"]["cpu"] = "8"
    assert check(objects, quotas=[]) == [
        "mlflow/ensure-bucket (init container): cpu limit 8 is above the maximum 4 of LimitRange limits: lower mlflow_job_resources.limits.cpu",
        "mlflow/ensure-bucket (init container): cpu limit 8 is 80x its request 100m; LimitRange limits allows at most 5x: "
        "set mlflow_job_resources so that limits.cpu <= 5 x requests.cpu (e.g. requests.cpu 1600m, or limits.cpu 500m)",
    ]


def test_defaults_apply_to_a_container_without_resources():
    objects = stack()
    spec = obj(objects, "mlflow-minio")["spec"]["template"]["spec"]
    del spec["containers"][0]["resources"]
    containers = pod_resources.pod_containers("mlflow-minio", spec, LIMITS)
    assert containers[0].requests == {"cpu": Decimal("0.1"), "memory": 500 * 2 ** 20}
    assert containers[0].limits == {"cpu": Decimal("0.5"), "memory": 2 ** 30}
    assert pod_resources.pod_usage(containers, spec)["limits.cpu"] == Decimal("0.5")
    assert check(objects) == []
    # without a LimitRange, a quota on limits.cpu makes Kubernetes refuse the container
    assert check(objects, limit_ranges=[]) == [
        "mlflow-minio/minio: no limits.cpu after the LimitRange defaults, and AppliedClusterResourceQuota crq-2001234 tracks limits.cpu, "
        "so Kubernetes refuses the pod (must specify limits.cpu): set mlflow_minio_resources.limits.cpu",
        "mlflow-minio/minio: no limits.memory after the LimitRange defaults, and AppliedClusterResourceQuota crq-2001234 tracks limits.memory, "
        "so Kubernetes refuses the pod (must specify limits.memory): set mlflow_minio_resources.limits.memory",
    ]


def test_ephemeral_storage_is_counted_but_not_required_by_quota():
    assert "limits.ephemeral-storage" not in quotas.REQUIRED_BY_QUOTA and "requests.ephemeral-storage" not in quotas.REQUIRED_BY_QUOTA
    objects = stack()
    for c in obj(objects, "mlflow-minio")["spec"]["template"]["spec"]["containers"]:
        c["resources"]["limits"].pop("ephemeral-storage")
    assert check(objects) == []


def test_a_request_above_the_default_limit_is_refused():
    objects = stack()
    container(objects, "mlflow-minio", "minio")["resources"] = {"requests": {"cpu": "2", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    assert check(objects, quotas=[]) == [
        "mlflow-minio/minio: cpu request 2 is above its limit 500m (LimitRange limits default), which Kubernetes refuses: "
        "set mlflow_minio_resources.limits.cpu >= 2 or lower mlflow_minio_resources.requests.cpu",
    ]


def test_a_limit_range_of_type_pod_checks_the_sums():
    limits = copy.deepcopy(LIMITS)
    limits[0]["spec"]["limits"].append({"type": "Pod", "max": {"cpu": "1", "memory": "2Gi"}})
    assert check(stack(), limit_ranges=limits, quotas=[], replicas={"mlflow-models": 1})[2:] == [
        "mlflow-models (pod): the containers' limits.memory add up to 2176Mi, above the maximum 2Gi of LimitRange limits (type Pod): "
        "lower them (the resources of its containers)"
    ]
    assert check(stack(), limit_ranges=limits, quotas=[], variables={"mlflow/*": "the mlflow_*_resources"}) == [
        "mlflow (pod): the containers' limits.cpu add up to 1250m, above the maximum 1 of LimitRange limits (type Pod): lower them (the mlflow_*_resources)",
        "mlflow (pod): the containers' limits.memory add up to 2176Mi, above the maximum 2Gi of LimitRange limits (type Pod): "
        "lower them (the mlflow_*_resources)",
    ]


def test_a_pvc_above_the_maximum_is_refused():
    objects = stack()
    obj(objects, "mlflow-minio", "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] = "200Gi"
    assert check(objects, quotas=[]) == [
        "mlflow-minio (PersistentVolumeClaim): storage request 200Gi is above the maximum 100Gi of LimitRange limits: lower mlflow_minio_storage_size"
    ]


# --- quotas -----------------------------------------------------------------------------------


def test_pod_usage_takes_the_largest_init_container_per_resource():
    spec = {"initContainers": [{"name": "init", "resources": {"limits": {"cpu": "3", "memory": "64Mi"}}}],
            "containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
                           {"name": "b", "resources": {"limits": {"cpu": "250m", "memory": "128Mi"}}}]}
    usage = pod_resources.pod_usage(pod_resources.pod_containers("w", spec, []), spec)
    assert usage["limits.cpu"] == 3 and usage["limits.memory"] == 1152 * 2 ** 20
    assert usage["requests.cpu"] == usage["cpu"] == 3  # requests defaulted to the limits
    assert usage["pods"] == 1
    # a sidecar (restartable init container) adds up, and counts with every later init container
    spec["initContainers"].insert(0, {"name": "proxy", "restartPolicy": "Always", "resources": {"limits": {"cpu": "500m"}}})
    usage = pod_resources.pod_usage(pod_resources.pod_containers("w", spec, []), spec)
    assert usage["limits.cpu"] == Decimal("3.5")


def test_a_large_init_container_counts_against_the_quota():
    objects = stack()
    container(objects, "mlflow", "ensure-bucket")["resources"] = {"requests": {"cpu": "800m"}, "limits": {"cpu": "4"}}
    assert check(objects) == [
        "the run needs limits.cpu 5 (mlflow 4, mlflow-postgresql 500m, mlflow-minio 500m), AppliedClusterResourceQuota crq-2001234 allows 4 "
        "and 500m are used by other workloads: 3500m left; lower limits.cpu (mlflow_job_resources, mlflow_tracking_resources, "
        "mlflow_nginx_resources, mlflow_postgresql_resources, mlflow_minio_resources) or ask CSC for more quota"
    ]


def test_a_stack_over_the_quota_is_refused_with_the_numbers():
    assert check(stack(), replicas={"mlflow-models": 2}) == [
        "the run needs limits.cpu 3750m (mlflow 1250m, mlflow-models (x2) 1500m, mlflow-postgresql 500m, mlflow-minio 500m), "
        "AppliedClusterResourceQuota crq-2001234 allows 4 and 500m are used by other workloads: 3500m left; lower limits.cpu "
        "(mlflow_job_resources, mlflow_tracking_resources, mlflow_nginx_resources, mlflow_models_resources, mlflow_postgresql_resources, "
        "mlflow_minio_resources) or ask CSC for more quota",
        "the run needs limits.ephemeral-storage 5632Mi (mlflow 2304Mi, mlflow-models (x2) 2560Mi, mlflow-postgresql 512Mi, mlflow-minio 256Mi), "
        "AppliedClusterResourceQuota crq-2001234 allows 5Gi and nothing else uses it: 5Gi left; lower limits.ephemeral-storage "
        "(mlflow_job_resources, mlflow_tracking_resources, mlflow_nginx_resources, mlflow_models_resources, mlflow_postgresql_resources, "
        "mlflow_minio_resources) or ask CSC for more quota",
    ]


def test_the_replicas_override_is_counted():
    assert check(stack()) == []
    problems = check(stack(), replicas={"mlflow-models": 3})
    assert problems and all("mlflow-models (x3)" in p for p in problems)


def test_the_reserved_job_is_counted():
    assert check(stack(), replicas={"mlflow-models": 1}, reserve=[JOB]) == []
    big = copy.deepcopy(JOB)
    big["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "500m"
    big["spec"]["containers"][0]["resources"]["limits"]["memory"] = "10Gi"
    assert check(stack(), replicas={"mlflow-models": 1}, reserve=[big]) == [
        "the run needs limits.memory 16640Mi (mlflow 2176Mi, mlflow-models 2176Mi, mlflow-postgresql 1Gi, mlflow-minio 1Gi, job 10Gi), "
        "AppliedClusterResourceQuota crq-2001234 allows 16Gi and 1Gi are used by other workloads: 15Gi left; lower limits.memory "
        "(mlflow_job_resources, mlflow_tracking_resources, mlflow_nginx_resources, mlflow_models_resources, mlflow_postgresql_resources, "
        "mlflow_minio_resources) or ask CSC for more quota"
    ]


def test_the_live_stack_is_released_on_a_re_run():
    objects = stack()
    live = [live_of(d) for d in objects if d["kind"] == "Deployment"]
    live += [dict(p, status={"phase": "Bound"}) for p in objects if p["kind"] == "PersistentVolumeClaim"]
    # `used` counts the running stack (2250m, 4224Mi, 3Gi, 3 pods, 2 PVCs of 11Gi) besides the other project
    quota = with_used(ACRQ, **{"limits.cpu": "2750m", "limits.memory": "5248Mi", "limits.ephemeral-storage": "3Gi",
                               "requests.storage": "21Gi", "pods": "4", "persistentvolumeclaims": "3"})
    assert check(objects, quotas=[quota], live=live) == []
    assert check(objects, quotas=[quota], live=live, replicas={"mlflow-models": 1}) == []
    # without knowing what the run releases, the same stack would not fit a second time
    assert check(objects, quotas=[quota])[0].startswith("the run needs limits.cpu 2250m (")
    # the live PVCs stay: their storage is not counted again, but growth is
    live_names = ["mlflow-postgresql", "mlflow-minio"]
    assert check(objects, quotas=[quota], live=[x for x in live if x["kind"] == "Deployment"] + live_names) == []
    grown = copy.deepcopy(objects)
    obj(grown, "mlflow-minio", "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] = "90Gi"
    assert check(grown, quotas=[quota], live=live) == [
        "the run needs requests.storage 80Gi (mlflow-minio (PVC growth) 80Gi), AppliedClusterResourceQuota crq-2001234 allows 100Gi and 21Gi "
        "are used by other workloads: 79Gi left; lower the PVC sizes (mlflow_minio_storage_size) or ask CSC for more quota"
    ]


def test_a_rolling_update_needs_room_for_old_and_new_pods():
    objects = stack()
    dep = obj(objects, "mlflow")
    del dep["spec"]["strategy"]  # RollingUpdate, maxSurge 25% (1), maxUnavailable 25% (0)
    quota = with_used(ACRQ, **{"limits.cpu": "3250m"})  # the other project's 500m, the stack's 2250m, 500m more elsewhere
    live = [live_of(d) for d in objects if d["kind"] == "Deployment"]
    assert check(objects, quotas=[quota], live=live) == []  # same pod template: no new pod
    changed = copy.deepcopy(objects)
    obj(changed, "mlflow")["spec"]["template"]["metadata"]["annotations"]["checksum/mlflow-config"] = "changed"
    assert check(changed, quotas=[quota], live=live)[:1] == [
        "the run needs limits.cpu 3500m (mlflow during its rolling update 2500m, mlflow-postgresql 500m, mlflow-minio 500m), "
        "AppliedClusterResourceQuota crq-2001234 allows 4 and 1 are used by other workloads: 3 left; lower limits.cpu "
        "(mlflow_job_resources, mlflow_tracking_resources, mlflow_nginx_resources, mlflow_postgresql_resources, mlflow_minio_resources) "
        "or ask CSC for more quota"
    ]
    obj(changed, "mlflow")["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    assert check(changed, quotas=[quota], live=live) == []  # the old pod goes first


def test_a_live_job_releases_only_its_active_pods():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job"}, "spec": {"template": {"spec": JOB["spec"]}}}
    quota = with_used(ACRQ, **{"limits.cpu": "3750m"})
    assert check([job], quotas=[quota], live=[dict(job, status={"active": 1})]) == []
    assert check([job], quotas=[quota], live=[dict(job, status={"succeeded": 1})]) == [
        "the run needs limits.cpu 500m (job 500m), AppliedClusterResourceQuota crq-2001234 allows 4 and 3750m are used by other workloads: "
        "250m left; lower limits.cpu (mlflow_job_resources) or ask CSC for more quota"
    ]
    # A live Job the run does not count (another one's, or all of them with a reserve) keeps its pods running.
    running = dict(job, metadata={"name": "backup-1"}, status={"active": 1})
    assert check([job], quotas=[quota], live=[running])[0].startswith("the run needs limits.cpu 500m (job 500m), ")
    reserve = [{"name": "largest-job", "spec": JOB["spec"], "replicas": 1}]
    assert check([job], quotas=[quota], live=[dict(job, status={"active": 1})], reserve=reserve)[0].startswith(
        "the run needs limits.cpu 500m (largest-job 500m), ")
    parallel = copy.deepcopy(job)
    parallel["spec"].update({"parallelism": 3, "completions": 2})
    assert check([parallel], quotas=[with_used(ACRQ, **{"limits.cpu": "3250m"})])[0].startswith("the run needs limits.cpu 1 (job (x2) 1), ")


def test_a_resource_quota_uses_its_status_and_is_reported_once():
    objects = stack()
    container(objects, "mlflow", "mlflow")["resources"].update({"requests": {"cpu": "1800m", "memory": "768Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}})
    assert check(objects, quotas=[RQ, RQ]) == [
        "the run needs requests.cpu 2050m (mlflow 1850m, mlflow-postgresql 100m, mlflow-minio 100m), ResourceQuota compute allows 2 and "
        "nothing else uses it: 2 left; lower requests.cpu (mlflow_job_resources, mlflow_tracking_resources, mlflow_nginx_resources, "
        "mlflow_postgresql_resources, mlflow_minio_resources) or ask the cluster administrators for more quota"
    ]


def test_scoped_quotas_count_only_matching_pods():
    scoped = copy.deepcopy(RQ)
    scoped["spec"]["scopes"] = ["BestEffort"]
    scoped["status"]["hard"] = scoped["spec"]["hard"] = {"pods": "0"}
    assert check(stack(), quotas=[scoped]) == []
    terminating = copy.deepcopy(scoped)
    terminating["spec"]["scopes"] = ["Terminating"]
    job = copy.deepcopy(JOB)
    job["spec"]["activeDeadlineSeconds"] = 600
    assert check(stack(), quotas=[terminating]) == []
    assert check(stack(), quotas=[terminating], reserve=[job])[0].startswith("the run needs pods 1 (job 1), ResourceQuota compute allows 0")


def test_other_kinds_are_ignored_and_nothing_is_modified():
    objects = stack()
    before = copy.deepcopy(objects)
    assert check(objects, live=[{"kind": "Service", "metadata": {"name": "mlflow"}}]) == []
    assert objects == before
    assert rs.problems([]) == []
    assert check(stack(), replicas={"mlflow-models": 2}) == check(stack(), replicas={"mlflow-models": 2})


def test_the_filter_is_thin_over_module_utils():
    pytest.importorskip("ansible")
    from ansible.errors import AnsibleFilterError
    from ansible_collections.csc.mlflow.plugins.filter.resource_problems import FilterModule

    resource_problems = FilterModule().filters()["resource_problems"]
    assert resource_problems(stack(), limit_ranges=LIMITS, quotas=[ACRQ], variables=VARS) == []
    bad = stack()
    container(bad, "mlflow", "mlflow")["resources"]["limits"]["cpu"] = "a lot"
    with pytest.raises(AnsibleFilterError, match="resource_problems: 'a lot' is not a quantity"):
        resource_problems(bad, limit_ranges=LIMITS)


# --- more than one tracking replica (the golden renders of tests/render) ------------------------

GOLDEN = Path(__file__).resolve().parents[3] / "render" / "golden"
# mlflow_job_resources, as check_resources.yml reserves it for the run's largest Job
DEFAULT_JOB = {"name": "job", "spec": {"containers": [{"name": "job", "resources": {
    "requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}}]}}


def golden(case):
    return yaml.safe_load((GOLDEN / (case + ".yml")).read_text())["objects"]


def unused(quota):
    quota = copy.deepcopy(quota)
    quota["status"]["total"]["used"] = dict((k, "0") for k in quota["status"]["total"]["used"])
    return quota


def test_one_replica_fits_the_default_csc_quota_with_models_and_a_job():
    assert rs.problems(golden("defaults"), limit_ranges=LIMITS, quotas=[unused(ACRQ)], replicas={"mlflow-models": 1},
                       reserve=[DEFAULT_JOB]) == []


def test_two_replicas_fit_the_default_csc_quota_without_models_only():
    objects = golden("two_replicas")
    assert obj(objects, "mlflow")["spec"]["replicas"] == 2
    assert rs.problems(objects, limit_ranges=LIMITS, quotas=[unused(ACRQ)], reserve=[DEFAULT_JOB]) == []
    # the second tracking pod costs 1250m CPU, 2176Mi memory and 2Gi ephemeral storage in limits
    assert rs.problems(objects, limit_ranges=LIMITS, quotas=[unused(ACRQ)], replicas={"mlflow-models": 1},
                       reserve=[DEFAULT_JOB]) == [
        "the run needs limits.cpu 4750m (mlflow-postgresql 500m, mlflow-versitygw 500m, mlflow (x2) 2500m, mlflow-models 750m, "
        "job 500m), AppliedClusterResourceQuota crq-2001234 allows 4 and nothing else uses it: 4 left; lower limits.cpu or ask "
        "CSC for more quota",
    ]  # limits.ephemeral-storage: 4Gi + 1Gi, exactly the 5Gi of the CSC project


def test_two_replicas_roll_without_a_surge_pod():
    objects = golden("two_replicas")
    dep = obj(objects, "mlflow")
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    live = [live_of(d) for d in objects if d["kind"] == "Deployment"]
    changed = copy.deepcopy(objects)
    obj(changed, "mlflow")["spec"]["template"]["metadata"].setdefault("annotations", {})["checksum/mlflow-config"] = "changed"
    # the stack's own pods are in `used`: 2x1250m + 500m + 500m; the run releases them, and the rollout
    # never holds more than the two tracking pods (one old one goes before each new one starts)
    quota = copy.deepcopy(ACRQ)
    quota["status"]["total"]["used"] = {"limits.cpu": "3500m", "limits.memory": "6400Mi", "limits.ephemeral-storage": "4Gi",
                                        "requests.storage": "11Gi", "pods": "4", "persistentvolumeclaims": "2"}
    assert rs.problems(changed, limit_ranges=LIMITS, quotas=[quota], live=live, reserve=[DEFAULT_JOB]) == []
    # with a surge pod (maxSurge 1) the same rollout would need a third tracking pod's CPU
    obj(changed, "mlflow")["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert rs.problems(changed, limit_ranges=LIMITS, quotas=[quota], live=live, reserve=[DEFAULT_JOB])[0].startswith(
        "the run needs limits.cpu 5250m (mlflow-postgresql 500m, mlflow-versitygw 500m, mlflow (x2) during its rolling update 3750m")


def test_two_replicas_and_models_fit_with_the_sizing_of_the_user_guide():
    objects = golden("two_replicas")
    mlflow = container(objects, "mlflow", "mlflow")
    mlflow["resources"] = {"requests": {"cpu": "125m", "memory": "768Mi", "ephemeral-storage": "256Mi"},
                           "limits": {"cpu": "625m", "memory": "2Gi", "ephemeral-storage": "1536Mi"}}
    assert rs.problems(objects, limit_ranges=LIMITS, quotas=[unused(ACRQ)], replicas={"mlflow-models": 1},
                       reserve=[DEFAULT_JOB]) == []
