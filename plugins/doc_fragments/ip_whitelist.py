# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options shared by the ip_whitelist filter and the route_whitelist module.
    DOCUMENTATION = r"""
options:
  collapse:
    description:
      - Merge overlapping and adjacent networks (for example C(10.0.0.0/25) and
        C(10.0.0.128/25) become C(10.0.0.0/24), and C(10.0.0.7) inside
        C(10.0.0.0/24) disappears) before counting entries against O(max_entries).
      - Without it, only exact duplicates (after host bits are cleared) are dropped.
    type: bool
    default: false
  max_entries:
    description:
      - The most entries the result may have; more is an error that tells you to set
        O(collapse). C(0) (the default) means no limit.
      - The OpenShift docs name 61 entries as the Route maximum, but the router has written
        longer lists to a file since 2018, so no limit is applied unless you ask for one.
    type: int
notes:
  - Entries are IPv4 or IPv6 addresses or CIDRs, as a list or as one string with any
    common separator (spaces, newlines, commas, semicolons, C(|)).
  - Normalisation clears host bits (C(10.0.0.5/24) becomes C(10.0.0.0/24)), writes a
    single host as a bare address (C(192.0.2.1/32) becomes C(192.0.2.1)), compresses
    IPv6, drops duplicates and sorts IPv4 before IPv6.
  - Every bad entry (C(10.0.0.0/33), C(1.2.3), a host name, an IPv6 zone) is named in
    one error.
"""
