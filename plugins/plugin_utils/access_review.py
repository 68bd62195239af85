# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What the caller may do in a namespace: SelfSubjectAccessReview requests and answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_VERB = re.compile(r"^[a-z*]+$")
_RESOURCE = re.compile(r"^[a-z0-9*-]+(/[a-z0-9-]+)?(\.[a-z0-9.-]+)?$")


def review_body(question, namespace):
    """The SelfSubjectAccessReview asking ``question`` ("verb resource[/subresource][.group]") in ``namespace``.

    ``"create servicemonitors.monitoring.coreos.com"``, ``"get routes/status.route.openshift.io"``,
    ``"list pods"`` (the core group). Raises ValueError for anything else.
    """
    parts = question.split() if isinstance(question, str) else []
    if len(parts) != 2 or not _VERB.match(parts[0]) or not _RESOURCE.match(parts[1]):
        raise ValueError("%r: not 'verb resource[/subresource][.group]'" % (question,))
    verb, rest = parts
    resource, _dot, group = rest.partition(".")
    resource, _slash, subresource = resource.partition("/")
    attributes = {"namespace": namespace, "verb": verb, "group": group, "resource": resource}
    if subresource:
        attributes["subresource"] = subresource
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }


def review_allowed(review):
    """Whether the answered review (a dict) allows the request; a denial or no answer is False."""
    status = (review or {}).get("status") or {}
    return bool(status.get("allowed")) and not status.get("denied")
