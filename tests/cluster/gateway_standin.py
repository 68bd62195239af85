"""The test cluster's Gateway API implementation stand-in (started with the others by standins.py).

It writes the status a Gateway API implementation writes, for the GatewayClasses whose ``spec.controllerName`` is
Envoy Gateway's, Istio's or an implementation the product does not know (``CONTROLLERS``), following the Gateway
API v1.6.3 types (sigs.k8s.io/gateway-api apis/v1: gatewayclass_types.go, gateway_types.go, httproute_types.go,
shared_types.go):

* GatewayClass: ``Accepted`` and ``SupportedVersion`` True.
* Gateway: ``Accepted`` and ``Programmed`` True, ``status.addresses`` a fixed test address (``GATEWAY_ADDRESS``),
  ``status.listeners[]`` per listener (supportedKinds, attachedRoutes, Accepted/Programmed/ResolvedRefs True,
  Conflicted False). TLS certificateRefs are not checked.
* HTTPRoute: ``status.parents[]`` one per parentRef of a Gateway of those classes (entries of other controllers are
  kept): ``Accepted`` (True; False ``NoMatchingParent``: no listener of that sectionName/port,
  ``NotAllowedByListeners``: allowedRoutes namespaces (Same/All/Selector) or kinds refuse the route,
  ``NoMatchingListenerHostname``: no listener hostname intersects the route's) and ``ResolvedRefs`` (True; False
  ``InvalidKind``, ``RefNotPermitted``: another namespace's Service without a ReferenceGrant, ``BackendNotFound``).
  A parentRef to a Gateway that does not exist gets ``Accepted`` False ``NoMatchingParent`` under the stand-in's own
  controllerName ``STANDIN`` (a real implementation writes nothing then: it cannot know the route is its).
* The stand-in's own condition ``AllowlistEnforced`` on each parent entry, as the implementation would enforce the
  policies present (``envoy_allowlist``, ``istio_allowlist``): True ``Enforced`` (message: the admitted CIDRs,
  space-separated) when the route's traffic is restricted to a list; False ``OpenToAll`` (message: why) or
  ``Differs`` (policies that disagree).
* SecurityPolicy (Envoy Gateway): ``status.ancestors[]`` as Envoy Gateway v1.9.1 writes them
  (internal/gatewayapi/securitypolicy.go): for a route target, the route's parent Gateways; for a Gateway target,
  the Gateway; ``Accepted`` True, or False ``Conflicted`` for a later policy on the same target; ``Overridden`` on a
  Gateway's policy that a route's policy overrides.

Conditions carry ``observedGeneration`` = the object's ``metadata.generation``; lastTransitionTime changes only with
the status. Nothing is routed or filtered: no data path.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging

log = logging.getLogger("standins.gateway")

GROUP = "gateway.networking.k8s.io"
GW_API = f"{GROUP}/v1"
ENVOY = "gateway.envoyproxy.io/gatewayclass-controller"
ISTIO = "istio.io/gateway-controller"
UNKNOWN = "example.test/gateway-controller"
CONTROLLERS = (ENVOY, ISTIO, UNKNOWN)
# controllerName of the entries the stand-in writes for a parentRef whose Gateway does not exist
STANDIN = "csc-mlflow.test/gateway-standin"
GATEWAY_ADDRESS = "192.0.2.10"  # TEST-NET-1 (RFC 5737): documentation only, never routed
SP_API = "gateway.envoyproxy.io/v1alpha1"
AP_API = "security.istio.io/v1"
# Route kinds a listener of each protocol supports (Gateway API: HTTP/HTTPS carry HTTPRoute and GRPCRoute).
PROTOCOL_KINDS = {"HTTP": ("HTTPRoute", "GRPCRoute"), "HTTPS": ("HTTPRoute", "GRPCRoute"), "TLS": ("TLSRoute",),
                  "TCP": ("TCPRoute",), "UDP": ("UDPRoute",)}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta_key(obj: dict) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def cond(type_: str, ok: bool, reason: str, message: str, generation: int | None) -> dict:
    c = {"type": type_, "status": "True" if ok else "False", "reason": reason, "message": message}
    if generation is not None:
        c["observedGeneration"] = generation
    return c


# ====================================================================== pure logic (tests/unit/test_gateway_standin.py)
def _host_matches_listener(listener: str, host: str) -> str | None:
    """The intersection of a listener hostname and a route hostname (either may be a ``*.`` wildcard), as
    httproute_types.go Hostnames describes it; None when they do not intersect."""
    listener, host = listener.lower(), host.lower()
    if listener == host:
        return host
    if listener.startswith("*.") and host.startswith("*."):
        if host.endswith(listener[1:]):  # *.a.example.com within *.example.com
            return host
        if listener.endswith(host[1:]):
            return listener
        return None
    if listener.startswith("*."):
        return host if host.endswith(listener[1:]) else None  # the wildcard needs at least one label
    if host.startswith("*."):
        return listener if listener.endswith(host[1:]) else None
    return None


def hostname_intersection(listener_hostname: str | None, route_hostnames: list[str] | None) -> list[str]:
    """The hostnames a listener serves the route for: [] when none intersect. A listener or route without
    hostnames matches anything (``*`` stands for "any host")."""
    if not route_hostnames:
        return [listener_hostname or "*"]
    if not listener_hostname:
        return list(route_hostnames)
    out = []
    for h in route_hostnames:
        m = _host_matches_listener(listener_hostname, h)
        if m and m not in out:
            out.append(m)
    return out


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """A metav1.LabelSelector against labels (an empty selector matches everything)."""
    labels = labels or {}
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        op, k, values = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def namespace_allowed(allowed_routes: dict | None, route_ns: str, gateway_ns: str, ns_labels: dict | None) -> bool:
    """allowedRoutes.namespaces.from: Same (the default), All, Selector."""
    spec = (allowed_routes or {}).get("namespaces") or {}
    frm = spec.get("from", "Same")
    if frm == "All":
        return True
    if frm == "Selector":
        return selector_matches(spec.get("selector"), ns_labels)
    return route_ns == gateway_ns


def listener_kinds(listener: dict) -> tuple[list[dict], list[dict]]:
    """(supportedKinds, kinds asked for in allowedRoutes.kinds that the protocol does not carry)."""
    carried = PROTOCOL_KINDS.get(listener.get("protocol", ""), ())
    asked = (listener.get("allowedRoutes") or {}).get("kinds")
    if not asked:
        return [{"group": GROUP, "kind": k} for k in carried], []
    ok, bad = [], []
    for k in asked:
        entry = {"group": k.get("group", GROUP), "kind": k["kind"]}
        (ok if entry["group"] == GROUP and entry["kind"] in carried else bad).append(entry)
    return ok, bad


def cidr_union(lists: list[list[str]]) -> list[str]:
    """The entries of all lists, first occurrence first (not merged: the message shows what was written)."""
    out: list[str] = []
    for lst in lists:
        for c in lst or []:
            if c not in out:
                out.append(c)
    return out


def same_cidrs(a: list[str], b: list[str]) -> bool:
    """Two lists admit the same addresses (order, duplicates and host bits aside, e.g. 192.0.2.1 = 192.0.2.1/32)."""
    def norm(lst):
        try:
            nets = [ipaddress.ip_network(c, strict=False) for c in lst]
        except ValueError:
            return set(lst)
        return {n for v in (4, 6) for n in ipaddress.collapse_addresses(n for n in nets if n.version == v)}
    return norm(a) == norm(b)


def enforced(cidrs: list[str], note: str = "") -> dict:
    return {"status": "True", "reason": "Enforced", "message": " ".join(cidrs) if cidrs else f"no address{note}"}


def open_to_all(why: str) -> dict:
    return {"status": "False", "reason": "OpenToAll", "message": why}


def name_of(obj: dict) -> str:
    return "/".join(meta_key(obj))


def _targets(policy: dict) -> list[dict]:
    spec = policy.get("spec") or {}
    return list(spec.get("targetRefs") or []) + ([spec["targetRef"]] if spec.get("targetRef") else [])


def policy_targets(policy: dict, kind: str, name: str, section: str | None = None) -> bool:
    """Does the policy's targetRef(s) name ``kind``/``name`` (group gateway.networking.k8s.io) in its namespace?
    ``section``: the target's sectionName must be absent or equal."""
    return any(t.get("group", GROUP) == GROUP and t.get("kind") == kind and t.get("name") == name
               and (not t.get("sectionName") or t.get("sectionName") == section) for t in _targets(policy))


def oldest_first(objs: list[dict]) -> list[dict]:
    return sorted(objs, key=lambda o: (o["metadata"].get("creationTimestamp", ""), *meta_key(o)))


def security_policy_allowlist(policy: dict) -> dict:
    """What one SecurityPolicy's ``authorization`` admits (Envoy Gateway v1.9.1 api/v1alpha1/authorization_types.go:
    rules evaluated in order, first match applies; defaultAction, when absent, is Deny; a rule's principal fields
    are ANDed, so an Allow rule with clientCIDRs admits at most those)."""
    authz = (policy.get("spec") or {}).get("authorization")
    if authz is None:
        return open_to_all(f"SecurityPolicy {name_of(policy)} has no authorization")
    if (authz.get("defaultAction") or "Deny") != "Deny":
        return open_to_all(f"SecurityPolicy {name_of(policy)}: defaultAction {authz['defaultAction']} admits any "
                           "address no rule denies")
    lists = []
    for i, rule in enumerate(authz.get("rules") or []):
        if rule.get("action") != "Allow":
            continue  # a Deny rule only narrows what the Allow rules admit
        cidrs = (rule.get("principal") or {}).get("clientCIDRs")
        if not cidrs:
            return open_to_all(f"SecurityPolicy {name_of(policy)}: rule {rule.get('name') or i} allows without "
                               "clientCIDRs")
        lists.append(cidrs)
    return enforced(cidr_union(lists), f" (SecurityPolicy {name_of(policy)} denies everything)")


def _decide(candidates: list[tuple[str, dict]], none_why: str) -> dict:
    """One decision from several policies' readings: the one, Differs when they disagree, OpenToAll when none."""
    if not candidates:
        return open_to_all(none_why)
    first = candidates[0][1]
    for who, other in candidates[1:]:
        if other["reason"] != first["reason"] or (first["reason"] == "Enforced" and not same_cidrs(
                first["message"].split(), other["message"].split())):
            return {"status": "False", "reason": "Differs",
                    "message": "; ".join(f"{w}: {c['reason']} {c['message']}" for w, c in candidates)}
    return first


def envoy_allowlist(route: dict, gateway: dict, section: str | None, policies: list[dict]) -> dict:
    """AllowlistEnforced for ``route`` attached to ``gateway`` (listener ``section``) under Envoy Gateway.

    SecurityPolicies target the HTTPRoute (in its namespace) or the Gateway (in the Gateway's): Envoy Gateway's docs
    (gateway.envoyproxy.io, concepts/gateway_api_extensions/security-policy, "Targets" and "Precedence") say a policy
    targets only resources of its own namespace and that, when several apply to one resource, a precedence by
    target type and section decides, the more specific target first; v1.9.1's internal/gatewayapi/securitypolicy.go
    marks the Gateway's policy ``Overridden`` for such routes. So a route's policy replaces the Gateway's wholly,
    also when it has no authorization (``mergeType`` is not read). Of several policies on one target the oldest applies (the others: ``Conflicted``); the
    stand-in reports ``Differs`` when they disagree. targetSelectors and route-rule sectionNames are not read.
    """
    rns, rname = meta_key(route)
    gns, gname = meta_key(gateway)
    on_route = oldest_first([p for p in policies if meta_key(p)[0] == rns and policy_targets(p, "HTTPRoute", rname)])
    on_gateway = oldest_first([p for p in policies if meta_key(p)[0] == gns
                               and policy_targets(p, "Gateway", gname, section)])
    level = on_route or on_gateway
    return _decide([(f"SecurityPolicy {name_of(p)}", security_policy_allowlist(p)) for p in level],
                   f"no SecurityPolicy targets this HTTPRoute or Gateway {gns}/{gname}")


def istio_host_match(pattern: str, host: str) -> bool:
    """Istio's string match of Operation.hosts (security/v1beta1/authorization_policy.proto: case-insensitive;
    exact, prefix ``abc*``, suffix ``*abc``, presence ``*``). ``host`` may be a route's ``*.`` wildcard: then the
    pattern must match every host the wildcard stands for."""
    p, h = pattern.lower(), host.lower()
    if p == "*":
        return True
    if h == "*":
        return False
    if h.startswith("*."):
        return p.startswith("*") and h[1:].endswith(p[1:])
    if p.startswith("*"):
        return h.endswith(p[1:])
    if p.endswith("*"):
        return h.startswith(p[:-1])
    return p == h


def _rule_hosts_cover(rule: dict, host: str) -> bool | None:
    """True: every request to ``host`` is in the rule's ``to``; False: none is; None: only some (other fields)."""
    ops = [t.get("operation") or {} for t in rule.get("to") or []]
    if not ops:
        return True
    covered = False
    for op in ops:
        if op.get("hosts") and not any(istio_host_match(p, host) for p in op["hosts"]):
            continue
        if op.get("notHosts") and any(istio_host_match(p, host) for p in op["notHosts"]):
            continue
        if set(op) - {"hosts", "notHosts"}:
            return None  # paths, methods, ports: the rule matches a part of the host's requests
        covered = True
    return covered


IP_FIELDS = ("ipBlocks", "remoteIpBlocks")
NOT_IP_FIELDS = ("notIpBlocks", "notRemoteIpBlocks")


def _deny_rule_list(rule: dict, host: str) -> list[str] | None:
    """The addresses a DENY rule leaves ``host`` open to, when it denies all its requests from everywhere else:
    ``from`` one source with only notRemoteIpBlocks (or notIpBlocks), no ``when``. None: not such a rule."""
    if rule.get("when") or _rule_hosts_cover(rule, host) is not True:
        return None
    sources = [f.get("source") or {} for f in rule.get("from") or []]
    if not sources:
        return []  # denies every request to the host
    if len(sources) != 1 or len(sources[0]) != 1 or next(iter(sources[0])) not in NOT_IP_FIELDS:
        return None
    return list(next(iter(sources[0].values())))


def _allow_rule_list(rule: dict, host: str) -> list[str] | None:
    """The addresses an ALLOW rule admits to ``host`` ([] when it matches none of its requests); None: any."""
    if _rule_hosts_cover(rule, host) is False:
        return []
    sources = [f.get("source") or {} for f in rule.get("from") or []]
    if not sources:
        return None
    lists = []
    for s in sources:  # sources are ORed, a source's fields ANDed
        blocks = [s[f] for f in IP_FIELDS if s.get(f)]
        if not blocks:
            return None
        lists.append(blocks[0] if len(blocks) == 1 else [c for c in blocks[0] if c in blocks[1]])
    return cidr_union(lists)


def istio_host_allowlist(host: str, policies: list[dict]) -> dict:
    """AllowlistEnforced for one host of a Gateway's route under the AuthorizationPolicies that target the Gateway.

    Istio (security/v1beta1/authorization_policy.proto; docs/reference/config/security/authorization-policy):
    DENY policies are evaluated first, then, when any ALLOW policy exists, a request no ALLOW rule matches is denied.
    So a DENY rule for the host from ``notRemoteIpBlocks: L`` admits only L, and an ALLOW policy admits only the
    ipBlocks/remoteIpBlocks of its rules that match the host. CUSTOM and AUDIT policies are not read.
    """
    candidates: list[tuple[str, dict]] = []
    allow = [p for p in policies if (p.get("spec") or {}).get("action", "ALLOW") == "ALLOW"]
    for p in policies:
        if (p.get("spec") or {}).get("action") != "DENY":
            continue
        for i, rule in enumerate((p.get("spec") or {}).get("rules") or []):
            lst = _deny_rule_list(rule, host)
            if lst is not None:
                candidates.append((f"AuthorizationPolicy {name_of(p)} rule {i}", enforced(lst, " (denied to all)")))
    if allow:
        lists: list[list[str]] = []
        for p in allow:
            for i, rule in enumerate((p.get("spec") or {}).get("rules") or []):
                lst = _allow_rule_list(rule, host)
                if lst is None:
                    lists = []
                    candidates.append((f"AuthorizationPolicy {name_of(p)} rule {i}",
                                       open_to_all(f"ALLOW AuthorizationPolicy {name_of(p)} rule {i} admits any "
                                                   f"address to {host}")))
                    break
                lists.append(lst)
            else:
                continue
            break
        else:
            names = ", ".join(name_of(p) for p in allow)
            candidates.append((f"ALLOW AuthorizationPolicy {names}", enforced(cidr_union(lists), " (ALLOW matches none)")))
    return _decide(candidates, f"no AuthorizationPolicy restricts host {host}")


def _admitted(c: dict) -> list:
    """The networks an Enforced reading admits ([] for "no address")."""
    if c["message"].startswith("no address"):
        return []
    return [ipaddress.ip_network(x, strict=False) for x in c["message"].split()]


def admits_no_more(c: dict, than: dict) -> bool:
    """Every address the Enforced reading ``c`` admits is one ``than`` admits too."""
    try:
        wider = _admitted(than)
        return all(any(n.version == w.version and n.subnet_of(w) for w in wider) for n in _admitted(c))
    except ValueError:
        return False


def istio_allowlist(gateway: dict, hostnames: list[str], policies: list[dict]) -> dict:
    """AllowlistEnforced of a route served on ``hostnames`` by ``gateway`` under Istio: the AuthorizationPolicies
    in the Gateway's namespace whose targetRefs name it (kind Gateway; selector-based policies are not read).
    Every hostname must be restricted to the same list, and, for a host that is not a wildcard, so must requests
    that name it with a port: Istio matches ``hosts`` against the Host header as sent, so a DENY rule naming only
    ``h`` is bypassed by ``Host: h:443`` (the rule needs ``h:*`` too; Red Hat OpenShift Service Mesh docs,
    "Required update for authorization policies")."""
    gns, gname = meta_key(gateway)
    mine = [p for p in oldest_first(policies) if meta_key(p)[0] == gns and policy_targets(p, "Gateway", gname)]
    if not mine:
        return open_to_all(f"no AuthorizationPolicy targets Gateway {gns}/{gname}")
    per_host = []
    for h in hostnames:
        c = istio_host_allowlist(h, mine)
        if c["reason"] != "Enforced":
            return {**c, "message": f"host {h}: {c['message']}"}
        if not h.startswith("*"):
            with_port = istio_host_allowlist(h + ":443", mine)
            if with_port["reason"] != "Enforced" or not admits_no_more(with_port, c):
                return {"status": "False", "reason": "OpenToAll" if with_port["reason"] == "OpenToAll" else "Differs",
                        "message": f"host {h}:443 (a client may send the port): {with_port['reason']} "
                                   f"{with_port['message']}"}
        per_host.append((h, c))
    return _decide([(f"host {h}", c) for h, c in per_host], "no hostname")


def allowlist(controller: str, route: dict, gateway: dict, section: str | None, hostnames: list[str],
              security_policies: list[dict], authorization_policies: list[dict]) -> dict:
    """The AllowlistEnforced condition (without observedGeneration) of a route's parent entry."""
    if controller == ENVOY:
        c = envoy_allowlist(route, gateway, section, security_policies)
    elif controller == ISTIO:
        c = istio_allowlist(gateway, hostnames, authorization_policies)
    else:
        c = open_to_all(f"implementation {controller}: no known policy")
    return {"type": "AllowlistEnforced", **c}


# ====================================================================== route evaluation
def parent_gateway_key(route: dict, ref: dict) -> tuple[str, str] | None:
    if ref.get("group", GROUP) != GROUP or ref.get("kind", "Gateway") != "Gateway":
        return None
    return ref.get("namespace") or route["metadata"]["namespace"], ref["name"]


def evaluate_parent(route: dict, ref: dict, gateway: dict, ns_labels: dict) -> tuple[dict, list[dict], list[str]]:
    """(Accepted condition sans generation, the listeners the route attaches to, the hostnames it is served on)."""
    rns = route["metadata"]["namespace"]
    gns = gateway["metadata"]["namespace"]
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    if ref.get("sectionName"):
        listeners = [lsn for lsn in listeners if lsn["name"] == ref["sectionName"]]
    if ref.get("port"):
        listeners = [lsn for lsn in listeners if lsn.get("port") == ref["port"]]
    if not listeners:
        what = " ".join(f"{k} {ref[k]}" for k in ("sectionName", "port") if ref.get(k))
        return cond("Accepted", False, "NoMatchingParent", f"Gateway {gns}/{gateway['metadata']['name']} has no "
                    f"listener of {what}", None), [], []
    allowed = [lsn for lsn in listeners if any(k["kind"] == "HTTPRoute" for k in listener_kinds(lsn)[0])
               and namespace_allowed(lsn.get("allowedRoutes"), rns, gns, ns_labels.get(rns))]
    if not allowed:
        return cond("Accepted", False, "NotAllowedByListeners", f"no listener of the Gateway allows HTTPRoutes from "
                    f"namespace {rns}", None), [], []
    attached, hosts = [], []
    for lsn in allowed:
        inter = hostname_intersection(lsn.get("hostname"), (route.get("spec") or {}).get("hostnames"))
        if inter:
            attached.append(lsn)
            hosts += [h for h in inter if h not in hosts]
    if not attached:
        return cond("Accepted", False, "NoMatchingListenerHostname", "no listener hostname ("
                    + ", ".join(lsn.get("hostname") or "any" for lsn in allowed) + ") matches the route's", None), [], []
    return cond("Accepted", True, "Accepted", "Route is accepted", None), attached, hosts


def grant_permits(grants: list[dict], from_ns: str, to_ns: str, name: str) -> bool:
    """A ReferenceGrant in ``to_ns`` lets HTTPRoutes of ``from_ns`` refer to Service ``name``."""
    for g in grants:
        if g["metadata"]["namespace"] != to_ns:
            continue
        spec = g.get("spec") or {}
        if not any(f.get("group") == GROUP and f.get("kind") == "HTTPRoute" and f.get("namespace") == from_ns
                   for f in spec.get("from") or []):
            continue
        if any(t.get("group", "") in ("", "core") and t.get("kind") == "Service" and t.get("name") in (None, "", name)
               for t in spec.get("to") or []):
            return True
    return False


def resolved_refs(route: dict, services: set[tuple[str, str]], grants: list[dict]) -> dict:
    """The ResolvedRefs condition (sans generation) of the route's rules' backendRefs."""
    rns = route["metadata"]["namespace"]
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if ref.get("group", "") not in ("", "core") or ref.get("kind", "Service") != "Service":
                return cond("ResolvedRefs", False, "InvalidKind",
                            f"backendRef {ref.get('group', '')}/{ref.get('kind')} {ref['name']} is not a Service", None)
            ns = ref.get("namespace") or rns
            if ns != rns and not grant_permits(grants, rns, ns, ref["name"]):
                return cond("ResolvedRefs", False, "RefNotPermitted", f"backendRef Service {ns}/{ref['name']}: no "
                            f"ReferenceGrant in {ns} allows HTTPRoutes of {rns}", None)
            if (ns, ref["name"]) not in services:
                return cond("ResolvedRefs", False, "BackendNotFound", f"Service {ns}/{ref['name']} not found", None)
    return cond("ResolvedRefs", True, "ResolvedRefs", "Resolved all the Object references for the Route", None)


def strip_times(value):
    """``value`` without lastTransitionTime (what decides whether a status changed)."""
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    return value


def stamp(conditions: list[dict], old: list[dict] | None) -> list[dict]:
    """Set lastTransitionTime: the old one where the condition's status did not change, else now."""
    old_by_type = {c.get("type"): c for c in old or []}
    t = now()
    for c in conditions:
        prev = old_by_type.get(c["type"])
        c["lastTransitionTime"] = prev["lastTransitionTime"] if prev and prev.get("status") == c["status"] and \
            prev.get("lastTransitionTime") else t
    return conditions


# ====================================================================== the controller
class GatewayStandin:
    """Watches (through ``standins``' Watch threads) and writes the statuses described in the module docstring."""

    RESOURCES = [
        ("classes", GW_API, "GatewayClass"), ("gateways", GW_API, "Gateway"), ("routes", GW_API, "HTTPRoute"),
        ("grants", GW_API, "ReferenceGrant"), ("services", "v1", "Service"), ("namespaces", "v1", "Namespace"),
        ("security", SP_API, "SecurityPolicy"), ("authz", AP_API, "AuthorizationPolicy"),
    ]

    def __init__(self, standins):
        self.s = standins
        self.watches = {attr: standins._watch(api, kind, self.sync) for attr, api, kind in self.RESOURCES}

    def start(self) -> None:
        for w in self.watches.values():
            w.start()

    def cache(self, attr: str) -> list[dict]:
        return list(self.watches[attr].cache.values())

    def sync(self) -> None:
        if not all(w.ready.is_set() for w in self.watches.values()):
            return  # until every list has arrived (a status from half the picture would flap)
        with self.s.lock:
            classes = {c["metadata"]["name"]: c for c in self.cache("classes")
                       if (c.get("spec") or {}).get("controllerName") in CONTROLLERS}
            gateways = {meta_key(g): g for g in self.cache("gateways")}
            ours = {k: g for k, g in gateways.items() if g["spec"].get("gatewayClassName") in classes}
            ns_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in self.cache("namespaces")}
            services = {meta_key(s) for s in self.cache("services")}
            grants, sps, aps = self.cache("grants"), self.cache("security"), self.cache("authz")
            attached: dict[tuple[str, str, str], int] = {}
            for c in classes.values():
                self.sync_class(c)
            for route in self.cache("routes"):
                self.sync_route(route, gateways, ours, classes, ns_labels, services, grants, sps, aps, attached)
            for k, g in ours.items():
                self.sync_gateway(g, attached)
            routes = {meta_key(r): r for r in self.cache("routes")}
            for p in sps:
                self.sync_security_policy(p, routes, ours, classes, sps)

    def _write(self, api_version: str, kind: str, obj: dict, status: dict) -> None:
        """Merge-patch ``status``; keep the answer in the cache, so that a sync before the watch event does
        not write the same status again."""
        from kubernetes.client.exceptions import ApiException

        res = self.s.client.resources.get(api_version=api_version, kind=kind)
        ns, name = meta_key(obj)
        try:
            out = res.status.patch(body={"status": status}, name=name, namespace=ns or None,
                                   content_type="application/merge-patch+json")
        except ApiException as e:
            # 404: deleted meanwhile. Anything else (e.g. a status the CRD's schema refuses): say so and go on with
            # the other objects (raising would re-list the watch and try again every second).
            if e.status != 404:
                log.warning("%s %s/%s: status not written: %s %s", kind, ns, name, e.status, (e.body or "")[:500])
            return
        attr = next(a for a, _api, k in self.RESOURCES if k == kind)
        self.watches[attr].cache[(ns, name)] = out.to_dict()

    def sync_class(self, gc: dict) -> None:
        gen = gc["metadata"].get("generation")
        old = (gc.get("status") or {}).get("conditions")
        want = [cond("Accepted", True, "Accepted", "Handled by the csc-mlflow test cluster's stand-in", gen),
                cond("SupportedVersion", True, "SupportedVersion", "Gateway API v1.6.3", gen)]
        if strip_times(want) != strip_times(old or []):
            log.info("gatewayclass %s: Accepted", gc["metadata"]["name"])
            self._write(GW_API, "GatewayClass", gc, {"conditions": stamp(want, old)})

    def sync_gateway(self, gw: dict, attached: dict) -> None:
        gen = gw["metadata"].get("generation")
        have = gw.get("status") or {}
        old_listeners = {lsn.get("name"): lsn for lsn in have.get("listeners") or []}
        listeners = []
        for lsn in gw["spec"].get("listeners") or []:
            kinds, bad = listener_kinds(lsn)
            conds = [cond("Accepted", True, "Accepted", "Listener is accepted", gen),
                     cond("Programmed", True, "Programmed", "Listener is programmed (no data path: test cluster)", gen),
                     cond("ResolvedRefs", not bad, "ResolvedRefs" if not bad else "InvalidRouteKinds",
                          "Resolved all references" if not bad else f"unsupported kinds {bad}", gen),
                     cond("Conflicted", False, "NoConflicts", "No conflicts", gen)]
            listeners.append({"name": lsn["name"], "supportedKinds": kinds,
                              "attachedRoutes": attached.get((*meta_key(gw), lsn["name"]), 0),
                              "conditions": stamp(conds, (old_listeners.get(lsn["name"]) or {}).get("conditions"))})
        want = {"addresses": [{"type": "IPAddress", "value": GATEWAY_ADDRESS}],
                "conditions": stamp([cond("Accepted", True, "Accepted", "Gateway is accepted", gen),
                                     cond("Programmed", True, "Programmed",
                                          "Gateway is programmed (no data path: test cluster)", gen)],
                                    have.get("conditions")),
                "listeners": listeners}
        if strip_times(want) != strip_times({k: have.get(k) for k in want}):
            log.info("gateway %s/%s: %s", *meta_key(gw),
                     ", ".join(f"{lsn['name']}={lsn['attachedRoutes']}" for lsn in listeners))
            self._write(GW_API, "Gateway", gw, want)

    def sync_route(self, route, gateways, ours, classes, ns_labels, services, grants, sps, aps, attached) -> None:
        gen = route["metadata"].get("generation")
        have = (route.get("status") or {}).get("parents") or []
        keep = [p for p in have if p.get("controllerName") not in CONTROLLERS + (STANDIN,)]
        want = []
        resolved = None
        for ref in (route.get("spec") or {}).get("parentRefs") or []:
            gkey = parent_gateway_key(route, ref)
            if gkey is None:
                continue
            gw = gateways.get(gkey)
            if gw is None:
                controller = STANDIN
                conds = [cond("Accepted", False, "NoMatchingParent", f"Gateway {gkey[0]}/{gkey[1]} not found", gen)]
            elif gkey not in ours:
                continue  # another implementation's Gateway (or no class yet): not ours to write
            else:
                controller = classes[gw["spec"]["gatewayClassName"]]["spec"]["controllerName"]
                accepted, listeners, hosts = evaluate_parent(route, ref, gw, ns_labels)
                for lsn in listeners:
                    attached[(*gkey, lsn["name"])] = attached.get((*gkey, lsn["name"]), 0) + 1
                if resolved is None:
                    resolved = resolved_refs(route, services, grants)
                conds = [accepted, dict(resolved),
                         allowlist(controller, route, gw, ref.get("sectionName"), hosts or ["*"], sps, aps)]
                for c in conds:
                    c["observedGeneration"] = gen
            old = next((p for p in have if p.get("parentRef") == ref and p.get("controllerName") == controller), {})
            want.append({"parentRef": ref, "controllerName": controller,
                         "conditions": stamp(conds, old.get("conditions"))})
        parents = keep + want
        if strip_times(parents) != strip_times(have):
            log.info("httproute %s/%s: %s", *meta_key(route), "; ".join(
                f"{p['parentRef']['name']}: " + " ".join(f"{c['type']}={c['reason']}" for c in p["conditions"])
                for p in want))
            self._write(GW_API, "HTTPRoute", route, {"parents": parents})

    def sync_security_policy(self, policy, routes, ours, classes, sps) -> None:
        """status.ancestors[] of a SecurityPolicy, as Envoy Gateway writes them (see the module docstring)."""
        gen = policy["metadata"].get("generation")
        pns = policy["metadata"]["namespace"]
        have = (policy.get("status") or {}).get("ancestors") or []
        keep = [a for a in have if a.get("controllerName") != ENVOY]
        envoy_gws = {k for k, g in ours.items() if classes[g["spec"]["gatewayClassName"]]["spec"]["controllerName"] == ENVOY}
        entries: list[tuple[dict, list[dict]]] = []
        for t in _targets(policy):
            if t.get("group", GROUP) != GROUP:
                continue
            rivals = oldest_first([p for p in sps if meta_key(p)[0] == pns
                                   and policy_targets(p, t.get("kind"), t.get("name"), t.get("sectionName"))])
            first = not rivals or meta_key(rivals[0]) == meta_key(policy)
            accepted = cond("Accepted", True, "Accepted", "Policy has been accepted.", gen) if first else cond(
                "Accepted", False, "Conflicted", f"Unable to target {t.get('kind')} {pns}/{t.get('name')}, another "
                "SecurityPolicy has already attached to it", gen)
            if t.get("kind") == "HTTPRoute":
                route = routes.get((pns, t.get("name")))
                for ref in ((route or {}).get("spec") or {}).get("parentRefs") or []:
                    gkey = parent_gateway_key(route, ref)
                    if gkey in envoy_gws:
                        anc = {"group": GROUP, "kind": "Gateway", "namespace": gkey[0], "name": gkey[1]}
                        if ref.get("sectionName"):
                            anc["sectionName"] = ref["sectionName"]
                        entries.append((anc, [dict(accepted)]))
            elif t.get("kind") == "Gateway" and (pns, t.get("name")) in envoy_gws:
                anc = {"group": GROUP, "kind": "Gateway", "namespace": pns, "name": t["name"]}
                if t.get("sectionName"):
                    anc["sectionName"] = t["sectionName"]
                conds = [dict(accepted)]
                overriding = sorted(f"{rns}/{rname}" for (rns, rname), r in routes.items()
                                    if any(parent_gateway_key(r, ref) == (pns, t["name"])
                                           for ref in (r.get("spec") or {}).get("parentRefs") or [])
                                    and any(meta_key(p)[0] == rns and policy_targets(p, "HTTPRoute", rname) for p in sps))
                if overriding and first:
                    conds.append(cond("Overridden", True, "Overridden", "This policy is being overridden by other "
                                      f"securityPolicies for these routes: [{' '.join(overriding)}]", gen))
                entries.append((anc, conds))
        want = []
        for anc, conds in entries[:16]:
            old = next((a for a in have if a.get("ancestorRef") == anc and a.get("controllerName") == ENVOY), {})
            want.append({"ancestorRef": anc, "controllerName": ENVOY, "conditions": stamp(conds, old.get("conditions"))})
        ancestors = keep + want
        if strip_times(ancestors) != strip_times(have):
            log.info("securitypolicy %s/%s: %d ancestors", *meta_key(policy), len(want))
            self._write(SP_API, "SecurityPolicy", policy, {"ancestors": ancestors})
