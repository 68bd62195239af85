"""Every job template launched the way AWX (or the automation controller) launches it, with the
survey's default answers, against the test cluster: the playbook run by AWX's job engine,
ansible-runner, in a process of its own, on a private data directory laid out as AWX lays it
out (awxlib.run_job):

- project/: the collection's files; the collection itself from the tarball an EE would carry
  (installed into the collections path that stands for the image's);
- inventory/hosts: AWX's inventory script holding only localhost (awx/controller_inventories.yml);
- env/extravars: the survey's answers and the awx_* variables AWX adds, all strings !unsafe;
- env/envvars: AWX's job environment and the credential as its injector sets it: K8S_AUTH_HOST,
  K8S_AUTH_API_KEY and a CA file, or K8S_AUTH_VERIFY_SSL=False; no KUBECONFIG, an empty HOME;
- no secret (generated passwords, S3 keys, the token) in the job's output or in its events,
  which AWX stores.
"""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
from pathlib import Path

import pytest

from awxlib import REPO, VENV_BIN, ExecutionEnvironment, raw_templates, run_job

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TEMPLATES = {t["playbook"]: t for t in raw_templates()}
APP = "mlflow"  # the survey default instance name
JOB_IDS = itertools.count(101)  # unique, as AWX's job ids are


@pytest.fixture(scope="module")
def ee(cluster, tmp_path_factory):
    """The execution environment of the jobs: the collection installed from its tarball."""
    tmp = tmp_path_factory.mktemp("awx-ee")
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp), str(REPO)],
        check=True, capture_output=True,
    )
    (tarball,) = tmp.glob("csc-mlflow-*.tar.gz")
    # --force and the env: the checkout's own link (ansible.cfg) must not count as installed
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--force", "--no-deps",
         "-p", str(tmp / "collections"), str(tarball)],
        check=True, capture_output=True, env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(tmp / "collections")},
    )
    installed = tmp / "collections" / "ansible_collections" / "csc" / "mlflow"
    assert (installed / "MANIFEST.json").is_file()
    (tmp / "home").mkdir()
    return ExecutionEnvironment(collections=tmp / "collections", project=installed, home=tmp / "home", jobs=tmp / "jobs")


class Job:
    """Launches job templates like AWX and keeps everything AWX stores of them for the secret check."""

    def __init__(self, cluster, ee, namespace):
        self.cluster, self.ee, self.namespace = cluster, ee, namespace
        self.stored: list[str] = []

    def run(self, playbook, answers=None, verify_ssl=True):
        credential = {"host": self.cluster.server, "bearer_token": self.cluster.token, "verify_ssl": verify_ssl}
        if verify_ssl:
            credential["ssl_ca_cert"] = Path(self.cluster.ca_file).read_text()
        result = run_job(TEMPLATES[playbook], {"mlflow_namespace": self.namespace, **(answers or {})},
                         job_id=next(JOB_IDS), credential=credential, ee=self.ee)
        self.stored.append(result.stored_text())
        return result

    def objects(self, kind, api_version="v1"):
        res = self.cluster.dynamic.resources.get(api_version=api_version, kind=kind)
        return {o.metadata.name: o for o in res.get(namespace=self.namespace).items}

    def secret_values(self):
        """{value: "Secret/key"} of every Secret value (and htpasswd/env-style line parts)."""
        values = {}
        for name, s in self.objects("Secret").items():
            for k, v in (s.data or {}).to_dict().items():
                if k.lower().endswith(("user", "username")):
                    continue  # user names are printed on purpose (e.g. MLFLOW_TRACKING_USERNAME = <app>-models)
                text = base64.b64decode(v).decode(errors="replace")
                parts = [text]
                parts += [line.split(":", 1)[-1] for line in text.splitlines() if ":" in line]
                parts += [line.split("=", 1)[-1] for line in text.splitlines() if "=" in line]
                for part in parts:
                    if len(part.strip()) >= 8:
                        values[part.strip()] = f"Secret/{name}[{k}]"
        return values

    def assert_no_secrets_stored(self, extra=()):
        secrets = {**self.secret_values(), **{v: "extra var" for v in extra}, self.cluster.token: "the token"}
        for text in self.stored:
            leaked = sorted({where for value, where in secrets.items() if value in text})
            assert not leaked, f"secret values in the job's output or events, from: {leaked}"


def replicas(job, name):
    return job.objects("Deployment", "apps/v1")[name].spec.replicas


def test_job_templates_with_survey_defaults(cluster, ee):
    ns = cluster.fresh_namespace("awx")
    job = Job(cluster, ee, ns)

    # Deploy with the survey's defaults
    r = job.run("playbooks/deploy.yml")
    assert r.status == "successful" and r.rc == 0 and r.failed == 0, str(r)
    deployments = job.objects("Deployment", "apps/v1")
    assert {APP, f"{APP}-postgresql", f"{APP}-versitygw", f"{APP}-models"} <= set(deployments), sorted(deployments)
    assert f"{APP}-minio" not in deployments
    route = job.objects("Route", "route.openshift.io/v1")[APP]
    annotations = route.metadata.annotations or {}
    assert annotations.get("haproxy.router.openshift.io/ip_whitelist") == "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16"
    users = job.objects("Secret")[f"{APP}-users"]
    assert set(users.data.to_dict()) == {"mlflow"}
    # the job output ends with a summary naming the endpoint
    assert route.spec.host and route.spec.host in r.stdout.rsplit("TASK [", 1)[-1], str(r)
    first = cluster.snapshot(ns)

    # The same answers again: nothing changes (string answers are idempotent)
    r = job.run("playbooks/deploy.yml")
    assert r.status == "successful" and r.rc == 0 and r.changed == 0, str(r)
    assert cluster.snapshot(ns) == first

    # Users: a colleague added by the Users template stays through a deploy whose Users answer is left empty
    r = job.run("playbooks/users.yml", {"mlflow_user_action": "add", "mlflow_user_name": "alice"})
    assert r.status == "successful" and r.rc == 0, str(r)
    assert set(job.objects("Secret")[f"{APP}-users"].data.to_dict()) == {"mlflow", "alice"}
    r = job.run("playbooks/deploy.yml")
    assert r.status == "successful" and r.rc == 0 and r.changed == 0, str(r)
    assert set(job.objects("Secret")[f"{APP}-users"].data.to_dict()) == {"mlflow", "alice"}

    # Enable models (the one required answer without a default)
    r = job.run("playbooks/enable_models.yml", {"mlflow_models_uri": "models:/iris/1"})
    assert r.status == "successful" and r.rc == 0, str(r)
    assert job.objects("ConfigMap")["models-cfg"].data["MODELS_URI"] == "models:/iris/1"
    assert replicas(job, f"{APP}-models") == 1

    # Disable models: a credential with verify_ssl off
    r = job.run("playbooks/disable_models.yml", verify_ssl=False)
    assert r.status == "successful" and r.rc == 0, str(r)
    assert replicas(job, f"{APP}-models") == 0

    # Artifact store: survey defaults (allas) with the bucket and keys a user types in
    keys = {"mlflow_s3_access_key_id": "AKIAAWXTEST0001", "mlflow_s3_secret_access_key": "s3cr3t-AWX-test-Key-0001"}
    r = job.run("playbooks/configure_artifact_store.yml", {"mlflow_s3_bucket": "awx-bucket", "mlflow_artifact_migrate": "false", **keys})
    assert r.status == "successful" and r.rc == 0, str(r)
    s3 = job.objects("Secret").get(f"{APP}-s3")
    assert s3 is not None
    # ... and back to the in-cluster store
    r = job.run("playbooks/configure_artifact_store.yml", {"mlflow_artifact_store": "versitygw", "mlflow_artifact_migrate": "false"})
    assert r.status == "successful" and r.rc == 0, str(r)

    job.assert_no_secrets_stored(extra=keys.values())

    # Restore: a wrong confirmation changes nothing; confirmed, with no scheduled backups, it is refused
    before = cluster.snapshot(ns)
    # Grow: a full instance has nothing to grow
    r = job.run("playbooks/grow.yml")
    assert r.status == "failed" and "a full stack has nothing to grow" in " ".join(r.stdout.split()), str(r)
    r = job.run("playbooks/restore.yml", {"mlflow_tracking_confirm_restore": "not-" + APP})
    assert r.status == "failed" and r.rc != 0 and "Not confirmed" in r.stdout, str(r)
    r = job.run("playbooks/restore.yml", {"mlflow_tracking_confirm_restore": APP})
    assert r.status == "failed" and r.rc != 0 and "Nothing to restore" in r.stdout, str(r)
    assert cluster.snapshot(ns) == before

    # Undeploy: a wrong confirmation changes nothing
    before = cluster.snapshot(ns)
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": "not-" + APP})
    assert r.status == "failed" and r.rc != 0, str(r)
    assert cluster.snapshot(ns) == before
    # purge chosen without its own confirmation: nothing changes either
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": APP, "mlflow_purge": "true"})
    assert r.status == "failed" and r.rc != 0, str(r)
    assert cluster.snapshot(ns) == before

    # Confirmed undeploy (purge keeps its default "false"): data stays
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": APP})
    assert r.status == "successful" and r.rc == 0, str(r)
    assert not job.objects("Deployment", "apps/v1")
    assert job.objects("PersistentVolumeClaim")
    assert f"{APP}-users" in job.objects("Secret")
    job.assert_no_secrets_stored(extra=keys.values())

    # Confirmed purge
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": APP, "mlflow_purge": "true",
                                           "mlflow_confirm_purge": APP})
    assert r.status == "successful" and r.rc == 0, str(r)
    assert not job.objects("PersistentVolumeClaim")
    assert f"{APP}-users" not in job.objects("Secret")


def test_deploy_without_namespace_fails_clearly(cluster, ee):
    """Under AWX there is no kubeconfig context to take a namespace from."""
    ns = cluster.fresh_namespace("awx-nons")
    job = Job(cluster, ee, ns)
    r = job.run("playbooks/deploy.yml", {"mlflow_namespace": ""})
    assert r.status == "failed" and r.rc != 0
    assert "mlflow_namespace" in r.stdout, str(r)
    assert not job.objects("Deployment", "apps/v1")
