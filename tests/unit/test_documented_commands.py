"""Every `ansible-playbook` command printed in README.md and docs/USER_GUIDE.md, read as the shell and Ansible read
it: the playbook exists, every `-e` is parsed by Ansible's own extra-vars loader, each variable is one the
playbook's roles document (their argument specs, the playbook checks them in its first task) with a value of the
documented type, and the values the roles check further (a backup schedule, users, a user change) pass those
checks. tests/integration/test_documented_commands_run.py runs the same commands (harness/documents.py finds them
for both) against the test cluster, and names the few it cannot run.

A placeholder a reader replaces (`...`, `<old>`) is accepted as it is; `@myml.yml` is the instance file the
README tells to copy, docs/examples/instance.yml."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from ansible import context
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.utils.vars import load_extra_vars

from ansible_collections.csc.mlflow.plugins.plugin_utils import backup, inputs
from harness.documents import INSTANCE_FILE, documented_commands
from harness.paths import REPO

FILES = {"@myml.yml": "@" + str(INSTANCE_FILE)}
PLACEHOLDER = re.compile(r"^(\.\.\.|<[a-z ]+>)$")

COMMANDS = documented_commands()


def playbook_path(name: str) -> Path:
    if name.startswith("csc.mlflow."):
        return REPO / "playbooks" / (name.split(".", 2)[2] + ".yml")
    return REPO / name


def entry_points(playbook: Path) -> list[str]:
    """The entry points the playbook checks in its first task, or the one its only role inclusion validates."""
    first = yaml.safe_load(playbook.read_text())[0]["tasks"][0]
    if "ansible.builtin.validate_argument_spec" in first:
        spec = first["ansible.builtin.validate_argument_spec"]["argument_spec"]
        return re.findall(r"'([a-z_]+(?::[a-z_]+)?)'", spec.split("role_argument_spec", 1)[1])
    role = first["ansible.builtin.include_role"]
    return [role["name"].split(".")[-1] + ":" + role.get("tasks_from", "main")]


def options(entries: list[str]) -> dict:
    out = {}
    for entry in entries:
        role, point = (entry.split(":") + ["main"])[:2]
        specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        out.update(specs[point].get("options") or {})
    return out


def extra_vars(args: list[str]) -> dict:
    given = tuple(FILES.get(a, a) for a in (args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-e", "--extra-vars")))
    saved = context.CLIARGS
    context.CLIARGS = ImmutableDict(extra_vars=given)
    load_extra_vars.extra_vars = None  # it keeps the first command line's result for the process
    try:
        return dict(load_extra_vars(DataLoader()))
    finally:
        context.CLIARGS = saved
        load_extra_vars.extra_vars = None


def test_the_documents_print_commands():
    assert len(COMMANDS) >= 15, COMMANDS


@pytest.mark.parametrize("doc, command", COMMANDS, ids=[f"{d}:{c[17:70]}" for d, c in COMMANDS])
def test_a_documented_command_is_read_as_meant(doc, command):
    args = shlex.split(command, comments=True)  # as the shell splits it (a trailing # comment is not an argument)
    assert args[0] == "ansible-playbook"
    playbook = playbook_path(args[1])
    assert playbook.is_file(), f"{doc}: {args[1]} does not exist"
    if "-i" in args:
        assert (REPO / args[args.index("-i") + 1]).is_dir(), f"{doc}: no inventory {args[args.index('-i') + 1]}"
    values = extra_vars(args)
    assert "_raw_params" not in values, f"{doc}: Ansible reads part of an -e as a stray word: {values} ({command})"
    spec = options(entry_points(playbook) + ["mlflow:connect"])  # the target options every entry point shares
    unknown = sorted(n for n in values if n not in spec and n not in playbook.read_text())
    assert not unknown, f"{doc}: {command} sets variables no role of {playbook.name} documents: {unknown}"
    checked = {n: v for n, v in values.items() if n in spec and not (isinstance(v, str) and PLACEHOLDER.match(v))}
    result = ArgumentSpecValidator({n: spec[n] for n in checked}).validate(checked)
    assert not result.error_messages, f"{doc}: {command}: {result.error_messages}"

    if "mlflow_backup_schedule" in checked:
        assert backup.backup_problems(checked["mlflow_backup_schedule"], 5, False) == [], command
    if "mlflow_users" in checked:
        assert all(inputs.re.match(inputs.USER_NAME_RE, u["name"]) for u in inputs.normalise_users(checked["mlflow_users"]))
    if playbook.name == "users.yml":
        change = inputs.users_change([{"name": "mlflow"}, {"name": "alice"}], checked["mlflow_user_action"],
                                     checked["mlflow_user_name"], checked.get("mlflow_user_password", ""))
        assert change["problem"] == "", command


def test_the_readme_schedule_reaches_ansible_whole():
    (command,) = [c for d, c in COMMANDS if d == "README.md" and "mlflow_backup_schedule" in c]
    assert extra_vars(shlex.split(command))["mlflow_backup_schedule"] == "30 2 * * *"
    # what a reader who drops the inner quotes would get: refused with a clear message before anything changes
    broken = extra_vars(["-e", "mlflow_backup_schedule=30 2 * * *"])
    assert broken["mlflow_backup_schedule"] == "30" and "is not a cron schedule" in backup.backup_problems("30", 5, False)[0]
