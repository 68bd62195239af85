"""PostgreSQL (Debian's 15) as user `postgres`, with the database, user and password the
deployed pod's environment names."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .net import free_port
from .processes import Procs, allow_traverse, group_of
from .tools import Tools


@dataclass
class Postgres:
    procs: Procs
    root: Path
    user: str
    password: str
    database: str
    tools: Tools
    port: int = 0

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        allow_traverse(self.root, "postgres")
        data = self.root / "data"
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            shutil.chown(data, "postgres", "postgres")
            pwfile = self.root / "pw"
            pwfile.write_text(self.password + "\n")
            shutil.chown(pwfile, "postgres", "postgres")
            os.chmod(pwfile, 0o600)
            subprocess.run([str(self.tools.pg_bin / "initdb"), "-D", str(data), "-U", self.user,
                            f"--pwfile={pwfile}", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                            "-E", "UTF8", "--locale=C.UTF-8"], check=True, user="postgres", group=group_of("postgres"),
                           extra_groups=[], capture_output=True, cwd="/")
            pwfile.unlink()
        (self.root / "sock").mkdir(exist_ok=True)
        shutil.chown(self.root / "sock", "postgres", "postgres")

    def start(self) -> None:
        self.port = self.port or free_port()
        argv = [str(self.tools.pg_bin / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root / 'sock'}",
                "-c", "fsync=off", "-c", "full_page_writes=off"]
        p = self.procs.start("postgresql", argv, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                             user="postgres", cwd=Path("/"))
        self.wait(p)
        if not self._db_exists():
            self.psql("postgres", f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')

    def wait(self, p=None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p is not None and p.poll() is not None:
                raise RuntimeError(f"postgres exited; see {p.log}")
            r = subprocess.run([str(self.tools.pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], check=False,
                               capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError("postgres not ready")

    def psql(self, db: str, sql: str) -> str:
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True,
                           env={**os.environ, "PGPASSWORD": self.password}, check=True)
        return r.stdout

    def _db_exists(self) -> bool:
        return self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname='{self.database}'").strip() == "1"

    def stop(self) -> None:
        self.procs.stop("postgresql")

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"
