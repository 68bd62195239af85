# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Parse, validate and normalise IP whitelists for OpenShift Routes and Ingresses.

Pure Python (``ipaddress``); shared by the ``csc.mlflow.ip_whitelist`` filter and
the ``csc.mlflow.route_whitelist`` module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# The OpenShift docs name 61 entries as a maximum, but the router has written longer lists
# to a file since 2018 (openshift/router commit 488120a38): no limit unless one is asked for.
ROUTER_DOCUMENTED_MAX_ENTRIES = 61

# The OpenShift router reads ip_allowlist when it is set, else ip_whitelist (4.17 and later); older routers read
# only ip_whitelist (openshift/router, images/router/haproxy/conf/haproxy-config.template). A Route carries both
# with the same value, so that every router enforces the list and a stale value in one cannot win.
ROUTE_ANNOTATIONS = ("haproxy.router.openshift.io/ip_allowlist", "haproxy.router.openshift.io/ip_whitelist")
INGRESS_ANNOTATION = "nginx.ingress.kubernetes.io/whitelist-source-range"

# What each annotation's reader accepts as a separator: the OpenShift router
# silently ignores a list with anything but spaces; ingress-nginx splits on commas.
SEPARATORS = {
    "Route": " ",
    "Ingress": ",",
}

# Any common separator between entries: whitespace, comma, semicolon, pipe.
_SPLIT_RE = re.compile(r"[\s,;|]+")


class WhitelistError(ValueError):
    """A whitelist that cannot be used; the message names every bad entry."""


def split_entries(value):
    """Flatten ``value`` (None, a string or a list of strings) into raw entries."""
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        return [e for e in _SPLIT_RE.split(value) if e]
    if isinstance(value, (list, tuple, set, frozenset)):
        out = []
        for item in value:
            if item is None:
                continue
            if isinstance(item, (list, tuple)):
                out.extend(split_entries(item))
            elif isinstance(item, (str, bytes, bytearray)):
                out.extend(split_entries(item))
            else:
                # An int or anything else: keep it, parse_entry names it as bad.
                out.append(item)
        return out
    raise WhitelistError("a whitelist must be a list or a string, got %s" % type(value).__name__)


def parse_entry(entry):
    """An ``ipaddress`` network for one entry, host bits cleared; ValueError if bad."""
    if not isinstance(entry, str):
        raise ValueError("not a string")
    text = entry.strip()
    if not text or "%" in text:
        raise ValueError("not an IP address or CIDR")
    if "/" in text:
        addr, _sep, prefix = text.partition("/")
        if not prefix.isdigit() or (len(prefix) > 1 and prefix[0] == "0"):
            raise ValueError("bad prefix length")
        # ipaddress accepts netmask notation after the slash; we want a length only.
        network = ipaddress.ip_network("%s/%s" % (addr, prefix), strict=False)
    else:
        network = ipaddress.ip_network(text, strict=False)
    return network


def _sort_key(network):
    return (network.version, network.network_address, network.prefixlen)


def format_network(network):
    """A single host as a bare address, anything else as address/prefix."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def normalize(value, collapse=False, max_entries=0):
    """Normalise a whitelist to a sorted list of unique strings.

    ``value`` is a list or a string with any common separators. Host bits are
    cleared (``10.0.0.5/24`` becomes ``10.0.0.0/24``), duplicates dropped, IPv4
    sorted before IPv6. With ``collapse``, overlapping and adjacent networks are
    merged. More than ``max_entries`` entries (0 or None: no limit) is an error.
    An empty input gives ``[]``; deciding whether an open route is acceptable is
    the caller's business.
    """
    raw = split_entries(value)
    bad = []
    networks = set()
    for entry in raw:
        try:
            networks.add(parse_entry(entry))
        except ValueError:
            bad.append(entry)
    if bad:
        raise WhitelistError(
            "invalid IP address or CIDR in the whitelist: %s"
            % ", ".join(repr(b) if isinstance(b, str) else repr(b) for b in bad)
        )
    if collapse:
        v4 = [n for n in networks if n.version == 4]
        v6 = [n for n in networks if n.version == 6]
        networks = set(ipaddress.collapse_addresses(v4)) | set(ipaddress.collapse_addresses(v6))
    result = [format_network(n) for n in sorted(networks, key=_sort_key)]
    if max_entries and len(result) > int(max_entries):
        hint = "" if collapse else "; set collapse to merge overlapping and adjacent networks first"
        raise WhitelistError(
            "the whitelist has %d entries, more than the maximum of %d%s"
            % (len(result), int(max_entries), hint)
        )
    return result


def to_annotation(entries, kind="Route"):
    """The annotation value for ``kind``: space-separated (Route) or comma-separated (Ingress)."""
    return SEPARATORS.get(kind, " ").join(entries)


def default_annotation_keys(kind):
    """The annotations that carry the whitelist of ``kind``, the one its reader prefers first."""
    return (INGRESS_ANNOTATION,) if kind == "Ingress" else ROUTE_ANNOTATIONS
