"""A re-run changes only what it is told to (docs/USER_GUIDE.md, Re-runs change only what you set), and
playbooks/users.yml changes one user and nothing else. One namespace, in file order, as a researcher lives it:
Monday's users, Tuesday's schedule, a run with nothing, a newer collection whose default MLflow is another
version, then one user added, rotated and removed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from deployment import REPO, get, secret_values, summary_changes, summary_lines
from harness.namespaces import module_namespace

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "rerun"
SCHEDULE = "30 2 * * *"
VERSION_ANNOTATION = "csc.mlflow/mlflow-version"

ns = module_namespace("it-rerun")


def run(cluster, ns, playbook="deploy.yml", **extra):
    r = cluster.run_playbook(playbook, {"mlflow_namespace": ns, "mlflow_app_name": APP, **extra})
    assert r.rc == 0, str(r)
    return r


def users(cluster, ns):
    return secret_values(get(cluster, "Secret", ns, f"{APP}-users"))


def htpasswd_lines(cluster, ns):
    text = secret_values(get(cluster, "Secret", ns, f"{APP}-htpasswd"))["htpasswd"]
    return {line.split(":", 1)[0]: line for line in text.splitlines() if line}


def cronjob_schedule(cluster, ns):
    jobs = {c["metadata"]["name"]: c for c in get(cluster, "CronJob", ns)}
    return jobs[f"{APP}-backup"]["spec"]["schedule"] if f"{APP}-backup" in jobs else None


def recorded(cluster, ns):
    cfg = get(cluster, "ConfigMap", ns, f"{APP}-config")
    return json.loads(cfg["metadata"]["annotations"]["csc.mlflow/settings"])


def test_a_later_deploy_keeps_the_users_and_the_schedule_it_does_not_set(cluster, ns):
    run(cluster, ns, mlflow_users="alice,bob")
    before = users(cluster, ns)
    assert set(before) == {"alice", "bob"}

    run(cluster, ns, mlflow_backup_schedule=SCHEDULE)
    assert users(cluster, ns) == before  # the same users, the same passwords
    assert cronjob_schedule(cluster, ns) == SCHEDULE

    r = run(cluster, ns)
    assert users(cluster, ns) == before
    assert cronjob_schedule(cluster, ns) == SCHEDULE
    assert summary_changes(r.stdout).get("objects") == [], summary_lines(r.stdout)
    chosen = recorded(cluster, ns)["chosen"]
    assert {"mlflow_backup_schedule", "mlflow_users"} <= set(chosen) and "mlflow_version" not in chosen, chosen


def test_a_removal_is_named(cluster, ns):
    run(cluster, ns, mlflow_backup_schedule="")
    assert cronjob_schedule(cluster, ns) is None
    run(cluster, ns)
    assert cronjob_schedule(cluster, ns) is None
    run(cluster, ns, mlflow_backup_schedule=SCHEDULE)
    assert cronjob_schedule(cluster, ns) == SCHEDULE


def _copy_with_default_version(parent: Path, version: str) -> Path:
    dest = parent / "ansible_collections" / "csc" / "mlflow"
    shutil.copytree(REPO, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", ".cluster", ".ansible", "__pycache__", ".pytest_cache"))
    defaults = dest / "roles" / "mlflow" / "defaults" / "main.yml"
    text = defaults.read_text()
    assert 'mlflow_version: "' in text
    lines = [f'mlflow_version: "{version}"' if line.startswith("mlflow_version:") else line for line in text.splitlines()]
    defaults.write_text("\n".join(lines) + "\n")
    return dest


def test_a_newer_default_version_upgrades_nothing_unless_named(cluster, ns, tmp_path):
    deployed = get(cluster, "Deployment", ns, APP)["metadata"]["annotations"][VERSION_ANNOTATION]
    newer = _copy_with_default_version(tmp_path, "3.99.0")
    r = cluster.run_playbook("deploy.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP}, collection=newer)
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, APP)["metadata"]["annotations"][VERSION_ANNOTATION] == deployed
    assert summary_changes(r.stdout).get("objects") == [], summary_lines(r.stdout)
    assert not [j for j in get(cluster, "Job", ns) if "-bk-" in j["metadata"]["name"] or "-dbup-" in j["metadata"]["name"]]
    assert summary_lines(r.stdout)[0].startswith(f"MLflow {deployed} "), summary_lines(r.stdout)


def test_users_playbook_adds_rotates_and_removes_one_user(cluster, ns):
    before_users, before_lines = users(cluster, ns), htpasswd_lines(cluster, ns)

    r = run(cluster, ns, "users.yml", mlflow_user_action="add", mlflow_user_name="carol")
    after = users(cluster, ns)
    assert set(after) == {"alice", "bob", "carol"} and len(after["carol"]) == 24
    assert {n: after[n] for n in before_users} == before_users
    lines = htpasswd_lines(cluster, ns)
    assert {n: lines[n] for n in before_lines} == before_lines  # no other entry changed
    assert after["carol"] not in r.stdout + r.stderr
    assert any(line.startswith("New password of carol: ") and f"{APP}-users" in line for line in summary_lines(r.stdout))
    assert cronjob_schedule(cluster, ns) == SCHEDULE  # nothing else changed

    r = run(cluster, ns, "users.yml", mlflow_user_action="add", mlflow_user_name="carol")
    assert users(cluster, ns) == after  # adding a user who is there changes nothing
    assert summary_changes(r.stdout) == {"objects": [], "secrets": []}, summary_lines(r.stdout)

    r = run(cluster, ns, "users.yml", mlflow_user_action="rotate", mlflow_user_name="alice")
    rotated = users(cluster, ns)
    assert rotated["alice"] != after["alice"] and {n: rotated[n] for n in ("bob", "carol")} == {
        n: after[n] for n in ("bob", "carol")}
    lines_rotated = htpasswd_lines(cluster, ns)
    assert lines_rotated["alice"] != lines["alice"] and lines_rotated["bob"] == lines["bob"]

    run(cluster, ns, "users.yml", mlflow_user_action="remove", mlflow_user_name="bob")
    removed = users(cluster, ns)
    assert set(removed) == {"alice", "carol"} and removed["alice"] == rotated["alice"]
    lines_removed = htpasswd_lines(cluster, ns)
    assert "bob" not in lines_removed
    assert {n: lines_removed[n] for n in ("alice", "carol")} == {n: lines_rotated[n] for n in ("alice", "carol")}

    # a deploy that does not set the users keeps users.yml's
    run(cluster, ns)
    assert users(cluster, ns) == removed


@pytest.mark.parametrize("answer, problem", [
    ({"mlflow_user_action": "rotate", "mlflow_user_name": "nobody"}, "no user nobody to rotate"),
    ({"mlflow_user_action": "remove", "mlflow_user_name": "alice,carol"}, "without users"),
    ({"mlflow_user_action": "add", "mlflow_user_name": "dave", "mlflow_user_password": "short"}, "mlflow_users needs"),
    ({"mlflow_user_action": "add", "mlflow_user_name": "d e", "mlflow_user_password": "x" * 20}, "one user"),
])
def test_users_playbook_refuses_bad_input_and_changes_nothing(cluster, ns, answer, problem):
    before = users(cluster, ns)
    r = cluster.run_playbook("users.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP, **answer})
    assert r.rc != 0 and problem in r.stdout, r.stdout[-3000:]
    assert users(cluster, ns) == before
    if answer.get("mlflow_user_password"):
        assert answer["mlflow_user_password"] not in r.stdout + r.stderr


def test_a_json_list_of_users_is_accepted(cluster, ns):
    before = users(cluster, ns)
    run(cluster, ns, mlflow_users='["alice", "carol", "erin"]')
    after = users(cluster, ns)
    assert set(after) == {"alice", "carol", "erin"}
    assert {n: after[n] for n in ("alice", "carol")} == {n: before[n] for n in ("alice", "carol")}


def test_the_printed_read_command_reads_a_dotted_name(cluster, ns, tmp_path):
    """users.yml prints how to read a new password; the command is run as printed (`oc` being kubectl here)."""
    r = run(cluster, ns, "users.yml", mlflow_user_action="add", mlflow_user_name="dan.jones")
    (line,) = [x for x in summary_lines(r.stdout) if x.startswith("New password of dan.jones: ")]
    command = line.split(": ", 1)[1]
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "oc").symlink_to(cluster.kubectl)
    read = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True,
                          env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "KUBECONFIG": cluster.kubeconfig,
                               "HOME": str(tmp_path)}, cwd=tmp_path)
    assert read.stdout == users(cluster, ns)["dan.jones"] and len(read.stdout) == 24
    run(cluster, ns, "users.yml", mlflow_user_action="remove", mlflow_user_name="dan.jones")
