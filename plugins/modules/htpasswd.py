#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: htpasswd
short_description: Build htpasswd content for NGINX basic authentication, idempotently
version_added: 0.1.0
author:
  - CSC MLflow collection maintainers (@CSCfi)
description:
  - Computes the content of an htpasswd file from a list of users and passwords and the
    current content (for example decoded from an existing Secret), ready to be put in a
    Secret that an NGINX C(auth_basic_user_file) reads.
  - Idempotent by verifying each password against its existing entry. An entry whose
    password still verifies and whose hash already uses the requested O(scheme) and cost
    is kept byte for byte, so the Secret does not change and no pod restarts. A changed
    password, a new user, a removed user, or a changed scheme or cost changes exactly that
    entry.
  - Runs on the controller (an action plugin) and touches no file. Passwords are never
    returned or logged; the diff names users and whether their entry changed, never a hash.
  - Hashing and verifying are done in Python (C(bcrypt) through the bcrypt library;
    SHA-512-crypt and APR1 implemented in the collection), so neither C(htpasswd), passlib
    nor Python's deprecated C(crypt) module is needed.
options:
  users:
    description:
      - The users, in the order their entries are written. Users in O(existing) but not
        here are removed. An empty list gives empty content (nobody gets in).
      - A user name may not be empty, contain C(:), whitespace or control characters, or
        start with C(#) (NGINX would read the line as a comment).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      password:
        description:
          - Password in clear text; must not be empty. With O(scheme=bcrypt) at most 72
            bytes (bcrypt ignores the rest).
        type: str
        required: true
      scheme:
        description:
          - This user's hash scheme, instead of O(scheme). For example a cheap
            C(sha512_crypt) for long generated passwords (NGINX verifies the hash on every
            request) and C(bcrypt) for passwords people chose.
        type: str
        choices: [bcrypt, sha512_crypt, apr1]
  existing:
    description:
      - The current htpasswd content (may be empty). Blank lines and C(#) comments are
        ignored; the first entry of a duplicated user wins, as in NGINX.
    type: str
    default: ""
  scheme:
    description:
      - Hash scheme of new entries.
      - V(bcrypt) (written with the C($2y$) prefix NGINX and Apache expect) is the default.
      - V(sha512_crypt) (C($6$)) is a good choice for passwords longer than 72 bytes.
      - V(apr1) (Apache MD5, C($apr1$)) only for old proxies; it is weak.
      - An existing entry in another scheme is re-hashed.
    type: str
    choices: [bcrypt, sha512_crypt, apr1]
    default: bcrypt
  bcrypt_cost:
    description:
      - bcrypt cost factor (4-31). NGINX verifies the hash on B(every) request, so the cost
        is paid per request, not per login. Measured with NGINX in front of MLflow, cost 5
        took about 4 ms per request, cost 10 about 57 ms and cost 12 (the bcrypt library's
        default) about 210 ms, which cut metric logging to about 5 requests per second.
        Cost 5 keeps verification to a few milliseconds; the passwords should be long and
        random (the role generates 32 characters), which is what protects them.
      - Existing bcrypt entries with another cost are re-hashed.
    type: int
    default: 5
  sha512_rounds:
    description:
      - Rounds for V(sha512_crypt) (1000-999999999). 5000 is the SHA-crypt default and
        verifies in about 3.6 ms per request in NGINX. Existing entries with other rounds
        are re-hashed.
    type: int
    default: 5000
  min_password_length:
    description: Fail when a password is shorter than this many characters (0 = no minimum).
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Computes the result and reports C(changed); nothing is written anyway.
  diff_mode:
    support: full
    description: Shows user names and whether each entry changed; never hashes or passwords.
  action:
    support: full
    description: Runs as an action plugin on the controller.
requirements:
  - bcrypt (Python library, on the controller, for O(scheme=bcrypt) and for verifying existing bcrypt entries)
notes:
  - Debian's NGINX (libcrypt) accepts C($2y$), C($2b$), C($2a$), C($apr1$), C($1$), C($5$),
    C($6$), C({SHA}) and C({PLAIN}) entries; an C($argon2id$) entry silently never matches.
  - The returned O(existing)-derived RV(content) carries password hashes; put C(no_log) on
    tasks that print or store it.
seealso:
  - name: NGINX auth_basic
    description: The module that reads the htpasswd file.
    link: https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html
"""

EXAMPLES = r"""
- name: Read the current htpasswd Secret
  kubernetes.core.k8s_info:
    kind: Secret
    namespace: my-project
    name: mlflow-htpasswd
  register: current
  no_log: true

- name: Compute the htpasswd content (unchanged passwords keep their hash)
  csc.mlflow.htpasswd:
    users:
      - name: alice
        password: "{{ alice_password }}"
      - name: bob
        password: "{{ bob_password }}"
    existing: "{{ (current.resources[0].data.htpasswd | default('') | b64decode) if current.resources else '' }}"
    min_password_length: 12
  register: htpasswd
  no_log: true

- name: Store it
  kubernetes.core.k8s:
    state: present
    definition:
      apiVersion: v1
      kind: Secret
      metadata:
        name: mlflow-htpasswd
        namespace: my-project
      stringData:
        htpasswd: "{{ htpasswd.content }}"
  no_log: true

- name: SHA-512-crypt for a proxy without bcrypt support
  csc.mlflow.htpasswd:
    users: "{{ proxy_users }}"
    scheme: sha512_crypt
  register: legacy
  no_log: true
"""

RETURN = r"""
content:
  description:
    - The htpasswd content, one C(name:hash) line per user in the order of O(users), each
      line newline-terminated; empty when O(users) is empty. Contains hashes, never passwords.
  returned: success
  type: str
  sample: "alice:$2y$05$8ZzBv3ZQ9rR0o8hY2C5b2e8m1lqgR1rW2m3tq2tq9p6B8lG0pQ2aW\n"
users:
  description: The user names written, in order.
  returned: success
  type: list
  elements: str
  sample: [alice, bob]
added:
  description: Users that had no entry before.
  returned: success
  type: list
  elements: str
  sample: [bob]
updated:
  description: Users whose entry was re-hashed (changed password, scheme or cost, or an entry that did not verify).
  returned: success
  type: list
  elements: str
  sample: [alice]
removed:
  description: Users in O(existing) that are not in O(users).
  returned: success
  type: list
  elements: str
  sample: [carol]
unchanged:
  description: Users whose existing entry was kept byte for byte.
  returned: success
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.csc.mlflow.plugins.module_utils.htpasswd import (
    ARGUMENT_SPEC,
    BCRYPT_IMPORT_ERROR,
    HtpasswdError,
    MissingBcrypt,
    diff_of,
    run,
)


def main():
    # The action plugin of the same name does the work on the controller; this entry
    # point only runs when the module is executed directly (for example by ansible-test).
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module.params)
    except MissingBcrypt:
        module.fail_json(msg=missing_required_lib("bcrypt"), exception=str(BCRYPT_IMPORT_ERROR))
    except HtpasswdError as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        result["diff"] = diff_of(result, module.params["existing"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
