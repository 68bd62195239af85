"""NGINX as in the pod: the deployed config files (addresses, ports and paths substituted)
under a main nginx.conf like the image's, run as the unprivileged user `nobody`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .net import wait_http
from .processes import Procs, allow_traverse, group_of
from .tools import Tools

USER = "nobody"


def prepare_root(root: Path) -> None:
    """`root` (and its tmp/) writable by the unprivileged nginx, like the pod's writable paths."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777)  # nginx runs as an unprivileged user, like in the pod
    allow_traverse(root, USER)
    os.chmod(root / "tmp", 0o1777)


def log_files(root: Path) -> dict[str, str]:
    """The container's stdout/stderr -> files (an unprivileged nginx cannot reopen our pipes)."""
    return {"/dev/stdout": str(root / "access.log"), "/dev/stderr": str(root / "error.log")}


def substitute_configs(mounts: dict[str, str], subs) -> None:
    """Rewrite the deployed *.conf files in the mounted volumes with `subs` (Substitutions)."""
    for path in (Path(p) for p in mounts.values()):
        for f in ([path] if path.is_file() else path.rglob("*.conf")):
            if f.is_file() and f.suffix == ".conf":
                f.write_text(subs(f.read_text()))


def listen_ports(mounts: dict[str, str]) -> list[int]:
    """The ports the deployed *.conf files listen on."""
    ports: list[int] = []
    for path in (Path(p) for p in mounts.values()):
        for f in ([path] if path.is_file() else path.rglob("*.conf")):
            if f.is_file() and f.suffix == ".conf":
                ports += [int(m) for m in re.findall(r"^\s*listen\s+(?:[\w.*\[\]:]+:)?(\d+)\b", f.read_text(), re.M)]
    return sorted(set(ports))


def add_upstream_servers(mounts: dict[str, str], first: int, more: list[int]) -> None:
    """Put `more` local ports next to `127.0.0.1:<first>` in the deployed upstream blocks.

    The stand-in for a Service in front of several replicas: on the cluster each replica's NGINX
    proxies to its own MLflow and the Service spreads clients over the pods; here one NGINX spreads
    them over one MLflow per replica. Nothing else of the deployed configuration changes.
    """
    line = re.compile(rf"^([ \t]*)server[ \t]+127\.0\.0\.1:{first}[ \t]*;", re.M)
    for path in (Path(p) for p in mounts.values()):
        for f in ([path] if path.is_file() else path.rglob("*.conf")):
            if f.is_file() and f.suffix == ".conf" and re.search(r"^\s*upstream\s", f.read_text(), re.M):
                text = line.sub(lambda m: m.group(0) + "".join(f"\n{m.group(1)}server 127.0.0.1:{p};" for p in more),
                                f.read_text())
                f.write_text(text)


def main_conf(mounts: dict[str, str], root: Path) -> str:
    """A main nginx.conf like the image's: include the deployed config files.

    If the deployed config is a full nginx.conf (it has an `http {` block) it is used
    as is, minus the directives that name files of the image (pid, error_log, user).
    """
    full = None
    for m, p in mounts.items():
        pp = Path(p)
        for f in ([pp] if pp.is_file() else pp.rglob("*")):
            if f.is_file() and re.search(r"^\s*http\s*\{", f.read_text(), re.M):
                full = f
    common = (f"pid {root}/nginx.pid;\ndaemon off;\n")
    if full is not None:
        text = full.read_text()
        text = re.sub(r"^\s*(pid|user|daemon|error_log)\s[^;]*;\s*$", "", text, flags=re.M)
        return common + text
    includes = []
    for m, p in mounts.items():
        pp = Path(p)
        for f in ([pp] if pp.is_file() else sorted(pp.rglob("*.conf"))):
            if f.is_file() and f.suffix == ".conf":
                includes.append(f"    include {f};")
    return (common + "worker_processes 2;\nevents { worker_connections 1024; }\nhttp {\n"
            "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {root}/access.log;\n    client_body_temp_path {root}/tmp/body;\n"
            f"    proxy_temp_path {root}/tmp/proxy;\n" + "\n".join(includes) + "\n}\n")


def start(procs: Procs, tools: Tools, name: str, root: Path, mounts: dict[str, str], port: int) -> None:
    """Write the main nginx.conf, have `nginx -t` accept it, start nginx; wait for /health on `port`."""
    main = root / "nginx.conf"
    main.write_text(main_conf(mounts, root))
    argv = [str(tools.nginx), "-e", str(root / "error.log"), "-p", str(root), "-c", str(main)]
    test = subprocess.run(argv + ["-t"], check=False, capture_output=True, text=True, user=USER, group=group_of(USER),
                          extra_groups=[])
    if test.returncode != 0:
        raise RuntimeError(f"nginx config rejected: {test.stderr}")
    p = procs.start(name, argv, env={"PATH": "/usr/sbin:/usr/bin:/bin"}, user=USER, cwd=root)
    wait_http(f"http://127.0.0.1:{port}/health", 30, ok=lambda c: c < 500, proc=p)
