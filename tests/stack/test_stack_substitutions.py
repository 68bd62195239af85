"""Unit tests of the harness's pure logic: `$(VAR)` expansion, the substitutions, CPU quantities."""

import pytest

from running_stack.cpu_limits import millicores
from running_stack.deployed import expand
from running_stack.substitutions import Substitutions


def test_expand_like_the_kubelet():
    env = {"DB_USER": "u", "DB_PASSWORD": "p"}
    assert expand("postgresql://$(DB_USER):$(DB_PASSWORD)@db:5432/$(DB_NAME)", env) == \
        "postgresql://u:p@db:5432/$(DB_NAME)"
    assert expand("$$(DB_USER) $(DB_USER)", env) == "$(DB_USER) u"


def test_substitutions_cover_services_ports_and_paths():
    s = Substitutions("ns1", services={"mlflow-postgresql": 15432, "mlflow-minio": 19000, "mlflow": 18080},
                      ports={5000: 15000, 8080: 18081, 5001: 15001},
                      paths={"/etc/nginx/htpasswd": "/tmp/x/htpasswd", "/opt/mlflow/tmp": "/tmp/x/tmp"})
    assert s("postgresql://u:p@mlflow-postgresql:5432/db") == "postgresql://u:p@127.0.0.1:15432/db"
    assert s("http://mlflow-minio.ns1.svc.cluster.local:9000") == "http://127.0.0.1:19000"
    assert s("http://mlflow:8080") == "http://127.0.0.1:18080"
    # allowed-hosts patterns are names, not addresses: left alone
    assert s("mlflow,mlflow:*,mlflow-minio.ns1:*") == "mlflow,mlflow:*,mlflow-minio.ns1:*"
    assert s("        listen 8080;") == "        listen 127.0.0.1:18081;"
    assert s("proxy_pass http://127.0.0.1:5000;") == "proxy_pass http://127.0.0.1:15000;"
    assert s("auth_basic_user_file /etc/nginx/htpasswd/htpasswd;") == "auth_basic_user_file /tmp/x/htpasswd/htpasswd;"
    assert s("/opt/mlflow/tmp") == "/tmp/x/tmp"
    assert s("/opt/mlflow/tmpfoo") == "/opt/mlflow/tmpfoo"
    assert s("pg_dump -Fc -h mlflow-postgresql -U \"$DB_USER\"") == "pg_dump -Fc -h 127.0.0.1 -U \"$DB_USER\""
    assert s.argv(["mlflow", "models", "serve", "-h", "0.0.0.0", "-p", "5001"]) == \
        ["mlflow", "models", "serve", "-h", "127.0.0.1", "-p", "15001"]
    assert s.env({"MLFLOW_PORT": "5000", "MLFLOW_HOST": "127.0.0.1"}) == {"MLFLOW_PORT": "15000", "MLFLOW_HOST": "127.0.0.1"}


def test_further_replicas_join_the_deployed_upstream_only(tmp_path):
    from running_stack.nginx import add_upstream_servers

    conf = tmp_path / "nginx.conf"
    conf.write_text("http {\n    upstream backend {\n        server 127.0.0.1:15000;\n        keepalive 16;\n    }\n"
                    "    server {\n        listen 127.0.0.1:18081;\n        location / { proxy_pass http://backend; }\n    }\n}\n")
    add_upstream_servers({"/etc/nginx/nginx.conf": str(conf)}, 15000, [15002, 15003])
    assert conf.read_text() == (
        "http {\n    upstream backend {\n        server 127.0.0.1:15000;\n        server 127.0.0.1:15002;\n"
        "        server 127.0.0.1:15003;\n        keepalive 16;\n    }\n"
        "    server {\n        listen 127.0.0.1:18081;\n        location / { proxy_pass http://backend; }\n    }\n}\n")


def test_a_service_with_several_ports_maps_each_port():
    s = Substitutions("ns1", services={"mlflow-versitygw": {7070: 17070, 7071: 17071}})
    assert s("http://mlflow-versitygw:7071") == "http://127.0.0.1:17071"
    assert s("http://mlflow-versitygw.ns1.svc:7070/default") == "http://127.0.0.1:17070/default"
    assert s("http://mlflow-versitygw:9999") == "http://mlflow-versitygw:9999"


def test_cpu_quantities_as_the_kubelet_reads_them():
    assert [millicores(q) for q in ("1", "250m", "0.5", "1.5", "2")] == [1000, 250, 500, 1500, 2000]
    for bad in ("", "1Gi", "-1", "m"):
        with pytest.raises(ValueError):
            millicores(bad)
