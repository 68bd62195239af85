"""Every `ansible-playbook` command README.md and docs/USER_GUIDE.md print is run against the test cluster, exactly as
printed (issue 25), with the real shell (`bash -c <line>`) from the repo root, in the order a researcher runs them:
the README's deploy with the instance file first, then the day-two commands of both documents, the undeploy last.
Each must exit 0, and where a document promises an effect, the effect is checked on the cluster. The commands are
found by harness/documents.py, as tests/unit/test_documented_commands.py finds them; commands that bash runs with the
same arguments (they differ only in a trailing `# comment`) are run once.

What a local run swaps, and nothing else (`as_run_here`):

- The login (`oc login ...; oc project my-project`). The commands name neither project nor credentials: they take
  both from the kubeconfig that `oc` writes. Here KUBECONFIG is the kubeconfig of the project admin of a fresh
  namespace of the `rahti` profile, whose context names that namespace, as `oc project` leaves it
  (harness project_admin_kubeconfig). No `-e mlflow_namespace` is added: that a printed command finds its project
  from the login is part of what is tested.
- `@myml.yml`: a copy of docs/examples/instance.yml (`cp docs/examples/instance.yml myml.yml`) in a temporary
  directory, and the argument rewritten to its path (the working tree is shared). No value in it needs changing:
  its whitelist (FUNET's 193.166.0.0/15) is only the Routes' annotation here (nothing connects through a router).
- Nothing else. `-i inventories/rahti` is used as printed: a namespace of the `rahti` profile is a Rahti project as
  far as the playbooks can tell (the SCC's UIDs, the LimitRange, the CSC quota, Routes whose hosts the router
  generates; tests/cluster/manifests/profile-rahti.yaml), and the inventory sets only `mlflow_platform: openshift`,
  which the cluster's Route API satisfies. `csc.mlflow.deploy` (README, the installed tarball) is this checkout,
  linked into .ansible/collections by `make setup`.

The USER_GUIDE's two commands for a stack that still runs MinIO run in a project of their own, on a stack the
collection of OLD_COMMIT (before the Versity S3 gateway) deployed there, as the guide's reader has one.

The cluster runs no containers (kwok): the Jobs the playbooks start (backup, restore, key probe, copy, rotate-kek)
succeed without running, so what is checked of them is the objects and what the play reports; tests/stack runs
their pods for real. The steps are one story in file order: run the module whole.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from deployment import collection_at, commit_missing, get, secret_values, summary_changes, summary_lines
from harness.documents import INSTANCE_FILE, documented_commands
from harness.paths import REPO
from harness.playbooks import PlaybookResult, parse_recap

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# main before the Versity S3 gateway: new stacks got MinIO (as tests/stack/test_store_migration.py).
OLD_COMMIT = "ff680d14aee81bd9e3b2ddfea10ad6217e1c9d3d"
INSTANCE = yaml.safe_load(INSTANCE_FILE.read_text())
APP = INSTANCE["mlflow_app_name"]  # myml, as the commands name it
WHITELIST = " ".join(INSTANCE["mlflow_route_whitelist"])  # as the Routes' annotation holds it
MINIO_ERA_APP = "mlflow"  # the MinIO commands name no app: the default
SCHEDULE = "30 2 * * *"

COMMANDS = documented_commands()


def argv(line: str) -> str:
    """The command as bash runs it (a trailing comment removed, quoting normalised)."""
    return shlex.join(shlex.split(line, comments=True))


# What cannot run here, with the reason. Every other documented command is a step of the story below.
NOT_RUN = {
    "ansible-playbook playbooks/configure_artifact_store.yml -i inventories/rahti -e mlflow_app_name=myml"
    " -e mlflow_artifact_store=allas -e mlflow_s3_bucket=my-bucket -e mlflow_s3_access_key_id=..."
    " -e mlflow_s3_secret_access_key=...":
        "needs CSC Allas (https://a3s.fi, the internet) and a CSC project's S3 keys (`...`); with made-up keys the "
        "key probe and copy Jobs would 'succeed' here without running (kwok), which proves nothing. The same switch "
        "to an Allas-like endpoint is run by test_lifecycle.py::test_artifact_store_to_allas.",
    "ansible-playbook playbooks/configure_artifact_store.yml -i inventories/rahti -e mlflow_app_name=myml"
    " -e mlflow_artifact_store=allas -e mlflow_s3_bucket=myml-artifacts -e mlflow_s3_access_key_id=..."
    " -e mlflow_s3_secret_access_key=...":
        "the USER_GUIDE's Allas switch: as the README's (Allas and real keys).",
    "ansible-playbook playbooks/deploy.yml -i inventories/rahti -e mlflow_app_name=myml -e 'mlflow_version=<old>'":
        "`<old>` is the release a stack ran before an upgrade. The test cluster runs only images recorded in "
        "images/contracts.yml, which holds one MLflow release (3.17.2, the default): the default image of any older "
        "release (ghcr.io/mlflow/mlflow:v<old>-full) is refused, and the older test image (example.test/mlflow:2.22.5) "
        "needs -e mlflow_image and -e mlflow_allow_insecure_version too, another command. "
        "test_upgrade_fails_fast.py runs version changes with it.",
}


def printed(key: str) -> str:
    """The first printed line that bash runs as `key` (README's before USER_GUIDE's)."""
    lines = [line for _doc, line in sorted(COMMANDS, key=lambda c: c[0] != "README.md") if argv(line) == key]
    assert lines, f"no document prints {key!r} any more: update the story"
    return lines[0]


def as_run_here(line: str, myml: Path) -> str:
    """The printed line with the instance file swapped for the test's copy (the module docstring)."""
    return re.sub(r"(?<=\s)@myml\.yml(?=\s|$)", "@" + str(myml), line)


@dataclass
class Story:
    """What the steps share: the projects (the story's name -> namespace), the instance file, what earlier steps saw."""

    cluster: object
    myml: Path
    projects: dict
    seen: dict

    def project(self, name: str) -> str:
        if name not in self.projects:
            self.projects[name] = self.cluster.fresh_namespace(f"doc-{name}", profile="rahti")
        return self.projects[name]

    def run(self, key: str, project: str) -> PlaybookResult:
        ns = self.project(project)
        env = self.cluster.base_env()
        env["KUBECONFIG"] = str(self.cluster.project_admin_kubeconfig(ns))
        command = as_run_here(printed(key), self.myml)
        start = time.monotonic()
        p = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
                           check=False)
        return PlaybookResult(rc=p.returncode, stdout=p.stdout, stderr=p.stderr, recap=parse_recap(p.stdout),
                              args=["bash", "-c", command], seconds=time.monotonic() - start)


@pytest.fixture(scope="module")
def story(cluster, tmp_path_factory):
    myml = tmp_path_factory.mktemp("researcher") / "myml.yml"
    shutil.copy(INSTANCE_FILE, myml)  # cp docs/examples/instance.yml myml.yml
    s = Story(cluster, myml, {}, {})
    yield s
    for ns in s.projects.values():
        cluster.delete_namespace(ns)


# --------------------------------------------------------------------------- what the cluster holds


def users(story, ns, app=APP):
    return secret_values(get(story.cluster, "Secret", ns, f"{app}-users"))


def htpasswd_lines(story, ns, app=APP):
    text = secret_values(get(story.cluster, "Secret", ns, f"{app}-htpasswd"))["htpasswd"]
    return {line.split(":", 1)[0]: line for line in text.splitlines() if line}


def backup_schedule(story, ns):
    cron = get(story.cluster, "CronJob", ns, f"{APP}-backup")
    return cron["spec"]["schedule"] if cron else None


def models(story, ns):
    """(replicas of Models, its MODELS_URI)."""
    replicas = get(story.cluster, "Deployment", ns, f"{APP}-models")["spec"]["replicas"]
    return replicas, get(story.cluster, "ConfigMap", ns, "models-cfg")["data"]["MODELS_URI"]


def jobs(story, ns, prefix):
    return sorted((j for j in get(story.cluster, "Job", ns) if j["metadata"]["name"].startswith(prefix)),
                  key=lambda j: j["metadata"]["creationTimestamp"])


def job_env(job, name):
    spec = job["spec"]["template"]["spec"]
    return [e.get("value", "") for c in spec.get("initContainers", []) + spec["containers"] for e in c.get("env", [])
            if e["name"] == name]


def nothing_changed(r):
    assert summary_changes(r.stdout) == {"objects": [], "secrets": []}, summary_lines(r.stdout)


# --------------------------------------------------------------------------- the effects the documents promise


def deployed_from_the_instance_file(story, ns, r):
    route = get(story.cluster, "Route", ns, APP)
    assert route["metadata"]["annotations"]["haproxy.router.openshift.io/ip_whitelist"] == WHITELIST
    assert set(users(story, ns)) == {"mlflow"}
    assert f"export MLFLOW_TRACKING_URI=https://{route['spec']['host']}" in " ".join(r.stdout.split())
    story.seen["whitelist"] = route["metadata"]["annotations"]
    story.seen["htpasswd"] = htpasswd_lines(story, ns)


def changes_nothing_it_names(story, ns, r):
    """README: "a run without myml.yml changes nothing it names"."""
    nothing_changed(r)
    assert get(story.cluster, "Route", ns, APP)["metadata"]["annotations"] == story.seen["whitelist"]


def alice_added(story, ns, r):
    now, lines = users(story, ns), htpasswd_lines(story, ns)
    assert set(now) == {"mlflow", "alice"} and len(now["alice"]) == 24, set(now)
    assert now["alice"] not in r.stdout + r.stderr
    assert lines["mlflow"] == story.seen["htpasswd"]["mlflow"]  # nothing else changes
    story.seen["alice"] = (now["alice"], lines["alice"])


def alice_rotated(story, ns, r):
    password, line = story.seen["alice"]
    now, lines = users(story, ns), htpasswd_lines(story, ns)
    assert now["alice"] != password and lines["alice"] != line
    assert lines["mlflow"] == story.seen["htpasswd"]["mlflow"]  # "Only that htpasswd entry changes"


def alice_removed(story, ns, r):
    lines = htpasswd_lines(story, ns)
    assert set(users(story, ns)) == {"mlflow"} and "alice" not in lines
    assert lines["mlflow"] == story.seen["htpasswd"]["mlflow"]


def users_are_alice_and_bob(story, ns, r):
    story.seen["users"] = users(story, ns)
    assert set(story.seen["users"]) == {"alice", "bob"}


def schedule_added(story, ns, r):
    assert backup_schedule(story, ns) == SCHEDULE
    assert users(story, ns) == story.seen["users"]


def alice_bob_and_the_schedule_stay(story, ns, r):
    assert users(story, ns) == story.seen["users"]  # the same users with the same passwords
    assert backup_schedule(story, ns) == SCHEDULE
    nothing_changed(r)


def models_serve(uri):
    def check(story, ns, r):
        assert models(story, ns) == (1, uri)
        assert get(story.cluster, "Route", ns, f"{APP}-models")["spec"]["host"] in r.stdout
    return check


def models_off_uri_kept(story, ns, r):
    assert models(story, ns) == (0, "models:/iris/1")


def a_backup_now(story, ns, r):
    (job,) = jobs(story, ns, f"{APP}-bkp-")
    assert job["status"].get("succeeded") == 1
    assert get(story.cluster, "PersistentVolumeClaim", ns, f"{APP}-backup") is not None
    assert "Restore it: ansible-playbook playbooks/restore.yml" in " ".join(r.stdout.split())
    assert backup_schedule(story, ns) == SCHEDULE


def restored(backup):
    """A restore Job asked for `backup` ('' = the newest); the writers run again as they were."""
    def check(story, ns, r):
        job = jobs(story, ns, f"{APP}-restore-")[-1]
        assert job_env(job, "RESTORE_BACKUP") == [backup], job_env(job, "RESTORE_BACKUP")
        assert get(story.cluster, "Deployment", ns, APP)["spec"]["replicas"] == 1
        assert models(story, ns) == (1, "models:/mymodel/1")
        if backup:
            assert f"Restored {backup} into {APP}" in " ".join(r.stdout.split()), summary_lines(r.stdout)
    return check


def kek_rotated(story, ns, r):
    kek = secret_values(get(story.cluster, "Secret", ns, f"{APP}-crypto"))
    assert kek["MLFLOW_CRYPTO_KEK_VERSION"] == "2", kek["MLFLOW_CRYPTO_KEK_VERSION"]
    assert get(story.cluster, "Deployment", ns, APP)["spec"]["replicas"] == 1


def undeployed_data_kept(story, ns, r):
    for kind in ("Deployment", "Service", "Route", "CronJob"):
        assert get(story.cluster, kind, ns) == [], kind
    assert set(users(story, ns)) == {"alice", "bob"}  # Secrets stay: the passwords, keys
    pvcs = {p["metadata"]["name"] for p in get(story.cluster, "PersistentVolumeClaim", ns)}
    assert {f"{APP}-postgresql", f"{APP}-backup"} <= pvcs, pvcs  # the data and the backups


def minio_era_stack(story, ns):
    """The stack the MinIO commands are for: deployed by OLD_COMMIT's collection, MinIO its store."""
    missing = commit_missing(OLD_COMMIT)
    if missing:
        pytest.fail(f"cannot build the collection of the old commit: {missing}", pytrace=False)
    old = collection_at(OLD_COMMIT, story.myml.parent / "old")
    given = {"mlflow_namespace": ns, "mlflow_route_whitelist": INSTANCE["mlflow_route_whitelist"]}
    r = story.cluster.run_playbook("deploy.yml", given, collection=old, inventory=None)
    assert r.rc == 0, f"deploy.yml of {OLD_COMMIT[:7]} failed:\n{r}"
    assert get(story.cluster, "Deployment", ns, f"{MINIO_ERA_APP}-minio") is not None


def store_config(story, ns):
    return json.dumps(get(story.cluster, "ConfigMap", ns, f"{MINIO_ERA_APP}-config")["data"])


def gateway_beside_minio(story, ns, r):
    a = MINIO_ERA_APP
    assert get(story.cluster, "Deployment", ns, f"{a}-minio") is not None
    assert get(story.cluster, "Deployment", ns, f"{a}-versitygw") is not None
    assert f"http://{a}-minio:9000" in store_config(story, ns)
    assert "this stack still runs MinIO" in " ".join(r.stdout.split())


def moved_to_the_gateway(story, ns, r):
    a = MINIO_ERA_APP
    config = store_config(story, ns)
    assert f"http://{a}-versitygw:7070" in config and f"{a}-minio" not in config, config
    assert get(story.cluster, "Deployment", ns, f"{a}-minio") is None
    assert jobs(story, ns, f"{a}-s3mig-")
    # "MinIO's PVC and Secret stay until you delete them yourself"
    assert get(story.cluster, "PersistentVolumeClaim", ns, f"{a}-minio") is not None
    assert get(story.cluster, "Secret", ns, f"{a}-minio") is not None


def small_stack_deployed(story, ns, r):
    """The tracking pod alone, its runs and artifacts on PVC myml-data."""
    deployments = {d["metadata"]["name"] for d in get(story.cluster, "Deployment", ns)}
    assert deployments == {APP, f"{APP}-models"}, deployments
    assert get(story.cluster, "PersistentVolumeClaim", ns, f"{APP}-data") is not None
    assert get(story.cluster, "ConfigMap", ns, f"{APP}-config")["data"]["ARTIFACT_STORE"] == "pvc"


def grown(story, ns, r):
    """PostgreSQL and the gateway run, the tracking server on them; PVC myml-data kept; the summary says so."""
    deployments = {d["metadata"]["name"] for d in get(story.cluster, "Deployment", ns)}
    assert {f"{APP}-postgresql", f"{APP}-versitygw", APP} <= deployments, deployments
    assert get(story.cluster, "ConfigMap", ns, f"{APP}-config")["data"]["ARTIFACT_STORE"] == "versitygw"
    assert get(story.cluster, "PersistentVolumeClaim", ns, f"{APP}-data") is not None
    assert "Grown into the full stack by Job" in " ".join(r.stdout.split())


@dataclass
class Step:
    command: str  # as bash runs it (argv): printed() finds the line
    check: Callable
    project: str = "main"
    before: Callable | None = None  # what the project needs first, once


DEPLOY = "ansible-playbook playbooks/deploy.yml -i inventories/rahti -e mlflow_app_name=myml"
USERS = "ansible-playbook playbooks/users.yml -i inventories/rahti -e mlflow_app_name=myml -e mlflow_user_action="

STORY = [
    # README: cp docs/examples/instance.yml myml.yml; deploy
    Step("ansible-playbook playbooks/deploy.yml -i inventories/rahti -e @myml.yml", deployed_from_the_instance_file),
    # README, Requirements: the same instance file with the installed collection
    Step("ansible-playbook csc.mlflow.deploy -e @myml.yml", lambda s, ns, r: nothing_changed(r)),
    # USER_GUIDE, Playbooks: a run without the instance file
    Step(DEPLOY, changes_nothing_it_names),
    # README and USER_GUIDE, Users and passwords
    Step(USERS + "add -e mlflow_user_name=alice", alice_added),
    Step(USERS + "rotate -e mlflow_user_name=alice", alice_rotated),
    Step(USERS + "remove -e mlflow_user_name=alice", alice_removed),
    # USER_GUIDE, Re-runs change only what you set
    Step(DEPLOY + " -e mlflow_users=alice,bob", users_are_alice_and_bob),
    Step(DEPLOY + " -e 'mlflow_backup_schedule=\"30 2 * * *\"'", schedule_added),
    Step(DEPLOY, alice_bob_and_the_schedule_stay),
    # USER_GUIDE, About the default images: a stack that still runs MinIO (a project of its own)
    Step("ansible-playbook playbooks/deploy.yml", gateway_beside_minio, "minio-era", minio_era_stack),
    Step("ansible-playbook playbooks/configure_artifact_store.yml -e mlflow_artifact_store=versitygw",
         moved_to_the_gateway, "minio-era"),
    # USER_GUIDE, Playbooks and MLflow Models; README's model
    Step("ansible-playbook playbooks/enable_models.yml -i inventories/rahti -e mlflow_app_name=myml"
         " -e models_uri=models:/iris/1", models_serve("models:/iris/1")),
    Step("ansible-playbook playbooks/disable_models.yml -i inventories/rahti -e mlflow_app_name=myml",
         models_off_uri_kept),
    Step("ansible-playbook playbooks/enable_models.yml -i inventories/rahti -e mlflow_app_name=myml"
         " -e models_uri=models:/mymodel/1", models_serve("models:/mymodel/1")),
    # README and USER_GUIDE, Scheduled backups and restore
    Step("ansible-playbook playbooks/backup.yml -i inventories/rahti -e mlflow_app_name=myml", a_backup_now),
    Step("ansible-playbook playbooks/restore.yml -i inventories/rahti -e mlflow_app_name=myml", restored("")),
    # kwok runs no restore container, so the printed name is as good as the name of the backup just taken
    # (which only the backup's container knows): the Job is asked for it, the play reports it.
    Step("ansible-playbook playbooks/restore.yml -i inventories/rahti -e mlflow_app_name=myml"
         " -e mlflow_tracking_restore_backup=20261201T023000Z", restored("20261201T023000Z")),
    # USER_GUIDE, The small stack (a project of its own): deployed small, then grown
    Step("ansible-playbook playbooks/deploy.yml -i inventories/rahti -e @myml.yml -e mlflow_stack_size=small",
         small_stack_deployed, "small"),
    Step("ansible-playbook playbooks/grow.yml -i inventories/rahti -e @myml.yml", grown, "small"),
    # README
    Step("ansible-playbook playbooks/rotate_kek.yml -i inventories/rahti -e mlflow_app_name=myml", kek_rotated),
    Step("ansible-playbook playbooks/undeploy.yml -i inventories/rahti -e mlflow_app_name=myml", undeployed_data_kept),
]


def test_every_documented_command_is_run_or_listed_as_not_run():
    documented = {argv(line) for _doc, line in COMMANDS}
    run = {step.command for step in STORY}  # a re-run may come twice, with another promise
    assert not run & set(NOT_RUN)
    assert run - documented == set(), "steps that no document prints (any more)"
    assert documented - run == set(NOT_RUN), "a documented command is neither run nor listed in NOT_RUN"


@pytest.mark.parametrize("step", STORY, ids=[f"{i:02d}-{s.project}:{s.command[17:]}" for i, s in enumerate(STORY, 1)])
def test_a_documented_command_runs_as_printed(story, step):
    ns = story.project(step.project)
    if step.before is not None:
        step.before(story, ns)
    r = story.run(step.command, step.project)
    assert r.rc == 0, str(r)
    step.check(story, ns, r)
