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
