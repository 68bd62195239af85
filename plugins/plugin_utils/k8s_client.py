# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The one API client of the collection's controller-side plugins (stack_read, stack_apply, rollout_wait):
kubernetes.core's ``get_api_client`` over the ``kubernetes`` library, connecting as every kubernetes.core
task does (kubeconfig, context, ``K8S_AUTH_*``, in-cluster service account).

The action plugins import this module at their top (through plugin_utils/k8s_action.py). Ansible's strategy
loads an action plugin's class in the controller's main process before it runs the first task that uses it, and
forks each task's worker from that process: the library (~0.4 s to import) is imported once per run, not once
per task (docs/PERFORMANCE.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError
    IMPORT_ERROR = None
except ImportError as exc:  # reported when a plugin connects
    IMPORT_ERROR = exc

    class DynamicApiError(Exception):
        pass

    class NotFoundError(DynamicApiError):
        pass

    class ResourceNotFoundError(Exception):
        pass

from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import KindNotServed
from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import api_version as kind_api_version

JSON_PATCH = "application/json-patch+json"
# RFC 7234 warnings as the API server sends them: 299 - "text" (quotes inside escaped). Not kubernetes.core's
# decode_response: it splits the header at every ", ", which PodSecurity's texts contain.
WARNING = re.compile(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"')


def warning_texts(headers):
    """The texts of the Warning headers (one or several, or joined by ", ")."""
    values = headers.getlist("Warning") if hasattr(headers, "getlist") else [(headers or {}).get("Warning") or ""]
    return [re.sub(r"\\(.)", r"\1", match.group(1)) for value in values for match in WARNING.finditer(value or "")]


class ClientUnavailable(Exception):
    """kubernetes.core or the kubernetes library is not installed."""


class ApiError(Exception):
    """The API server refused a request: ``status`` (HTTP), ``status_reason`` (its Status reason, e.g.
    ``AlreadyExists``, ``Invalid``) and its message."""

    def __init__(self, status, status_reason, message):
        super(ApiError, self).__init__("%s %s" % (status, message))
        self.status = status
        self.status_reason = status_reason


def _api_error(exc):
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    try:
        answer = json.loads(body) if body else {}
    except (TypeError, ValueError):
        answer = {}
    message = answer.get("message") or getattr(exc, "reason", None) or str(exc)
    return ApiError(status, answer.get("reason", ""), message)


def connection_options(options):
    """The connection options a task or lookup was given, empty ones left out so that ``K8S_AUTH_*`` and the
    kubeconfig apply."""
    return dict((k, v) for k, v in (options or {}).items() if v is not None and v != "")


class Client(object):
    """The requests the plugins make, on one kubernetes.core client (``core``; the rollout wait uses it as is)."""

    def __init__(self, options):
        if IMPORT_ERROR is not None:
            raise ClientUnavailable("needs kubernetes.core and the kubernetes library: %s" % IMPORT_ERROR)
        self.core = get_api_client(**connection_options(options))

    def _resource(self, api_version, kind):
        try:
            return self.core.resource(kind, api_version)
        except ResourceNotFoundError:
            raise KindNotServed("the cluster does not serve %s %s" % (api_version, kind))

    def api_groups(self):
        return list(self.core.resources.api_groups)

    def items(self, api_version, kind, namespace, label_selector=None):
        try:
            answer = self.core.get(self._resource(api_version, kind), namespace=namespace, label_selector=label_selector)
        except DynamicApiError as exc:
            raise _api_error(exc)
        return answer.to_dict().get("items") or []

    def create(self, api_version, kind, body):
        try:
            return self.core.create(self._resource(api_version, kind), body).to_dict()
        except DynamicApiError as exc:
            raise _api_error(exc)

    def get(self, api_version, kind, namespace, name):
        """The object, or None when there is none."""
        try:
            return self.core.get(self._resource(api_version, kind), name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None
        except DynamicApiError as exc:
            raise _api_error(exc)

    def server_side_apply(self, body, namespace, field_manager, force_conflicts=True, dry_run=False):
        """Apply ``body`` server-side: ``(the object as the server returned it, the server's warnings)``."""
        resource = self._resource(body["apiVersion"], body["kind"])
        params = {"field_manager": field_manager, "force_conflicts": force_conflicts, "serialize": False}
        if dry_run:
            params["dry_run"] = "All"
        try:
            answer = self.core.client.server_side_apply(resource, body=body, namespace=namespace, **params)
        except DynamicApiError as exc:
            raise _api_error(exc)
        return json.loads(answer.data.decode("utf-8")), warning_texts(answer.headers)

    def replace_managed_fields(self, obj, managed_fields):
        """Set ``obj``'s managedFields, unless it changed since it was read (its resourceVersion)."""
        meta = obj["metadata"]
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
                 {"op": "replace", "path": "/metadata/managedFields", "value": managed_fields}]
        resource = self._resource(obj.get("apiVersion") or kind_api_version(obj["kind"]), obj["kind"])
        try:
            return self.core.client.patch(resource, body=patch, name=meta["name"], namespace=meta.get("namespace"),
                                          content_type=JSON_PATCH).to_dict()
        except DynamicApiError as exc:
            raise _api_error(exc)
