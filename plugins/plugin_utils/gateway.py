# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The stack's way in (mlflow_exposure) and the Gateway API checks, as pure functions.

Behind the csc.mlflow.exposure, exposure_problems, gateway_check, gateway_duration, policy_cidrs,
exposure_namespace_selector and gateway_namespaces filters (roles/mlflow: vars/main.yml, tasks/gateway.yml,
tasks/check_input.yml, tasks/undeploy.yml). What the role renders from these decisions is in
roles/mlflow/templates/objects.j2 (macro ``public``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from collections.abc import Mapping

from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import text, to_bool

EXPOSURES = ("auto", "route", "httproute", "ingress", "none")
IMPLEMENTATIONS = ("", "envoy-gateway", "istio")
IMPLEMENTATION_NAMES = {"envoy-gateway": "Envoy Gateway (SecurityPolicy)", "istio": "Istio (AuthorizationPolicy)"}
GATEWAY_GROUP = "gateway.networking.k8s.io"
# Where Envoy Gateway runs the proxies of every Gateway by default (its controller's namespace); with its
# gatewayNamespaceMode they run in the Gateway's namespace instead (mlflow_gateway_namespace_selector).
ENVOY_GATEWAY_NAMESPACE = "envoy-gateway-system"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
# OpenShift's routers' namespaces (4.6+; matches host-network routers too).
OPENSHIFT_ROUTER_SELECTOR = {"matchLabels": {"policy-group.network.openshift.io/ingress": ""}}


def exposure(requested, openshift, live):
    """The way in of this run: `requested` (mlflow_exposure) unless it is ``auto``; then ``route`` on OpenShift, and on
    Kubernetes ``httproute``, except that a stack that already has an Ingress of its own keeps ``ingress`` (`live`: the
    stack's objects by "Kind/name", as the stack read found them): a re-run of a stack an earlier version exposed by
    an Ingress loses nothing."""
    requested = text(requested if requested is not None else "auto").strip() or "auto"
    if requested != "auto":
        return requested
    if to_bool(openshift):
        return "route"
    if any(text(key).startswith("Ingress/") for key in (live or {})):
        return "ingress"
    return "httproute"


def exposure_problems(exposure, openshift, gateway_name="", route_host="", implementation="", whitelist=None,
                      whitelist_unenforced=False):
    """What the chosen way in cannot work with, before anything is read or changed (one message each)."""
    errors = []
    if exposure not in EXPOSURES[1:]:
        return ["mlflow_exposure '%s' is not one of %s" % (text(exposure), ", ".join(EXPOSURES))]
    if exposure == "route" and not to_bool(openshift):
        errors.append(
            "mlflow_exposure=route needs OpenShift's Routes (route.openshift.io), which this cluster does not serve:"
            " choose mlflow_exposure=httproute (a Gateway API Gateway), ingress (an Ingress controller) or none"
            " (no way in; kubectl port-forward)")
    if exposure != "httproute":
        return errors
    if not text(gateway_name).strip():
        errors.append(
            "mlflow_exposure=httproute attaches the stack's HTTPRoutes to a Gateway of the platform: set"
            " mlflow_gateway_name (and mlflow_gateway_namespace when the Gateway is in another namespace), or choose"
            " mlflow_exposure=ingress (a cluster with an Ingress controller) or mlflow_exposure=none (no way in;"
            " kubectl port-forward)")
    if not text(route_host).strip():
        errors.append(
            "mlflow_exposure=httproute needs mlflow_route_host, a host name the Gateway's listener accepts (e.g."
            " mlflow.apps.example.org; ask the platform team for the listener's domain), or mlflow_exposure=none")
    if implementation not in IMPLEMENTATIONS:
        errors.append("mlflow_gateway_implementation '%s' is not one of envoy-gateway, istio or '' (unknown)"
                      % text(implementation))
    elif implementation == "" and list(whitelist or []) and not to_bool(whitelist_unenforced):
        errors.append(
            "mlflow_route_whitelist would not be enforced: on a Gateway the list is a policy of the Gateway's"
            " implementation, and mlflow_gateway_implementation is empty (unknown). Set mlflow_gateway_implementation"
            " to envoy-gateway (a SecurityPolicy) or istio (an AuthorizationPolicy), or set"
            " mlflow_gateway_whitelist_unenforced=true if the list is enforced elsewhere or you accept that it is not")
    return errors


# ---------------------------------------------------------------------------- the Gateway and its listeners
def _hostname_matches(listener_hostname, host):
    """Whether a listener's hostname admits `host` (Gateway API: empty = any; ``*.example.com`` = a suffix match
    of one label or more, never example.com itself)."""
    pattern = text(listener_hostname or "").lower()
    host = text(host).lower()
    if not pattern:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _admits_namespace(listener, gateway_namespace, route_namespace):
    """Whether the listener's allowedRoutes admit routes of `route_namespace` (``Same`` by default; a ``Selector``
    is taken as admitting: the namespace's labels are not read, and counting one listener too many is the safe side
    of the plain-HTTP check)."""
    allowed = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("from") or "Same"
    if allowed == "Same":
        return route_namespace == gateway_namespace
    return True


def _admits_httproutes(listener):
    kinds = (listener.get("allowedRoutes") or {}).get("kinds")
    if kinds:
        return any(k.get("kind") == "HTTPRoute" and (k.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP for k in kinds)
    return text(listener.get("protocol")) in ("HTTP", "HTTPS")


def attached_listeners(gateway, route_namespace, hosts, section_name=""):
    """The listeners of `gateway` the stack's HTTPRoutes (hosts `hosts`, in `route_namespace`) would attach to: the one
    named `section_name` when given, else every listener whose hostname admits one of the hosts, whose allowedRoutes
    admit the namespace and HTTPRoutes."""
    gateway_namespace = text(((gateway or {}).get("metadata") or {}).get("namespace") or "")
    out = []
    for listener in ((gateway or {}).get("spec") or {}).get("listeners") or []:
        if section_name and listener.get("name") != section_name:
            continue
        if not any(_hostname_matches(listener.get("hostname"), h) for h in hosts or [] if h):
            continue
        if not _admits_namespace(listener, gateway_namespace, route_namespace) or not _admits_httproutes(listener):
            continue
        out.append(listener)
    return out


def gateway_read(result):
    """What a kubernetes.core.k8s_info read of the Gateway found: ``{'state': 'found' | 'missing' | 'forbidden' |
    'unserved' | 'error', 'gateway': the object or None, 'message': the API's words}``."""
    result = result or {}
    if result.get("skipped"):
        return {"state": "skipped", "gateway": None, "message": ""}
    message = text(result.get("msg") or "")
    if result.get("failed"):
        status = result.get("status")
        if status == 403 or re.search(r"\b403\b|[Ff]orbidden", message):
            state = "forbidden"
        elif status == 404 or re.search(r"[Ff]ailed to find exact match|could not find the requested resource", message):
            state = "unserved"
        else:
            state = "error"
        return {"state": state, "gateway": None, "message": message}
    if result.get("api_found") is False:
        return {"state": "unserved", "gateway": None, "message": message}
    resources = result.get("resources") or []
    if not resources:
        return {"state": "missing", "gateway": None, "message": ""}
    return {"state": "found", "gateway": resources[0], "message": ""}


def gateway_check(read, gateway_namespace, gateway_name, route_namespace, hosts, section_name="", allow_plain_http=False):
    """The Gateway checks before any change: ``{'problems': [messages], 'tls': whether clients reach the stack over
    TLS, 'listeners': names of the listeners it would attach to}``. `read`: gateway_read()'s answer.

    A Gateway that does not exist, or a cluster without the Gateway API, is refused; one the deploying user may not
    read is refused unless `allow_plain_http` (its listeners cannot be checked); a plain-HTTP listener the routes
    would attach to is refused unless `allow_plain_http` (the basic-auth passwords would cross in clear text). A route
    that attaches to no listener is left to the Gateway's controller, whose reason (NoMatchingListenerHostname,
    NoMatchingParent, NotAllowedByListeners) the deploy reports after applying it.
    """
    where = "%s/%s" % (text(gateway_namespace), text(gateway_name))
    state = (read or {}).get("state")
    allow = to_bool(allow_plain_http)
    answer = {"problems": [], "tls": True, "listeners": []}
    if state in (None, "skipped"):
        return answer
    if state == "missing":
        answer["problems"].append(
            "Gateway %s not found: set mlflow_gateway_name and mlflow_gateway_namespace to a Gateway of the platform"
            " (kubectl get gateways -A lists those you may read)" % where)
    elif state == "unserved":
        answer["problems"].append(
            "this cluster does not serve the Gateway API (%s/v1 Gateway), so Gateway %s cannot exist: choose"
            " mlflow_exposure=ingress (an Ingress controller) or none" % (GATEWAY_GROUP, where))
    elif state == "forbidden":
        if not allow:
            answer["problems"].append(
                "Gateway %s cannot be read (403 Forbidden), so its listeners cannot be checked for TLS: ask the platform"
                " team for read access to it (get gateways.gateway.networking.k8s.io in %s), or set"
                " mlflow_gateway_allow_plain_http=true to deploy without the check" % (where, text(gateway_namespace)))
    elif state == "error":
        answer["problems"].append("Gateway %s could not be read: %s" % (where, text((read or {}).get("message"))))
    else:
        listeners = attached_listeners(read.get("gateway"), route_namespace, hosts, section_name)
        answer["listeners"] = [text(item.get("name")) for item in listeners]
        plain = [item for item in listeners if text(item.get("protocol")) == "HTTP"]
        if plain and not allow:
            answer["problems"].append(
                "Gateway %s: the HTTPRoutes would attach to its plain-HTTP listener%s %s, and the basic-auth passwords"
                " would cross the network in clear text. Name its TLS listener in mlflow_gateway_listener (e.g. https),"
                " or set mlflow_gateway_allow_plain_http=true"
                % (where, "s" if len(plain) > 1 else "",
                   ", ".join("'%s' (port %s)" % (text(item.get("name")), text(item.get("port"))) for item in plain)))
        answer["tls"] = bool(listeners) and len(plain) < len(listeners) if allow else True
    return answer


# ---------------------------------------------------------------------------- what the templates render
_NGINX_UNITS_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000}
_NGINX_TIME_RE = re.compile(r"^(?:\s*[0-9]+(?:ms|s|m|h|d|w)?)+\s*$")
_NGINX_PART_RE = re.compile(r"([0-9]+)(ms|s|m|h|d|w)?")


def gateway_duration(value):
    """An NGINX time (``600s``, ``10m``, ``1h 30m``, ``600`` = seconds) as a Gateway API Duration, the HTTPRoute's
    timeouts' grammar ``^([0-9]{1,5}(h|m|s|ms)){1,4}$`` (gateway-api v1.6.3, HTTPRouteTimeouts): the same time in
    hours, minutes, seconds and milliseconds, e.g. ``1h30m``; ``0s`` for none."""
    raw = text(value).strip()
    if not raw or not _NGINX_TIME_RE.match(raw):
        raise ValueError("'%s' is not an NGINX time such as 600s, 10m or 1h" % raw)
    total = sum(int(num) * _NGINX_UNITS_MS[unit or "s"] for num, unit in _NGINX_PART_RE.findall(raw))
    if total >= 100000 * 3600000:
        raise ValueError("'%s' is longer than a Gateway API duration can say (99999h)" % raw)
    parts = []
    for unit, size in (("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append("%d%s" % (count, unit))
    return "".join(parts) or "0s"


def policy_cidrs(whitelist):
    """The normalised whitelist (csc.mlflow.ip_whitelist: addresses and networks) as CIDRs, the form the Gateway
    implementations' policies take (Envoy Gateway clientCIDRs, Istio remoteIpBlocks): an address gets /32 or /128."""
    return [str(ipaddress.ip_network(text(entry).strip(), strict=False)) for entry in whitelist or []]


def gateway_namespace_selector(given, implementation, gateway_namespace):
    """The namespaces of the Gateway's proxy pods, which the NetworkPolicies admit to the tracking, pre-signed and
    Models pods: `given` (mlflow_gateway_namespace_selector) when not empty; else Envoy Gateway's controller
    namespace for envoy-gateway (where it runs the proxies by default), the Gateway's own namespace otherwise (Istio
    deploys a Gateway's proxy there; an unknown implementation is assumed to do the same)."""
    if isinstance(given, Mapping) and given:
        return dict(given)
    namespace = ENVOY_GATEWAY_NAMESPACE if implementation == "envoy-gateway" else text(gateway_namespace)
    return {"matchLabels": {NAMESPACE_LABEL: namespace}}


def exposure_namespace_selector(exposure, ingress_selector, gateway_selector):
    """The namespaceSelector of the pods that carry the public traffic in (the NetworkPolicies' rule for the ways in):
    the OpenShift routers for Routes, the Ingress controller's namespaces, the Gateway's proxies; none without a
    way in ({}: the policies then have no such rule; an empty selector would admit every namespace)."""
    if exposure == "route":
        return dict(OPENSHIFT_ROUTER_SELECTOR)
    if exposure == "ingress":
        return dict(ingress_selector or {})
    if exposure == "httproute":
        return dict(gateway_selector or {})
    return {}


def public_tls(exposure, ingress_tls_secret="", gateway_tls=True):
    """Whether clients reach the stack over TLS: Routes always (edge), an Ingress with its TLS Secret, an HTTPRoute
    unless the deploy accepted a plain-HTTP listener (gateway_check's ``tls``); no way in: no."""
    if exposure == "route":
        return True
    if exposure == "ingress":
        return bool(text(ingress_tls_secret))
    if exposure == "httproute":
        return to_bool(gateway_tls)
    return False


def gateway_namespaces(httproutes, namespace):
    """The namespaces of the Gateways the stack's HTTPRoutes (as listed) name, other than the stack's `namespace`:
    where undeploy looks for the stack's Istio AuthorizationPolicies."""
    out = []
    for route in httproutes or []:
        own = text(((route or {}).get("metadata") or {}).get("namespace") or namespace)
        for ref in ((route or {}).get("spec") or {}).get("parentRefs") or []:
            ns = text(ref.get("namespace") or own)
            if ns != namespace and ns not in out:
                out.append(ns)
    return out
