"""Train, register and serve a model with the Models deployment's command."""

from __future__ import annotations

import json
import textwrap

import pytest

from running_stack.playbooks import playbook
import requests

pytestmark = [pytest.mark.stack, pytest.mark.slow]

TRAIN = textwrap.dedent("""
    import json
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = 2 * X[:, 0] + 1
    m = LinearRegression().fit(X, y)
    mlflow.set_experiment("stack-models")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(m, name="model", registered_model_name="stack-linear",
                                        input_example=X[:1])
    print("RESULT " + json.dumps({"version": info.registered_model_version,
                                  "pred": m.predict(np.array([[4.0], [5.0]])).tolist()}))
""")


def test_register_and_serve_model(stack_cluster, deployment, stack):
    r = stack.run_client(TRAIN, timeout=600)
    out = json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])
    assert str(out["version"]) == "1"

    res = playbook(stack_cluster, "enable_models.yml", extra_vars={
        "mlflow_namespace": deployment.namespace, "models_uri": "models:/stack-linear/1"})
    assert res.rc == 0, str(res)
    stack.deployed.refresh()
    assert stack.deployed.configmap("models-cfg")["MODELS_URI"] == "models:/stack-linear/1"

    url = stack.start_models()
    user, pw = next(iter(stack.users().items()))
    auth = (user, pw) if stack.models_nginx_port else None
    resp = requests.post(f"{url}/invocations", auth=auth, timeout=60,
                         json={"dataframe_split": {"columns": ["0"], "data": [[4.0], [5.0]]}})
    assert resp.status_code == 200, resp.text
    preds = resp.json()["predictions"]
    assert [round(p, 6) for p in preds] == [round(p, 6) for p in out["pred"]]
    if stack.models_nginx_port:
        assert requests.post(f"{url}/invocations", json={}, timeout=10).status_code == 401
