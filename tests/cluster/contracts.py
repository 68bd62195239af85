"""Image contracts: what each image we run is (images/contracts.yml), and checks against it.

A record (one per exact image reference, tag included) says which UID/GID the image runs as,
its ENTRYPOINT/CMD/WORKDIR/EXPOSE/ENV, the paths the program writes, whether it works with a
read-only root filesystem, and which executables our pods call in it.

* The test cluster enforces part of it at admission (tests/cluster/manifests/image-contracts.yaml):
  unknown images and root images run as root under runAsNonRoot are refused. Its parameter is
  the ConfigMap kube-system/image-contracts built by ``configmap()`` (``cluster.sh contracts``).
* ``check_pod_against_contracts(pod_spec, contracts)`` checks what admission cannot easily:
  commands and probe/lifecycle exec commands call tools of the image, containerPorts are
  EXPOSEd ones, and with ``readOnlyRootFilesystem: true`` every ``writable`` path is mounted.

CLI (used by cluster.sh): ``python tests/cluster/contracts.py configmap FILE...`` prints the
ConfigMap as JSON; ``python tests/cluster/contracts.py validate FILE...`` checks the records.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

CONFIGMAP_NAME = "image-contracts"
CONFIGMAP_NAMESPACE = "kube-system"
# ConfigMap keys allow [-._a-zA-Z0-9]; image references also hold '_', '/', ':' and '@'.
# '_' is escaped first, so the encoding is reversible. The admission policy does the same
# replacements in CEL (manifests/image-contracts.yaml): keep both in step.
_ENCODING = (("_", "_u"), ("/", "_s"), (":", "_c"), ("@", "_a"))
_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
# Keys that no image reference can produce (a reference never starts with '.').
META_SOURCES = ".sources"
# A writable path may start with an environment variable ($HOME/.minio): the pod's env, else the image's.
_VAR_RE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?(/.*)?$")
META_PROBE = ".probe"

REQUIRED = {
    "source": dict, "user": int, "group": int, "entrypoint": list, "cmd": list, "workdir": str,
    "ports": list, "env": dict, "writable": list, "read_only_root_filesystem": bool, "tools": list,
}
SOURCE_KEYS = ("repository", "path", "ref", "url")


def encode_key(ref: str) -> str:
    """ConfigMap key for an image reference."""
    key = ref
    for a, b in _ENCODING:
        key = key.replace(a, b)
    if not _KEY_RE.match(key) or len(key) > 253:
        raise ValueError(f"image reference {ref!r} cannot be encoded as a ConfigMap key ({key!r})")
    return key


def decode_key(key: str) -> str:
    out, i = [], 0
    rev = {b[1]: a for a, b in _ENCODING}
    while i < len(key):
        if key[i] == "_" and i + 1 < len(key) and key[i + 1] in rev:
            out.append(rev[key[i + 1]])
            i += 2
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def load_contracts(*paths: str | Path) -> dict[str, dict]:
    """Merge the ``images:`` mappings of the given files (later files may not redefine a record)."""
    merged: dict[str, dict] = {}
    for p in paths:
        doc = yaml.safe_load(Path(p).read_text()) or {}
        for ref, rec in (doc.get("images") or {}).items():
            if ref in merged:
                raise ValueError(f"{p}: image {ref!r} is recorded twice")
            merged[str(ref)] = rec
    return merged


def _images(contracts: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept a loaded file ({"images": {...}}) or the mapping of records itself."""
    if set(contracts) == {"images"} and isinstance(contracts["images"], Mapping):
        return contracts["images"]
    return contracts


def validate_contracts(contracts: Mapping[str, Any]) -> list[str]:
    """Schema problems of the records (empty list: all fine)."""
    errors = []
    for ref, rec in _images(contracts).items():
        if not isinstance(rec, Mapping):
            errors.append(f"{ref}: record is not a mapping")
            continue
        try:
            encode_key(ref)
        except ValueError as e:
            errors.append(str(e))
        if ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
            errors.append(f"{ref}: reference has no tag or digest")
        for k, typ in REQUIRED.items():
            if k not in rec:
                errors.append(f"{ref}: missing {k}")
            elif not isinstance(rec[k], typ) or (typ is int and isinstance(rec[k], bool)):
                errors.append(f"{ref}: {k} must be {typ.__name__}, not {type(rec[k]).__name__}")
        src = rec.get("source")
        if isinstance(src, Mapping):
            errors += [f"{ref}: source.{k} missing" for k in SOURCE_KEYS if not src.get(k)]
        for k in ("ports",):
            if isinstance(rec.get(k), list) and not all(isinstance(x, int) and not isinstance(x, bool) for x in rec[k]):
                errors.append(f"{ref}: {k} must be a list of integers")
        for k in ("entrypoint", "cmd", "writable", "tools"):
            if isinstance(rec.get(k), list) and not all(isinstance(x, str) for x in rec[k]):
                errors.append(f"{ref}: {k} must be a list of strings")
        for p in rec.get("writable") or []:
            if isinstance(p, str) and not (p.startswith("/") or _VAR_RE.match(p)):
                errors.append(f"{ref}: writable path {p!r} is neither absolute nor $VARIABLE/...")
    return errors


def configmap(contracts: Mapping[str, Any], sources: Iterable[str] = ()) -> dict:
    """The admission policy's parameter: {encoded image reference: numeric user}."""
    images = _images(contracts)
    data = {encode_key(ref): str(int(rec["user"])) for ref, rec in sorted(images.items())}
    data[META_SOURCES] = " ".join(sources) or "(none)"
    # A reference recorded only to see that the policy reads this version of the ConfigMap:
    # cluster.sh dry-runs a pod with it after an update (a change of content changes the tag).
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
    probe_ref = f"contracts-probe.test/generation:{digest}"
    data[encode_key(probe_ref)] = "65532"
    data[META_PROBE] = probe_ref
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": CONFIGMAP_NAME,
            "namespace": CONFIGMAP_NAMESPACE,
            "annotations": {
                "csc-mlflow.test/key-encoding": "image reference with '_' -> '_u', '/' -> '_s', ':' -> '_c', '@' -> '_a'",
                "csc-mlflow.test/value": "the image's numeric user (0 = root)",
            },
        },
        "data": data,
    }


# ---------------------------------------------------------------------------- pod checks
def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """A pod spec from a pod spec, a Pod, a pod template, a workload or a CronJob."""
    cur: Mapping[str, Any] = obj
    for _hop in range(8):  # CronJob: spec.jobTemplate.spec.template.spec
        if "containers" in cur:
            return cur
        nxt = cur.get("spec") or cur.get("template") or cur.get("jobTemplate")
        if not isinstance(nxt, Mapping):
            break
        cur = nxt
    raise ValueError("no pod spec (containers) found")


def _under(path: str, mount: str) -> bool:
    path, mount = posixpath.normpath(path), posixpath.normpath(mount)
    return mount == "/" or path == mount or path.startswith(mount.rstrip("/") + "/")


def _resolve(path: str, c: Mapping[str, Any], rec: Mapping[str, Any]) -> str | None:
    """``path`` with a leading $VAR taken from the container's env, else the image's (None: unset)."""
    m = _VAR_RE.match(path)
    if not m:
        return path
    env = {str(k): str(v) for k, v in (rec.get("env") or {}).items()}
    env.update({e["name"]: str(e["value"]) for e in c.get("env") or [] if "value" in e})
    val = env.get(m.group(1))
    return None if val is None else posixpath.normpath(val + (m.group(2) or ""))


def _tool_ok(exe: str, rec: Mapping[str, Any]) -> bool:
    allowed = set(rec.get("tools") or [])
    entry = rec.get("entrypoint") or []
    if entry:
        allowed.add(entry[0])
    return exe in allowed or posixpath.basename(exe) in {posixpath.basename(t) for t in allowed}


def _execs(c: Mapping[str, Any]) -> list[tuple[str, list]]:
    out = []
    if c.get("command"):
        out.append(("command", c["command"]))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        cmd = ((c.get(probe) or {}).get("exec") or {}).get("command")
        if cmd:
            out.append((f"{probe}.exec.command", cmd))
    for hook in ("postStart", "preStop"):
        cmd = ((((c.get("lifecycle") or {}).get(hook)) or {}).get("exec") or {}).get("command")
        if cmd:
            out.append((f"lifecycle.{hook}.exec.command", cmd))
    return out


def check_pod_against_contracts(pod_spec: Mapping[str, Any], contracts: Mapping[str, Any]) -> list[str]:
    """Contradictions between a pod's containers and their images' records (empty: none).

    ``pod_spec``: a pod spec, or a Pod / Deployment / StatefulSet / Job / CronJob / template.
    ``contracts``: ``load_contracts(...)`` or a loaded contracts file (``{"images": {...}}``).
    """
    images = _images(contracts)
    spec = _pod_spec(pod_spec)
    errors: list[str] = []
    volumes = {v.get("name") for v in spec.get("volumes") or []}
    for kind in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(kind) or []):
            where = f"{kind}[{i}] ({c.get('name')})"
            ref = c.get("image", "")
            rec = images.get(ref)
            if rec is None:
                errors.append(f"{where}: image {ref!r} has no record in images/contracts.yml")
                continue
            for field_name, cmd in _execs(c):
                if not _tool_ok(str(cmd[0]), rec):
                    errors.append(f"{where}: {field_name}[0] {cmd[0]!r} is not a tool of {ref} "
                                  f"(tools: {rec.get('tools') or []}, entrypoint: {rec.get('entrypoint') or []})")
            ports = rec.get("ports") or []
            if ports:
                for p in c.get("ports") or []:
                    if p.get("containerPort") not in ports:
                        errors.append(f"{where}: containerPort {p.get('containerPort')} is not one the image listens on "
                                      f"(EXPOSE {ports})")
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem"):
                mounts = [m.get("mountPath", "") for m in c.get("volumeMounts") or []]
                for m in c.get("volumeMounts") or []:
                    if m.get("name") not in volumes:
                        errors.append(f"{where}: volumeMount {m.get('name')!r} names no volume of the pod")
                if not rec.get("read_only_root_filesystem", False):
                    errors.append(f"{where}: readOnlyRootFilesystem is set but {ref} does not work with a read-only root")
                for w in rec.get("writable") or []:
                    path = _resolve(w, c, rec)
                    if path is None:
                        errors.append(f"{where}: readOnlyRootFilesystem is set and {ref} writes {w}, but neither the pod "
                                      f"nor the image sets {_VAR_RE.match(w).group(1)}: set it to a mounted path")
                    elif not any(_under(path, mp) for mp in mounts):
                        errors.append(f"{where}: readOnlyRootFilesystem is set and {path} (written by {ref}) is under no "
                                      f"volumeMount")
    return errors


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("configmap", "validate"):
        print(f"usage: {Path(__file__).name} configmap|validate FILE...", file=sys.stderr)
        return 2
    files = [f for f in argv[1:] if Path(f).exists()]
    contracts = load_contracts(*files)
    errors = validate_contracts(contracts)
    if argv[0] == "validate" or errors:
        for e in errors:
            print(e, file=sys.stderr)
        if argv[0] == "validate" and not errors:
            print(f"{len(contracts)} records in {' '.join(files)}: fine")
        return 1 if errors else 0
    json.dump(configmap(contracts, files), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
