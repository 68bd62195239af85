# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The csc.mlflow filters of the stack's way in (mlflow_exposure) and the Gateway API checks.

Thin wrappers around plugins/plugin_utils/gateway.py; each filter is documented in plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.csc.mlflow.plugins.plugin_utils import gateway
from ansible_collections.csc.mlflow.plugins.plugin_utils.plain import call_filter


def exposure(requested, openshift, live):
    return call_filter("exposure", gateway.exposure, requested, openshift, live)


def exposure_problems(exposure_, openshift, gateway_name="", route_host="", implementation="", whitelist=None,
                      whitelist_unenforced=False):
    return call_filter("exposure_problems", gateway.exposure_problems, exposure_, openshift, gateway_name, route_host,
                       implementation, whitelist, whitelist_unenforced)


def gateway_check(read_result, gateway_namespace, gateway_name, route_namespace, hosts, section_name="",
                  allow_plain_http=False):
    def check(result, *args):
        return gateway.gateway_check(gateway.gateway_read(result), *args)

    return call_filter("gateway_check", check, read_result, gateway_namespace, gateway_name, route_namespace, hosts,
                       section_name, allow_plain_http)


def gateway_duration(value):
    return call_filter("gateway_duration", gateway.gateway_duration, value)


def policy_cidrs(whitelist):
    return call_filter("policy_cidrs", gateway.policy_cidrs, whitelist)


def exposure_namespace_selector(exposure_, ingress_selector, gateway_selector=None, implementation="",
                                gateway_namespace=""):
    def selector(exp, ingress, given, impl, ns):
        return gateway.exposure_namespace_selector(exp, ingress, gateway.gateway_namespace_selector(given, impl, ns))

    return call_filter("exposure_namespace_selector", selector, exposure_, ingress_selector, gateway_selector,
                       implementation, gateway_namespace)


def public_tls(exposure_, ingress_tls_secret="", gateway_tls=True):
    return call_filter("public_tls", gateway.public_tls, exposure_, ingress_tls_secret, gateway_tls)


def gateway_namespaces(httproutes, namespace):
    return call_filter("gateway_namespaces", gateway.gateway_namespaces, httproutes, namespace)


class FilterModule(object):
    def filters(self):
        return {
            "exposure": exposure,
            "exposure_problems": exposure_problems,
            "gateway_check": gateway_check,
            "gateway_duration": gateway_duration,
            "policy_cidrs": policy_cidrs,
            "exposure_namespace_selector": exposure_namespace_selector,
            "public_tls": public_tls,
            "gateway_namespaces": gateway_namespaces,
        }
