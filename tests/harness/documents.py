"""The `ansible-playbook` commands README.md and docs/USER_GUIDE.md print, as a reader copies them: read by
tests/unit/test_documented_commands.py, run by tests/integration/test_documented_commands_run.py."""

from __future__ import annotations

import re

from harness.paths import REPO

DOCUMENTS = ("README.md", "docs/USER_GUIDE.md")
# The instance file the README tells to copy (`cp docs/examples/instance.yml myml.yml`) and the commands give as
# `-e @myml.yml`.
INSTANCE_FILE = REPO / "docs" / "examples" / "instance.yml"


def documented_commands() -> list[tuple[str, str]]:
    """(document, command line) of every `ansible-playbook` line of a bash block, continuation lines joined."""
    found = []
    for doc in DOCUMENTS:
        for block in re.findall(r"```(?:bash|sh)\n(.*?)```", (REPO / doc).read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip().startswith("ansible-playbook "):
                    found.append((doc, line.strip()))
    return sorted(set(found))
