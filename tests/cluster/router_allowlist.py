"""Which addresses OpenShift's HAProxy router admits to a Route, read from its annotations as the router reads them.

From github.com/openshift/router at 4b401a86d (main, 2026-08-04; release-4.17 on reads both annotations, 4.16 and
older only ip_whitelist):

* images/router/haproxy/conf/haproxy-config.template: ``parseIPList (firstMatch ".+" (index $cfg.Annotations
  "haproxy.router.openshift.io/ip_allowlist") (index $cfg.Annotations "haproxy.router.openshift.io/ip_whitelist"))``;
  a non-empty result becomes ``acl allowlist src ...`` + ``tcp-request content reject if !allowlist``, an empty one
  writes no ACL: every address is admitted.
* firstMatch (pkg/router/template/template_helper.go): the first value matching ``\\A(?:.+)\\z`` (Go's ``.`` does
  not match a newline): ip_allowlist when it is set and on one line, else ip_whitelist.
* parseIPList (same file): "" for a value with leading or trailing white space (the whole list is dropped); else
  the white-space separated fields that Go's net.ParseIP or net.ParseCIDR accept, the others dropped one by one;
  "" when none is left.

``admitted(annotations, older_router=False)`` -> (list of entries the ACL holds, or None when the Route is open to
all, and why).
"""

from __future__ import annotations

import ipaddress
import re

ALLOWLIST = "haproxy.router.openshift.io/ip_allowlist"
WHITELIST = "haproxy.router.openshift.io/ip_whitelist"
_ONE_LINE = re.compile(r"\A(?:.+)\Z")  # Go RE2 without the s flag: '.' stops at '\n'
_GO_SPACE = " \t\n\v\f\r\x85\xa0"  # strings.TrimSpace / strings.Fields: unicode.IsSpace (Latin-1 part)


def _go_parses(field: str) -> bool:
    """net.ParseIP(field) != nil or net.ParseCIDR(field) succeeds (no zones; decimal prefix lengths)."""
    if "%" in field:
        return False
    address, slash, prefix = field.partition("/")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not slash:
        return True
    if not prefix.isascii() or not prefix.isdigit():
        return False
    return int(prefix) <= ip.max_prefixlen


def _fields(value: str) -> list[str]:
    return [f for f in re.split("[" + re.escape(_GO_SPACE) + "]+", value) if f]


def admitted(annotations: dict[str, str] | None, older_router: bool = False) -> tuple[list[str] | None, str]:
    annotations = annotations or {}
    keys = (WHITELIST,) if older_router else (ALLOWLIST, WHITELIST)
    value = next((annotations[k] for k in keys if _ONE_LINE.match(annotations.get(k) or "")), "")
    if not value.strip(_GO_SPACE):
        return None, "no allowlist annotation the router reads"
    if value.strip(_GO_SPACE) != value:
        return None, "leading or trailing white space: the router drops the whole list"
    valid = [f for f in _fields(value) if _go_parses(f)]
    if not valid:
        return None, "no entry the router can parse"
    dropped = [f for f in _fields(value) if not _go_parses(f)]
    return valid, ("entries the router drops: " + " ".join(dropped)) if dropped else "enforced"
