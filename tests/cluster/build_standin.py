"""Stand-in for OpenShift's build and image APIs, served to the test cluster as an aggregated API server.

Custom resources cannot serve the ``instantiate`` subresource that ``oc start-build`` and
community.okd.openshift_build POST to, so this small HTTPS server answers for
``build.openshift.io/v1`` (buildconfigs, buildconfigs/instantiate, builds, builds/log) and
``image.openshift.io/v1`` (imagestreams, imagestreamtags) from memory, and kube-apiserver
proxies to it through two APIService objects (see tests/integration/test_build.py, fixture
``build_api``: a Service of type ExternalName ``localhost``, which kube-aggregator resolves to
``https://localhost:<APIService port>``).

What it does: discovery; list (label selectors ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``), get,
create, replace, patch (JSON merge patch; a strategic merge patch is applied as a merge patch; a server-side
apply creates a missing object, as openshift-apiserver's generic registry does, and is applied to an existing one as
a merge patch: no managedFields are kept, so no field is ever removed by an apply here),
delete and deletecollection; resourceVersion, uid, creationTimestamp and generation as an apiserver sets them;
Status objects for errors. ``instantiate`` creates Build ``<buildconfig>-<n>`` (label and
annotation ``openshift.io/build-config.name``, phase New) and, about a second later, marks it
``Failed``: the stand-in FAILS EVERY BUILD, so no ImageStreamTag ever exists (GET: 404).
That is the path it is for: a build that fails must leave the workloads alone.

    python tests/cluster/build_standin.py --port-file PATH [--port 0] [--fail-after 1.0]

Binds 127.0.0.1 only; a self-signed certificate is made with openssl at start (in a temporary
directory, removed at exit). Prints ``ready: https://127.0.0.1:<port>`` once it serves.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "v1"
# group -> {resource: (Kind, verbs)}
RESOURCES = {
    "build.openshift.io": {
        "buildconfigs": ("BuildConfig", ["create", "delete", "deletecollection", "get", "list", "patch", "update"]),
        "buildconfigs/instantiate": ("BuildRequest", ["create"]),
        "builds": ("Build", ["create", "delete", "deletecollection", "get", "list", "patch", "update"]),
        "builds/log": ("BuildLog", ["get"]),
    },
    "image.openshift.io": {
        "imagestreams": ("ImageStream", ["create", "delete", "deletecollection", "get", "list", "patch", "update"]),
        "imagestreamtags": ("ImageStreamTag", ["create", "delete", "deletecollection", "get", "list", "patch", "update"]),
    },
}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def selector_matches(selector: str, labels: dict) -> bool:
    """Equality-based label selectors (the only kind the role and the tests use)."""
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = (s.strip() for s in term.replace("==", "=").split("=", 1))
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


class Store:
    """Objects by (group, resource, namespace, name); one resourceVersion counter for all."""

    def __init__(self, fail_after: float):
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str, str], dict] = {}
        self.rv = 1000
        self.fail_after = fail_after

    def _stamp(self, obj: dict) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def put_new(self, group: str, resource: str, ns: str, obj: dict) -> dict:
        kind = RESOURCES[group][resource][0]
        obj = copy.deepcopy(obj)
        obj["kind"], obj["apiVersion"] = kind, f"{group}/{VERSION}"
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = ns
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        for k in ("resourceVersion", "selfLink", "deletionTimestamp"):
            meta.pop(k, None)
        if kind == "BuildConfig":
            obj["status"] = {"lastVersion": 0}
        elif kind == "ImageStream":
            obj["status"] = {"dockerImageRepository": f"image-registry.openshift-image-registry.svc:5000/{ns}/{meta['name']}"}
        self._stamp(obj)
        self.objects[(group, resource, ns, meta["name"])] = obj
        return obj

    def replace(self, key: tuple[str, str, str, str], new: dict) -> dict:
        old = self.objects[key]
        group, resource = key[0], key[1]
        new = copy.deepcopy(new)
        new["kind"], new["apiVersion"] = RESOURCES[group][resource][0], f"{group}/{VERSION}"
        meta = new.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp", "namespace", "name"):
            meta[k] = old["metadata"][k]
        meta["generation"] = old["metadata"].get("generation", 1) + (new.get("spec") != old.get("spec"))
        if "status" in old:
            new["status"] = old["status"]  # the status is the server's
        if new == {**old, "metadata": {**old["metadata"], "resourceVersion": meta.get("resourceVersion")}}:
            return old
        self._stamp(new)
        self.objects[key] = new
        return new

    def instantiate(self, ns: str, bc_name: str, request: dict) -> dict:
        key = ("build.openshift.io", "buildconfigs", ns, bc_name)
        bc = self.objects[key]
        n = bc["status"].get("lastVersion", 0) + 1
        bc = copy.deepcopy(bc)
        bc["status"]["lastVersion"] = n
        self._stamp(bc)
        self.objects[key] = bc
        name = f"{bc_name}-{n}"
        build = {
            "metadata": {
                "name": name,
                "labels": {**(bc["metadata"].get("labels") or {}), "buildconfig": bc_name,
                           "openshift.io/build-config.name": bc_name},
                "annotations": {"openshift.io/build-config.name": bc_name, "openshift.io/build.number": str(n)},
                "ownerReferences": [{"apiVersion": f"build.openshift.io/{VERSION}", "kind": "BuildConfig",
                                     "name": bc_name, "uid": bc["metadata"]["uid"], "controller": True}],
            },
            "spec": {**copy.deepcopy(bc["spec"]), "triggeredBy": request.get("triggeredBy") or []},
            "status": {"phase": "New", "config": {"kind": "BuildConfig", "namespace": ns, "name": bc_name},
                       "outputDockerImageReference": ((bc["spec"].get("output") or {}).get("to") or {}).get("name", "")},
        }
        build["spec"].pop("triggers", None)
        build["spec"].pop("runPolicy", None)
        obj = self.put_new("build.openshift.io", "builds", ns, build)
        obj["status"] = build["status"]
        timer = threading.Timer(self.fail_after, self._fail, args=(ns, name))
        timer.daemon = True
        timer.start()
        return obj

    def _fail(self, ns: str, name: str) -> None:
        with self.lock:
            key = ("build.openshift.io", "builds", ns, name)
            if key not in self.objects:
                return
            b = copy.deepcopy(self.objects[key])
            b["status"].update({"phase": "Failed", "reason": "DockerBuildFailed",
                                "message": "Docker build strategy has failed (test cluster build stand-in: every build fails).",
                                "startTimestamp": b["metadata"]["creationTimestamp"], "completionTimestamp": now()})
            self._stamp(b)
            self.objects[key] = b


def status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def discovery(group: str) -> dict:
    res = []
    for name, (kind, verbs) in RESOURCES[group].items():
        res.append({"name": name, "singularName": "" if "/" in name else kind.lower(), "namespaced": True,
                    "kind": kind, "verbs": verbs})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{VERSION}", "resources": res}


def api_group(group: str) -> dict:
    gv = {"groupVersion": f"{group}/{VERSION}", "version": VERSION}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}


class Handler(BaseHTTPRequestHandler):
    store: Store
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stdout.write("%s %s\n" % (now(), format % args))
        sys.stdout.flush()

    def send(self, code: int, body, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    raw = b""

    def body(self) -> dict:
        return json.loads(self.raw) if self.raw.strip() else {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.handle_any("GET")

    def do_POST(self):  # noqa: N802
        self.handle_any("POST")

    def do_PUT(self):  # noqa: N802
        self.handle_any("PUT")

    def do_PATCH(self):  # noqa: N802
        self.handle_any("PATCH")

    def do_DELETE(self):  # noqa: N802
        self.handle_any("DELETE")

    def handle_any(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = [p for p in url.path.split("/") if p]
        # Read the whole body whatever the answer: the connection is kept alive.
        n = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(n) if n else b""
        try:
            code, body = self.route(method, parts, query)
        except json.JSONDecodeError as e:
            code, body = 400, status(400, "BadRequest", f"the body is not JSON: {e}")
        except Exception as e:  # pylint: disable=broad-except
            code, body = 500, status(500, "InternalError", f"{type(e).__name__}: {e}")
        if isinstance(body, str):
            self.send(code, body, "text/plain")
        else:
            self.send(code, body)

    def route(self, method: str, parts: list[str], query: dict):  # pylint: disable=too-many-return-statements
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return 200, "ok"
        if parts == ["apis"]:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(g) for g in RESOURCES]}
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": [], "serverAddressByClientCIDRs": []}
        if len(parts) < 2 or parts[0] != "apis" or parts[1] not in RESOURCES:
            return 404, status(404, "NotFound", "the server could not find the requested resource")
        group = parts[1]
        if len(parts) == 2:
            return 200, api_group(group)
        if parts[2] != VERSION:
            return 404, status(404, "NotFound", f"no version {parts[2]} of {group}")
        rest = parts[3:]
        if not rest:
            return 200, discovery(group)
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        resource = rest[0]
        if resource not in RESOURCES[group]:
            return 404, status(404, "NotFound", f"the server could not find the requested resource ({resource}.{group})")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        with self.store.lock:
            return self.serve(method, group, resource, ns, name, sub, query)

    # pylint: disable-next=too-many-arguments,too-many-positional-arguments,too-many-return-statements
    def serve(self, method, group, resource, ns, name, sub, query):
        store = self.store
        kind = RESOURCES[group][resource][0]
        gr = f"{resource}.{group}"
        if name is None:
            if method == "GET":
                if query.get("watch") in ("true", "1"):
                    return 405, status(405, "MethodNotAllowed", "the build stand-in does not serve watches")
                items = [copy.deepcopy(o) for k, o in sorted(store.objects.items())
                         if k[:2] == (group, resource) and (ns is None or k[2] == ns)
                         and selector_matches(query.get("labelSelector", ""), o["metadata"].get("labels") or {})]
                return 200, {"kind": f"{kind}List", "apiVersion": f"{group}/{VERSION}",
                             "metadata": {"resourceVersion": str(store.rv)}, "items": items}
            if method == "POST" and ns:
                obj = self.body()
                oname = (obj.get("metadata") or {}).get("name")
                if not oname:
                    return 422, status(422, "Invalid", f"{kind}: metadata.name: Required value")
                if (group, resource, ns, oname) in store.objects:
                    return 409, status(409, "AlreadyExists", f'{gr} "{oname}" already exists')
                if query.get("dryRun"):
                    return 201, obj
                return 201, store.put_new(group, resource, ns, obj)
            if method == "DELETE" and ns:  # deletecollection (the namespace controller uses it)
                gone = [k for k, o in store.objects.items() if k[:3] == (group, resource, ns)
                        and selector_matches(query.get("labelSelector", ""), o["metadata"].get("labels") or {})]
                items = [store.objects.pop(k) for k in gone]
                return 200, {"kind": f"{kind}List", "apiVersion": f"{group}/{VERSION}",
                             "metadata": {"resourceVersion": str(store.rv)}, "items": items}
            return 405, status(405, "MethodNotAllowed", f"{method} on the {gr} collection")
        key = (group, resource, ns, name)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if method == "PATCH" and ctype == "application/apply-patch+yaml" and sub is None:
            if not query.get("fieldManager"):
                return 422, status(422, "Invalid", "PatchOptions.meta.k8s.io: fieldManager: Required value: is required for apply patch")
            if key not in store.objects:
                obj = self.body()
                if query.get("dryRun"):
                    return 201, obj
                return 201, store.put_new(group, resource, ns, obj)
        if sub is not None:
            if (group, f"{resource}/{sub}") == ("build.openshift.io", "buildconfigs/instantiate") and method == "POST":
                if key not in store.objects:
                    return 404, status(404, "NotFound", f'buildconfigs.build.openshift.io "{name}" not found')
                return 201, store.instantiate(ns, name, self.body())
            if (group, f"{resource}/{sub}") == ("build.openshift.io", "builds/log") and method == "GET":
                if key not in store.objects:
                    return 404, status(404, "NotFound", f'builds.build.openshift.io "{name}" not found')
                return 200, "build stand-in: no build ran; every build fails\n"
            return 404, status(404, "NotFound", f"no subresource {sub} of {gr}")
        if key not in store.objects:
            return 404, status(404, "NotFound", f'{gr} "{name}" not found')
        if method == "GET":
            return 200, copy.deepcopy(store.objects[key])
        if method == "DELETE":
            obj = store.objects.pop(key)
            if kind == "BuildConfig":  # its Builds go with it (owner references, cascading delete)
                for k in [k for k, o in store.objects.items() if k[1] == "builds" and k[2] == ns
                          and (o["metadata"].get("labels") or {}).get("openshift.io/build-config.name") == name]:
                    del store.objects[k]
            return 200, obj
        if method == "PUT":
            return 200, store.replace(key, self.body())
        if method == "PATCH":
            if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                             "application/apply-patch+yaml"):
                return 415, status(415, "UnsupportedMediaType", f"patch type {ctype!r}: only merge patches")
            patched = merge_patch(store.objects[key], self.body())
            if query.get("dryRun"):
                return 200, patched
            return 200, store.replace(key, patched)
        return 405, status(405, "MethodNotAllowed", f"{method} on {gr}")


def self_signed(directory: str) -> tuple[str, str]:
    crt, key = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return crt, key


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--port-file", help="write the port here once serving")
    p.add_argument("--fail-after", type=float, default=1.0, help="seconds until a new Build is marked Failed")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="build-standin-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop by PID: the finally below still runs
    try:
        crt, key = self_signed(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        Handler.store = Store(a.fail_after)
        httpd = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
        httpd.daemon_threads = True
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        port = httpd.server_address[1]
        if a.port_file:
            with open(a.port_file + ".tmp", "w", encoding="utf-8") as f:
                f.write(f"{port}\n")
            os.replace(a.port_file + ".tmp", a.port_file)
        print(f"ready: https://127.0.0.1:{port}", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
