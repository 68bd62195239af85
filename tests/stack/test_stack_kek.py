"""The AI Gateway's key-encryption passphrase: kept by deploy, rotated by playbooks/rotate_kek.yml.

A gateway secret stored through the proxy before the rotation decrypts after it, with the
passphrase and version the rotation wrote to Secret <app>-crypto, in the tracking server that
restarts on them (its own store, server-side: the REST API never returns the value). The rotation
Job is the one the playbook created, run locally with the Secrets as they were while it ran.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from running_stack.deployed import Deployed
from running_stack.playbooks import deploy, playbook
from running_stack.processes import local_env
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

STORE = textwrap.dedent("""
    import json
    from mlflow.tracking._tracking_service.utils import _get_store
    info = _get_store().create_gateway_secret("kek-test", {"api_key": "sk-before-rotation"}, provider="openai")
    print("RESULT " + json.dumps({"id": info.secret_id}))
""")

# Server-side: the tracking server's own store, with the environment the server runs with.
DECRYPT = textwrap.dedent("""
    import json, os, sys
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    store = SqlAlchemyStore(os.environ["MLFLOW_BACKEND_STORE_URI"], "/tmp")
    try:
        print("RESULT " + json.dumps(store._get_decrypted_secret(sys.argv[1])))
    except Exception as e:  # noqa: BLE001 - the message is the result
        print("RESULT " + json.dumps({"error": type(e).__name__ + ": " + str(e)[:200]}))
""")


def _result(r):
    return json.loads([line for line in r.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])


def _decrypt(stack, secret_id, **override):
    import subprocess

    _spec, c = stack.mlflow_container()
    env = {**stack.local_subs().env(stack.deployed.env(c)), **override}
    venv = stack.tools.mlflow_venv
    root = stack.state / "decrypt"
    root.mkdir(exist_ok=True)
    r = subprocess.run([str(venv / "bin/python"), "-c", DECRYPT, secret_id], env=local_env(env, venv, home=root),
                       capture_output=True, text=True, timeout=120, cwd=root, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return _result(r)


def test_gateway_secret_survives_deploy_and_rotation(stack_cluster, tools, tmp_path):
    ns = stack_cluster.fresh_namespace("kek")
    dep = deploy(stack_cluster, ns)
    crypto = f"{dep.app}-crypto"
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools)
    try:
        stack.up()
        old = dict(stack.deployed.secret(crypto))
        assert old["MLFLOW_CRYPTO_KEK_VERSION"] == "1" and len(old["MLFLOW_CRYPTO_KEK_PASSPHRASE"]) == 48
        _spec, c = stack.mlflow_container()
        assert stack.deployed.env(c)["MLFLOW_CRYPTO_KEK_PASSPHRASE"] == old["MLFLOW_CRYPTO_KEK_PASSPHRASE"]
        assert stack.deployed.env(c)["MLFLOW_DISABLE_TELEMETRY"] == "true"
        secret_id = _result(stack.run_client(STORE))["id"]
        assert _decrypt(stack, secret_id) == {"api_key": "sk-before-rotation"}

        # a re-run keeps the passphrase
        r = playbook(stack_cluster, "deploy.yml", dep.extra_vars)
        assert r.rc == 0, str(r)
        stack.deployed.refresh()
        assert stack.deployed.secret(crypto) == old

        r = playbook(stack_cluster, "rotate_kek.yml", {"mlflow_namespace": ns, "mlflow_wait_timeout": 300})
        assert r.rc == 0, str(r)
        stack.deployed.refresh()
        new = dict(stack.deployed.secret(crypto))
        assert new["MLFLOW_CRYPTO_KEK_VERSION"] == "2"
        assert new["MLFLOW_CRYPTO_KEK_PASSPHRASE"] != old["MLFLOW_CRYPTO_KEK_PASSPHRASE"]
        assert len(new["MLFLOW_CRYPTO_KEK_PASSPHRASE"]) == 48

        # the servers were stopped for the Job; here: stop them, run the Job with the Secrets it saw
        stack.procs.stop("nginx")
        stack.procs.stop("mlflow")
        jobs = [(n, s) for n, s in stack.deployed.job_specs() if "rotate_kek" in json.dumps(s)]
        assert len(jobs) == 1, [n for n, _s in stack.deployed.job_specs()]
        name, spec = jobs[0]
        job_text = json.dumps(spec)
        assert new["MLFLOW_CRYPTO_KEK_PASSPHRASE"] not in job_text and old["MLFLOW_CRYPTO_KEK_PASSPHRASE"] not in job_text
        stack.deployed._sec[crypto] = old
        stack.deployed._sec[f"{dep.app}-crypto-next"] = new
        res = stack.run_container_once(spec, spec["containers"][0], name)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Successfully rotated 1 encryption key from KEK v1 to v2" in res.stdout, res.stdout
        stack.deployed.refresh()

        # the old passphrase no longer opens it; the new one (what the pods now read) does
        assert "error" in _decrypt(stack, secret_id, MLFLOW_CRYPTO_KEK_PASSPHRASE=old["MLFLOW_CRYPTO_KEK_PASSPHRASE"],
                                   MLFLOW_CRYPTO_KEK_VERSION="1")
        assert _decrypt(stack, secret_id) == {"api_key": "sk-before-rotation"}
        stack.start_mlflow()
        stack.nginx_port = stack.start_nginx()
        stack.subs.services[stack.app] = stack.nginx_port
        listed = stack.run_client(textwrap.dedent("""
            import json
            from mlflow.tracking._tracking_service.utils import _get_store
            print("RESULT " + json.dumps([s.secret_name for s in _get_store().list_secret_infos()]))
        """))
        assert _result(listed) == ["kek-test"]

        # and the next deploy keeps the rotated passphrase
        r = playbook(stack_cluster, "deploy.yml", dep.extra_vars)
        assert r.rc == 0, str(r)
        stack.deployed.refresh()
        assert stack.deployed.secret(crypto) == new
    finally:
        stack.down()
