"""The one place where cluster addresses, ports and paths become local ones.

They are the ONLY changes made to the deployed configuration: in-cluster Service names ->
127.0.0.1:<local port>, the pod's fixed ports -> free ports, volume mount paths -> local
directories (also the file of an sqlite:/// URI), the public URL of a Route whose pod port runs here -> http://127.0.0.1:<local port>
(the router: TLS ends there), and every server binds loopback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Substitutions:
    """The one place where cluster addresses, ports and paths become local ones."""

    namespace: str
    # service name -> local port (any svc port), or {svc port: local port} for a Service with several ports
    services: dict[str, int | dict[int, int]] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)         # pod-local fixed port -> local port
    paths: dict[str, str] = field(default_factory=dict)         # mount path -> local path
    routes: dict[str, int] = field(default_factory=dict)        # Route host -> local port of its pod port

    def __call__(self, s: str) -> str:
        for host, port in self.routes.items():
            s = re.sub(rf"https?://{re.escape(host)}(?![\w.:-])", f"http://127.0.0.1:{port}", s)
        for svc, port in self.services.items():
            names = [f"{svc}.{self.namespace}.svc.cluster.local", f"{svc}.{self.namespace}.svc",
                     f"{svc}.{self.namespace}", svc]
            if isinstance(port, dict):
                for n in names:
                    for svc_port, local in port.items():
                        s = re.sub(rf"(?<![\w.-]){re.escape(n)}:{svc_port}(?![\w.-])", f"127.0.0.1:{local}", s)
                continue
            for n in names:
                s = re.sub(rf"(?<![\w.-]){re.escape(n)}:\d+(?![\w.-])", f"127.0.0.1:{port}", s)
                # (not the path of an sqlite:////<dir> URI whose first directory is named like a Service)
                s = re.sub(rf"(?<!/)(//)({re.escape(n)})(?=[/\"'\s]|$)", rf"\g<1>127.0.0.1:{port}", s)
                # `-h <svc>` (pg_dump/psql): the host only; the port comes from PGPORT
                s = re.sub(rf"(-h\s+|--host[= ])['\"]?{re.escape(n)}['\"]?(?![\w.:-])", r"\g<1>127.0.0.1", s)
        for fixed, port in self.ports.items():
            s = re.sub(rf"(127\.0\.0\.1|localhost|0\.0\.0\.0):{fixed}(?!\d)", rf"\g<1>:{port}", s)
            s = re.sub(rf"(--port[= ]|-p )(?:(?:127\.0\.0\.1|0\.0\.0\.0|\[::\]):)?{fixed}(?!\d)", rf"\g<1>{port}", s)
            s = re.sub(rf"(listen\s+)(?:(?:127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]):)?{fixed}(?!\d)",
                       rf"\g<1>127.0.0.1:{port}", s)
        if self.paths:  # one pass: a replaced path is not matched again (e.g. /tmp inside it)
            mounts = sorted(self.paths, key=len, reverse=True)
            alt = "|".join(re.escape(m) for m in mounts)
            # a mount path after `sqlite:///` (an absolute path in a database URI) too
            s = re.sub(rf"(?:(?<=sqlite:///)|(?<![\w/.-]))({alt})(?=[/\s;\"':]|$)", lambda m: self.paths[m.group(1)], s)
        # every server binds loopback only
        s = s.replace("0.0.0.0", "127.0.0.1")
        return s

    def argv(self, argv: list[str]) -> list[str]:
        out = [self(a) for a in argv]
        for i in range(1, len(out)):
            if out[i - 1] in ("-p", "--port") and out[i].isdigit() and int(out[i]) in self.ports:
                out[i] = str(self.ports[int(out[i])])
        return out

    def env(self, env: dict[str, str]) -> dict[str, str]:
        out = {k: self(v) for k, v in env.items()}
        for k in ("MLFLOW_PORT",):
            if k in out and out[k].isdigit() and int(out[k]) in self.ports:
                out[k] = str(self.ports[int(out[k])])
        return out
