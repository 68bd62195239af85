"""Every job template's playbook run the way AWX runs it, with the survey's default
answers, against the test cluster:

- the collection comes from the tarball an EE would carry (installed into a temporary
  collections path), not from the checkout's roles/;
- no inventory (implicit localhost), or an AWX-style inventory holding only localhost;
- extra vars from a file (`-e @extravars`), including the awx_* variables AWX adds;
- credentials only from K8S_AUTH_* (the "OpenShift or Kubernetes API Bearer Token"
  credential): a CA file, or K8S_AUTH_VERIFY_SSL=False; no KUBECONFIG, an empty HOME;
- no secret (generated passwords, S3 keys, the token) in the job output.
"""

from __future__ import annotations

import base64
import os
import subprocess

import pytest

from awxlib import REPO, VENV_BIN, raw_templates, survey_defaults

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TEMPLATES = {t["playbook"]: t for t in raw_templates()}
APP = "mlflow"  # the survey default instance name


@pytest.fixture(scope="module")
def ee_env(cluster, tmp_path_factory):
    """Environment of a job in the EE: the collection installed from its tarball."""
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
    assert (tmp / "collections" / "ansible_collections" / "csc" / "mlflow" / "MANIFEST.json").is_file()
    home = tmp / "home"
    home.mkdir()
    inventory = tmp / "hosts"
    inventory.write_text(
        "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n"
    )
    return {"collections": str(tmp / "collections"), "home": str(home), "inventory": str(inventory)}


class Job:
    """Runs job templates like AWX and keeps every output for the secret check."""

    def __init__(self, cluster, ee_env, namespace):
        self.cluster, self.ee_env, self.namespace = cluster, ee_env, namespace
        self.outputs: list[str] = []
        self.job_id = 100

    def run(self, playbook, answers=None, verify_ssl=True, awx_inventory=False):
        template = TEMPLATES[playbook]
        self.job_id += 1
        extra_vars = {
            **survey_defaults(template),
            "mlflow_namespace": self.namespace,
            **(answers or {}),
            # what AWX adds to every job's extra vars
            "awx_job_id": self.job_id,
            "tower_job_id": self.job_id,
            "awx_job_template_name": template["name"],
            "awx_project_revision": "0" * 40,
        }
        env = self.cluster.auth_env(verify_ssl=verify_ssl)
        env.update({
            "HOME": self.ee_env["home"],
            "ANSIBLE_COLLECTIONS_PATH": self.ee_env["collections"],
            "KUBECONFIG": None,
            "K8S_AUTH_KUBECONFIG": None,
        })
        if not verify_ssl:
            env["K8S_AUTH_VERIFY_SSL"] = "False"  # as the AWX credential injects it
            env.pop("K8S_AUTH_SSL_CA_CERT", None)
        result = self.cluster.run_playbook(
            playbook, extra_vars=extra_vars, env=env,
            inventory=self.ee_env["inventory"] if awx_inventory else None,
        )
        self.outputs.append(result.stdout + result.stderr)
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

    def assert_no_secrets_in_output(self, extra=()):
        secrets = {**self.secret_values(), **{v: "extra var" for v in extra}, self.cluster.token: "the token"}
        for out in self.outputs:
            leaked = sorted({where for value, where in secrets.items() if value in out})
            assert not leaked, f"secret values in the job output, from: {leaked}"


def replicas(job, name):
    return job.objects("Deployment", "apps/v1")[name].spec.replicas


def test_job_templates_with_survey_defaults(cluster, ee_env):
    ns = cluster.fresh_namespace("awx")
    job = Job(cluster, ee_env, ns)

    # Deploy with the survey's defaults
    r = job.run("playbooks/deploy.yml")
    assert r.rc == 0 and r.failed == 0, str(r)
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
    assert r.rc == 0 and r.changed == 0, str(r)
    assert cluster.snapshot(ns) == first

    # Users: a colleague added by the Users template stays through a deploy whose Users answer is left empty
    r = job.run("playbooks/users.yml", {"mlflow_user_action": "add", "mlflow_user_name": "alice"})
    assert r.rc == 0, str(r)
    assert set(job.objects("Secret")[f"{APP}-users"].data.to_dict()) == {"mlflow", "alice"}
    r = job.run("playbooks/deploy.yml")
    assert r.rc == 0 and r.changed == 0, str(r)
    assert set(job.objects("Secret")[f"{APP}-users"].data.to_dict()) == {"mlflow", "alice"}

    # Enable models (the one required answer without a default)
    r = job.run("playbooks/enable_models.yml", {"mlflow_models_uri": "models:/iris/1"})
    assert r.rc == 0, str(r)
    assert job.objects("ConfigMap")["models-cfg"].data["MODELS_URI"] == "models:/iris/1"
    assert replicas(job, f"{APP}-models") == 1

    # Disable models: AWX-style inventory and a credential with verify_ssl off
    r = job.run("playbooks/disable_models.yml", verify_ssl=False, awx_inventory=True)
    assert r.rc == 0, str(r)
    assert replicas(job, f"{APP}-models") == 0

    # Artifact store: survey defaults (allas) with the bucket and keys a user types in
    keys = {"mlflow_s3_access_key_id": "AKIAAWXTEST0001", "mlflow_s3_secret_access_key": "s3cr3t-AWX-test-Key-0001"}
    r = job.run("playbooks/configure_artifact_store.yml", {"mlflow_s3_bucket": "awx-bucket", "mlflow_artifact_migrate": "false", **keys})
    assert r.rc == 0, str(r)
    s3 = job.objects("Secret").get(f"{APP}-s3")
    assert s3 is not None
    # ... and back to the in-cluster store
    r = job.run("playbooks/configure_artifact_store.yml", {"mlflow_artifact_store": "versitygw", "mlflow_artifact_migrate": "false"})
    assert r.rc == 0, str(r)

    job.assert_no_secrets_in_output(extra=keys.values())

    # Restore: a wrong confirmation changes nothing; confirmed, with no scheduled backups, it is refused
    before = cluster.snapshot(ns)
    r = job.run("playbooks/restore.yml", {"mlflow_tracking_confirm_restore": "not-" + APP})
    assert r.rc != 0 and "Not confirmed" in r.stdout, str(r)
    r = job.run("playbooks/restore.yml", {"mlflow_tracking_confirm_restore": APP})
    assert r.rc != 0 and "Nothing to restore" in r.stdout, str(r)
    assert cluster.snapshot(ns) == before

    # Undeploy: a wrong confirmation changes nothing
    before = cluster.snapshot(ns)
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": "not-" + APP})
    assert r.rc != 0, str(r)
    assert cluster.snapshot(ns) == before
    # purge chosen without its own confirmation: nothing changes either
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": APP, "mlflow_purge": "true"})
    assert r.rc != 0, str(r)
    assert cluster.snapshot(ns) == before

    # Confirmed undeploy (purge keeps its default "false"): data stays
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": APP})
    assert r.rc == 0, str(r)
    assert not job.objects("Deployment", "apps/v1")
    assert job.objects("PersistentVolumeClaim")
    assert f"{APP}-users" in job.objects("Secret")
    job.assert_no_secrets_in_output(extra=keys.values())

    # Confirmed purge
    r = job.run("playbooks/undeploy.yml", {"mlflow_confirm_undeploy": APP, "mlflow_purge": "true",
                                           "mlflow_confirm_purge": APP})
    assert r.rc == 0, str(r)
    assert not job.objects("PersistentVolumeClaim")
    assert f"{APP}-users" not in job.objects("Secret")


def test_deploy_without_namespace_fails_clearly(cluster, ee_env):
    """Under AWX there is no kubeconfig context to take a namespace from."""
    ns = cluster.fresh_namespace("awx-nons")
    job = Job(cluster, ee_env, ns)
    r = job.run("playbooks/deploy.yml", {"mlflow_namespace": ""})
    assert r.rc != 0
    assert "mlflow_namespace" in r.stdout, str(r)
    assert not job.objects("Deployment", "apps/v1")
