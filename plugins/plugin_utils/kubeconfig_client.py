# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""A plain API client for the stack read and the direct applies, for the common kubeconfigs: a token or a
client certificate.

Importing the ``kubernetes`` client takes ~0.5 s (its package imports ~770 model modules), more than the
dozen requests of the read, and each ``kubernetes.core.k8s`` task pays it again in its own process.
``simple_connection`` says whether a plain HTTPS connection (Python's ``ssl`` with the kubeconfig's CA,
or none when it says ``insecure-skip-tls-verify``) connects exactly as kubernetes.core would: the same
kubeconfig, context, server, CA and credentials. Anything else (in-cluster service accounts, ``K8S_AUTH_*``
connection settings other than the kubeconfig and context, ``exec`` and ``auth-provider`` plugins, basic
auth, impersonation, proxies, several kubeconfig files) gives None and the caller uses kubernetes.core.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import re
import ssl
import tempfile
from http.client import HTTPSConnection
from urllib.parse import quote, urlsplit

import yaml

from ansible_collections.csc.mlflow.plugins.module_utils.kinds import PLURALS

try:
    import certifi
except ImportError:
    certifi = None

# Connection variables of kubernetes.core that a plain connection honours; any other K8S_AUTH_* variable
# (host, api_key, verify_ssl, proxy, impersonation, ...) leaves the connection to kubernetes.core.
KUBECONFIG_VARIABLES = ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT")
CLUSTER_KEYS = {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify",
                "extensions"}
USER_KEYS = {"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
             "client-key-data", "extensions"}

APPLY_PATCH = "application/apply-patch+yaml"
# RFC 7234 warning headers as the API server sends them: 299 - "text" (quotes inside escaped).
WARNING = re.compile(r'^\d{3} \S+ "((?:[^"\\]|\\.)*)"')


def kubeconfig_path(options, environ, home):
    """The one kubeconfig file and the context kubernetes.core would use, or None when it would connect
    otherwise or from several files.

    ``options`` are the lookup's connection options; ``environ`` the process environment.
    """
    given = dict((k, v) for k, v in (options or {}).items() if v not in (None, ""))
    if set(given) - {"kubeconfig", "context"}:
        return None
    if any(name.startswith("K8S_AUTH_") and name not in KUBECONFIG_VARIABLES and value
           for name, value in environ.items()):
        return None
    path = given.get("kubeconfig") or environ.get("K8S_AUTH_KUBECONFIG") or None
    context = given.get("context") or environ.get("K8S_AUTH_CONTEXT") or None
    if not isinstance(path, (str, type(None))):
        return None  # a kubeconfig given as a dictionary
    if path is None and context is None and environ.get("KUBERNETES_SERVICE_HOST"):
        return None  # kubernetes.core tries the pod's service account first
    path = path or environ.get("KUBECONFIG") or os.path.join(home, ".kube", "config")
    if os.pathsep in path:
        return None  # several files, merged
    return os.path.expanduser(path), context


def _named(entries, name):
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def _file(base_dir, path):
    return os.path.join(base_dir, os.path.expanduser(path))


def simple_connection(config, context, base_dir):
    """How to connect for the kubeconfig ``config`` (a dict) and ``context`` (None: its current context),
    or None when this client cannot do it as kubernetes.core would.

    Returns {'server', 'verify', 'ca_file', 'ca_data', 'token', 'cert_file', 'key_file', 'cert_data',
    'key_data'}: file paths made absolute against ``base_dir`` (the kubeconfig's directory), data decoded.
    """
    if not isinstance(config, dict):
        return None
    ctx = _named(config.get("contexts"), context or config.get("current-context"))
    if not ctx or not isinstance(ctx.get("context"), dict):
        return None
    cluster = _named(config.get("clusters"), ctx["context"].get("cluster"))
    user = _named(config.get("users"), ctx["context"].get("user"))
    if not cluster or not user:
        return None
    cluster, user = cluster.get("cluster") or {}, user.get("user") or {}
    if set(k for k, v in cluster.items() if v) - CLUSTER_KEYS or set(k for k, v in user.items() if v) - USER_KEYS:
        return None
    server = cluster.get("server") or ""
    if not server.startswith("https://"):
        return None
    try:
        token = user.get("token") or None
        if not token and user.get("tokenFile"):
            with open(_file(base_dir, user["tokenFile"])) as handle:
                token = handle.read().strip()
        conn = {
            "server": server.rstrip("/"),
            "verify": not cluster.get("insecure-skip-tls-verify"),
            # As the kubernetes client: the data, when given, instead of the file (never both trusted).
            "ca_file": _file(base_dir, cluster["certificate-authority"])
            if cluster.get("certificate-authority") and not cluster.get("certificate-authority-data") else None,
            "ca_data": base64.b64decode(cluster["certificate-authority-data"]).decode("ascii")
            if cluster.get("certificate-authority-data") else None,
            "token": token,
            "cert_file": _file(base_dir, user["client-certificate"]) if user.get("client-certificate") else None,
            "key_file": _file(base_dir, user["client-key"]) if user.get("client-key") else None,
            "cert_data": base64.b64decode(user["client-certificate-data"]) if user.get("client-certificate-data") else None,
            "key_data": base64.b64decode(user["client-key-data"]) if user.get("client-key-data") else None,
        }
    except (OSError, ValueError, TypeError):
        return None  # let kubernetes.core report it
    has_cert = bool(conn["cert_file"] or conn["cert_data"])
    has_key = bool(conn["key_file"] or conn["key_data"])
    if has_cert != has_key or not (token or has_cert):
        return None
    return conn


def list_path(api_version, kind, namespace):
    """The URL path that lists ``kind`` of ``api_version`` in ``namespace`` (None: cluster-wide)."""
    base = "/api/" + api_version if "/" not in api_version else "/apis/" + api_version
    where = "/namespaces/" + quote(namespace, safe="") if namespace else ""
    return base + where + "/" + PLURALS[kind]


def object_path(api_version, kind, namespace, name):
    """The URL path of the object ``name`` of ``kind`` in ``namespace``."""
    return list_path(api_version, kind, namespace) + "/" + quote(name, safe="")


def warning_texts(headers):
    """The texts of the API server's ``Warning`` response headers (what kubernetes.core reports as warnings)."""
    texts = []
    for header in headers or []:
        for part in re.split(r',\s*(?=\d{3} )', header):
            match = WARNING.match(part.strip())
            if match:
                texts.append(re.sub(r'\\(.)', r'\1', match.group(1)))
    return texts


def list_items(answer):
    """The items of a list answer, each with its kind and apiVersion (the API leaves them out of list items;
    the kubernetes client's dynamic client adds them, and the live index needs the kind)."""
    kind = (answer.get("kind") or "")[:-len("List")] if (answer.get("kind") or "").endswith("List") else ""
    items = answer.get("items") or []
    for item in items:
        if kind and not item.get("kind"):
            item["kind"] = kind
        if answer.get("apiVersion") and not item.get("apiVersion"):
            item["apiVersion"] = answer["apiVersion"]
    return items


class ApiError(Exception):
    """The API server answered with an error status (``status_reason``: the Status' reason, e.g. AlreadyExists)."""

    def __init__(self, status, reason, message, status_reason=""):
        super(ApiError, self).__init__("%s %s: %s" % (status, reason, message))
        self.status = status
        self.status_reason = status_reason


def _ssl_context(conn):
    ca_file = conn["ca_file"]
    if not ca_file and not conn["ca_data"] and certifi is not None:
        ca_file = certifi.where()  # as the kubernetes client does without a CA in the kubeconfig
    context = ssl.create_default_context(cafile=ca_file, cadata=conn["ca_data"])
    if not conn["verify"]:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if conn["cert_file"] or conn["cert_data"]:
        paths, written = [], []
        try:
            for path, data in ((conn["cert_file"], conn["cert_data"]), (conn["key_file"], conn["key_data"])):
                if data is not None:
                    fd, path = tempfile.mkstemp(prefix="csc-mlflow-")
                    written.append(path)
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(data)
                paths.append(path)
            context.load_cert_chain(paths[0], paths[1])
        finally:
            for path in written:
                os.unlink(path)
    return context


class KubeconfigClient(object):
    """Requests on one kept-alive HTTPS connection, JSON in and out (``simple_connection``'s settings)."""

    def __init__(self, conn, timeout=60):
        url = urlsplit(conn["server"])
        self._prefix = url.path.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": "csc.mlflow"}
        if conn["token"]:
            self._headers["Authorization"] = "Bearer " + conn["token"]
        self._connection = HTTPSConnection(url.hostname, url.port or 443, context=_ssl_context(conn), timeout=timeout)
        self.warnings = []  # of the last request

    def close(self):
        self._connection.close()

    def request(self, method, path, query=None, body=None, content_type="application/json"):
        if query:
            path += "?" + "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in sorted(query.items()) if v)
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")  # JSON is YAML too (server-side apply)
            headers["Content-Type"] = content_type
        self._connection.request(method, self._prefix + path, body=payload, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        self.warnings = warning_texts(response.headers.get_all("Warning"))
        if response.status >= 400:
            status_reason = ""
            try:
                answer = json.loads(data.decode("utf-8"))
                message, status_reason = answer.get("message") or "", answer.get("reason") or ""
            except ValueError:
                message = data.decode("utf-8", "replace")[:500]
            raise ApiError(response.status, response.reason, message, status_reason)
        return json.loads(data.decode("utf-8"))

    def api_groups(self):
        return [group.get("name") for group in self.request("GET", "/apis").get("groups") or []]

    def items(self, api_version, kind, namespace, label_selector=None):
        return list_items(self.request("GET", list_path(api_version, kind, namespace),
                                       query={"labelSelector": label_selector}))

    def create(self, api_version, kind, body, namespace=None):
        return self.request("POST", list_path(api_version, kind, namespace), body=body)

    def get(self, api_version, kind, namespace, name):
        """The object, or None when there is none."""
        try:
            return self.request("GET", object_path(api_version, kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def server_side_apply(self, body, namespace, field_manager, force_conflicts):
        path = object_path(body["apiVersion"], body["kind"], namespace, body["metadata"]["name"])
        query = {"fieldManager": field_manager, "force": "true" if force_conflicts else ""}
        return self.request("PATCH", path, query=query, body=body, content_type=APPLY_PATCH)


def kubeconfig_client(options, environ=None, home=None):
    """A KubeconfigClient when the connection is a simple one (``kubeconfig_path``, ``simple_connection``),
    else None."""
    environ = os.environ if environ is None else environ
    found = kubeconfig_path(options, environ, home or os.path.expanduser("~"))
    if found is None:
        return None
    path, context = found
    try:
        with open(path) as handle:
            config = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return None
    conn = simple_connection(config, context, os.path.dirname(os.path.abspath(path)))
    return KubeconfigClient(conn) if conn else None


class DynamicReader(object):
    """The same three calls on a kubernetes.core client (``get_api_client``)."""

    def __init__(self, client):
        self._client = client

    def close(self):
        pass

    def api_groups(self):
        return list(self._client.resources.api_groups)

    def items(self, api_version, kind, namespace, label_selector=None):
        client = self._client
        return client.get(client.resource(kind, api_version), namespace=namespace,
                          label_selector=label_selector).to_dict().get("items") or []

    def create(self, api_version, kind, body):
        client = self._client
        return client.create(client.resource(kind, api_version), body).to_dict()
