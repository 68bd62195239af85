"""Processes of the stack: each in its own process group, a PID file under <state>/pids/,
its output in <state>/logs/, stopped by PID; their environment and file access as an
unprivileged user (nginx as `nobody`, PostgreSQL as `postgres`)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


class Procs:
    """Starts processes in their own process group; PID files in <state>/pids."""

    def __init__(self, state: Path):
        self.state = state
        (state / "pids").mkdir(parents=True, exist_ok=True)
        (state / "logs").mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, user: str | None = None,
              cwd: Path | None = None) -> subprocess.Popen:
        log = self.state / "logs" / f"{name}.log"
        fh = open(log, "ab")
        if user:  # the process may reopen /dev/stdout or /dev/stderr (nginx does)
            shutil.chown(log, user)
        p = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, user=user, group=group_of(user) if user else None,
                             extra_groups=[] if user else None,
                             cwd=cwd)
        fh.close()
        p.log = log  # type: ignore[attr-defined]
        (self.state / "pids" / f"{name}.pid").write_text(str(p.pid))
        self.procs[name] = p
        return p

    def stop(self, name: str, timeout: float = 20) -> None:
        pidfile = self.state / "pids" / f"{name}.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text())
        stop_pid(pid, timeout)
        pidfile.unlink(missing_ok=True)
        p = self.procs.pop(name, None)
        if p is not None:
            try:
                p.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass

    def stop_all(self) -> None:
        # reverse start order: clients of a service stop before the service
        for pidfile in sorted((self.state / "pids").glob("*.pid"), key=lambda p: p.stat().st_mtime, reverse=True):
            self.stop(pidfile.stem)


def stop_pid(pid: int, timeout: float = 20) -> None:
    """SIGTERM the process group led by `pid` (a process we started), then SIGKILL."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        try:  # reap if it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def group_of(user: str) -> int:
    """The primary group of `user` (a process started as `user` gets it, and no others)."""
    return pwd.getpwnam(user).pw_gid


def allow_traverse(path: Path, user: str) -> None:
    """Let an unprivileged `user` reach `path`: add o+x to temp parents (not read)."""
    for parent in path.resolve().parents:
        if parent == Path("/") or str(parent) in ("/tmp", "/var/tmp"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, (mode & 0o7777) | 0o001)


def local_env(extra: dict[str, str], venv: Path | None = None, home: Path | None = None) -> dict[str, str]:
    """A process's whole environment: the locale, PATH (with `venv`'s bin first), HOME, then `extra`."""
    base = {k: os.environ[k] for k in ("LANG", "LC_ALL", "TZ") if k in os.environ}
    path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    if venv:
        path = f"{venv}/bin:{path}"
    base.update({"PATH": path, "HOME": str(home or tempfile.gettempdir())})
    base.update(extra)
    if venv:
        base["PATH"] = f"{venv}/bin:" + base.get("PATH", path).replace(f"{venv}/bin:", "")
    return base
