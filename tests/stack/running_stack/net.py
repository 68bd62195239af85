"""Loopback ports: a free one to bind, and waiting until a started server answers HTTP."""

from __future__ import annotations

import socket
import time
from typing import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60, ok: Callable[[int], bool] = lambda c: c < 500, proc=None) -> None:
    """Until `url` answers with a status `ok` accepts; fail early when `proc` (its server) exits."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}; see {getattr(proc, 'log', '')}")
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if ok(r.status):
                    return
        except urllib.error.HTTPError as e:
            if ok(e.code):
                return
            last = e
        except OSError as e:
            last = e
        time.sleep(0.25)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")
