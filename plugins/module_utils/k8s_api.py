# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Helpers shared by the module_utils that talk to the Kubernetes API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def api_message(exc):
    """The API server's message of ``exc`` (``summary()`` of a kubernetes ``DynamicApiError``), else ``str(exc)``."""
    summary = getattr(exc, "summary", None)
    if callable(summary):
        try:
            return summary()
        except Exception:  # pylint: disable=broad-except
            pass
    return str(exc)


class ClientUnavailable(Exception):
    """kubernetes.core or the kubernetes library is not installed."""


def lookup_client(options):
    """A kubernetes.core client (``get_api_client``) from a lookup's connection options (``kubeconfig``,
    ``context``, ``host``, ...; empty ones left out so that ``K8S_AUTH_*`` and the kubeconfig apply)."""
    try:
        from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    except ImportError as exc:
        raise ClientUnavailable("needs kubernetes.core and the kubernetes library: %s" % exc)
    return get_api_client(**dict((k, v) for k, v in options.items() if v is not None and v != ""))
