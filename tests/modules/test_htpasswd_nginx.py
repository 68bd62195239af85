"""csc.mlflow.htpasswd run for real (ansible-playbook), its output checked by NGINX.

A real nginx (Debian's, with libcrypt) on 127.0.0.1 serves ``auth_basic`` with the
module's content: the right password gets 200, a wrong one or an unknown user 401,
for every scheme. Idempotency is checked on the module's own output.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "modules" / "playbooks" / "htpasswd.yml"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# Passwords that exercise the hashing: non-ASCII, a colon, spaces, long, short.
USERS = [
    {"name": "alice", "password": "correct horse battery staple"},
    {"name": "bob", "password": "pä$$:wörd"},
    {"name": "carol", "password": "0123456789" * 7 + "ab"},
    {"name": "dave.o'neil@example.org", "password": "y"},
]
SCHEMES = ["bcrypt", "sha512_crypt", "apr1"]


def run_module(runs, tmp_path, *, check=False, diff=False):
    """Run the playbook with ``runs``; return (results, completed process)."""
    out = tmp_path / f"out-{time.monotonic_ns()}.json"
    ev = tmp_path / f"ev-{time.monotonic_ns()}.json"
    ev.write_text(json.dumps({"runs": runs, "out": str(out)}))
    ev.chmod(0o600)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [str(REPO / ".venv" / "bin" / "ansible-playbook"), str(PLAYBOOK), "-e", f"@{ev}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd += ["--diff", "-e", "hide=false"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text()) if out.exists() else []
    return results, proc


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """A real nginx on 127.0.0.1 with auth_basic over a file the test rewrites."""
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    prefix = tmp_path_factory.mktemp("nginx")
    os.chmod(prefix, 0o755)
    users_file = prefix / "htpasswd"
    users_file.write_text("")
    (prefix / "www").mkdir()
    (prefix / "www" / "index.html").write_text("ok\n")
    users_file.chmod(0o644)
    port = free_port()
    (prefix / "nginx.conf").write_text(
        f"""
worker_processes 1;
# workers run as the test's own user (pytest's temp dirs are private)
{"user " + pwd.getpwuid(os.geteuid()).pw_name + ";" if os.geteuid() == 0 else ""}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      auth_basic "csc.mlflow test";
      auth_basic_user_file {users_file};
      # not `return`: it runs in the rewrite phase, before auth_basic (access phase)
      root {prefix}/www;
      index index.html;
    }}
  }}
}}
"""
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start: " + proc.stderr.read().decode())
                time.sleep(0.05)

        class Server:
            def __init__(self):
                self.port = port
                self.users_file = users_file

            def status(self, user, password):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                token = base64.b64encode(f"{user}:{password}".encode()).decode()
                conn.request("GET", "/", headers={"Authorization": f"Basic {token}"})
                status = conn.getresponse().status
                conn.close()
                return status

        yield Server()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ht")
    results, _proc = run_module([{"users": USERS, "scheme": s} for s in SCHEMES], tmp)
    return dict(zip(SCHEMES, results))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nginx_accepts_right_and_refuses_wrong(nginx, first_run, scheme):
    result = first_run[scheme]
    content = result["content"]
    assert result["changed"] is True
    assert result["added"] == [u["name"] for u in USERS]
    assert content.endswith("\n") and content.count("\n") == len(USERS)
    prefix = {"bcrypt": "$2y$05$", "sha512_crypt": "$6$", "apr1": "$apr1$"}[scheme]
    for line in content.splitlines():
        assert line.split(":", 1)[1].startswith(prefix)
    for user in USERS:
        if len(user["password"]) > 3:
            assert user["password"] not in content
    nginx.users_file.write_text(content)
    for user in USERS:
        assert nginx.status(user["name"], user["password"]) == 200, (scheme, user["name"])
        assert nginx.status(user["name"], "x" + user["password"]) == 401, (scheme, user["name"])
        assert nginx.status(user["name"], "wrong") == 401, (scheme, user["name"])
        assert nginx.status(user["name"], "") == 401
    assert nginx.status("mallory", USERS[0]["password"]) == 401


def test_idempotent_and_minimal_changes(nginx, first_run, tmp_path):
    before = first_run["bcrypt"]["content"]
    changed_pw = [dict(u) for u in USERS]
    changed_pw[1]["password"] = "a new password"
    runs = [
        {"users": USERS, "existing": before},  # 0 unchanged
        {"users": changed_pw, "existing": before},  # 1 one password changed
        {"users": USERS[:2] + USERS[3:], "existing": before},  # 2 carol removed
        {"users": USERS + [{"name": "erin", "password": "new user"}], "existing": before},  # 3 added
        {"users": USERS, "existing": before, "scheme": "sha512_crypt"},  # 4 scheme change
        {"users": USERS, "existing": before, "bcrypt_cost": 6},  # 5 cost change
    ]
    r, _proc = run_module(runs, tmp_path)
    lines = before.splitlines()

    assert r[0]["changed"] is False and r[0]["content"] == before
    assert r[0]["unchanged"] == [u["name"] for u in USERS]
    assert (r[0]["added"], r[0]["updated"], r[0]["removed"]) == ([], [], [])

    new = r[1]["content"].splitlines()
    assert r[1]["changed"] is True and r[1]["updated"] == ["bob"]
    assert [i for i in range(len(lines)) if lines[i] != new[i]] == [1]

    assert r[2]["removed"] == ["carol"] and r[2]["content"].splitlines() == lines[:2] + lines[3:]

    assert r[3]["added"] == ["erin"] and r[3]["content"].splitlines()[:4] == lines

    assert r[4]["updated"] == [u["name"] for u in USERS]
    assert all(line.split(":", 1)[1].startswith("$6$") for line in r[4]["content"].splitlines())

    assert r[5]["updated"] == [u["name"] for u in USERS]
    assert all("$2y$06$" in line for line in r[5]["content"].splitlines())

    nginx.users_file.write_text(r[1]["content"])
    assert nginx.status("bob", "a new password") == 200
    assert nginx.status("bob", USERS[1]["password"]) == 401
    assert nginx.status("alice", USERS[0]["password"]) == 200


def test_check_mode_and_diff_never_show_secrets(first_run, tmp_path):
    before = first_run["apr1"]["content"]
    users = [dict(u) for u in USERS]
    users[0]["password"] = "s3cret-new-password"
    r, proc = run_module([{"users": users, "existing": before, "scheme": "apr1"}], tmp_path, check=True, diff=True)
    assert r[0]["changed"] is True and r[0]["updated"] == ["alice"]
    out = proc.stdout + proc.stderr
    assert "alice: old entry" in out and "alice: new entry" in out and "bob: unchanged" in out
    assert "s3cret-new-password" not in out
    diff_part = out[out.index("--- before") : out.index("changed: [localhost]")]
    assert "$apr1$" not in diff_part and "correct horse" not in diff_part


def test_bad_input_is_refused_clearly(tmp_path):
    runs = [
        {"users": [{"name": "a:b", "password": "p"}], "expect_failure": True},
        {"users": [{"name": "a b", "password": "p"}], "expect_failure": True},
        {"users": [{"name": "", "password": "p"}], "expect_failure": True},
        {"users": [{"name": "ok", "password": ""}], "expect_failure": True},
        {"users": [{"name": "ok", "password": "short"}], "min_password_length": 12, "expect_failure": True},
        {"users": [{"name": "ok", "password": "z" * 73}], "expect_failure": True},
    ]
    r, _proc = run_module(runs, tmp_path)
    msgs = [x.get("msg", "") for x in r]
    assert all(x.get("failed") for x in r), msgs
    assert "'a:b'" in msgs[0] and "':'" in msgs[0]
    assert "whitespace" in msgs[1]
    assert "empty user name" in msgs[2]
    assert "empty password" in msgs[3]
    assert "shorter than 12" in msgs[4]
    assert "72 bytes" in msgs[5]
    assert not any("short" in m.replace("shorter", "") or "zzzz" in m for m in msgs)
