"""Upgrade in place: a stack deployed by an old commit's collection, then by this checkout's.

The requirement (splitting roles/mlflow into one role per service): "a stack deployed by the
current main and then re-run with the new roles keeps every object name, every Secret value and
all data; the run lists what changed". The test deploys with the playbooks and role of OLD_COMMIT
(``git archive``, run as the collection csc.mlflow from a temporary directory), records the
stack, runs this checkout's deploy.yml with the same inventory and variables, and compares:

* the objects (Kind/name): none gone, none new but those in ALLOWED_NEW;
* PVCs and Secrets are the same objects (uid), none being deleted: kwok runs no PostgreSQL or
  MinIO, so "the data is kept" means the volumes' claims were never re-created;
* every Secret value is the same; only the htpasswd file may be hashed again, and then every
  user's password must still verify against it (module_utils/htpasswd.py);
* the summary's ``Changed objects:`` / ``Changed Secrets:`` lines name exactly the objects the
  run wrote (its snapshot stamp moved);

and then a second run of this checkout changes nothing. The namespace is of the session's
profile (``rahti`` by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from deployment import (
    DERIVED_KINDS,
    collection_at,
    commit_missing,
    default_vars,
    deployment_ready,
    get,
    htpasswd_utils,
    rerun_changes_nothing,
    secret_values,
    summary_changes,
    wait_until,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# main before the split into one role per service: the single role roles/mlflow (0f9eae8).
OLD_COMMIT = "0f9eae87bc1228bed3d63961c7c7b361ade733af"
APP = "mlup"
# Objects ("Kind/name") this checkout may add to a stack OLD_COMMIT deployed. Each one is a
# decision: name it here with the reason.
ALLOWED_NEW: frozenset[str] = frozenset({
    # The AI Gateway's key-encryption passphrase (MLFLOW_CRYPTO_KEK_PASSPHRASE/_VERSION): a Secret of
    # its own, generated on the first run that knows it and kept from then on (issue 12).
    f"Secret/{APP}-crypto",
    # The public pre-signed transfer path to the in-cluster MinIO (issue 11).
    f"Service/{APP}-presigned",
    f"Route/{APP}-presigned",
    # Every pod fenced (issue 23): the tracking and Models pods' own policies, and the one that isolates every pod.
    f"NetworkPolicy/{APP}",
    f"NetworkPolicy/{APP}-models",
    f"NetworkPolicy/{APP}-deny-ingress",
    # The Versity S3 gateway (issue 23): runs beside MinIO, which stays the store of this stack until
    # configure_artifact_store.yml moves it; its admin key and MLflow's signing key.
    f"Deployment/{APP}-versitygw",
    f"Service/{APP}-versitygw",
    f"PersistentVolumeClaim/{APP}-versitygw",
    f"NetworkPolicy/{APP}-versitygw",
    f"NetworkPolicy/{APP}-versitygw-admin",
    f"Secret/{APP}-versitygw",
    f"Secret/{APP}-versitygw-client",
    # MLflow Models' sidecar configuration in its own role's ConfigMap (issue 24: each service owns its config;
    # it was key models.conf of ConfigMap <app>-nginx).
    f"ConfigMap/{APP}-models-nginx",
})
# The Job that gives the signing key its bucket is named after the key's hash.
ALLOWED_NEW_PREFIXES = (f"Job/{APP}-versitygw-client-",)
# Kinds whose writes the summary's `Changed objects:` line names (Secrets: `Changed Secrets:`).
SUMMARY_KINDS = ("Deployment", "ConfigMap", "Service", "NetworkPolicy", "Route", "Ingress", "PersistentVolumeClaim")
# The Secret with NGINX's htpasswd file: its hashes may be renewed, the passwords may not. known-logins.map
# (the valid basic-auth headers, for the failed-login limit: issue 23) is derived from the same passwords.
HTPASSWD_SECRET = f"{APP}-htpasswd"
HTPASSWD_RENEWABLE_KEYS = ("htpasswd", "fingerprint", "known-logins.map")


@dataclass
class StackRecord:
    """What a namespace holds after a run."""

    versions: dict[str, str]  # "Kind/name" -> its snapshot's written stamp (pods, ReplicaSets... left out)
    uids: dict[str, str]  # "Secret/name", "PersistentVolumeClaim/name" -> uid
    deleting: set[str]  # of those, the ones with a deletionTimestamp
    secrets: dict[str, dict[str, str]]  # name -> decoded data
    configmaps: dict[str, dict[str, str]]  # name -> data


def record_stack(cluster, ns: str) -> StackRecord:
    versions = {k: v[0] for k, v in cluster.snapshot(ns).items() if not k.startswith(DERIVED_KINDS)}
    held = [(kind, o) for kind in ("Secret", "PersistentVolumeClaim") for o in get(cluster, kind, ns)]
    return StackRecord(
        versions=versions,
        uids={f"{kind}/{o['metadata']['name']}": o["metadata"]["uid"] for kind, o in held},
        deleting={f"{kind}/{o['metadata']['name']}" for kind, o in held if o["metadata"].get("deletionTimestamp")},
        secrets={s["metadata"]["name"]: secret_values(s) for s in get(cluster, "Secret", ns)},
        configmaps={c["metadata"]["name"]: c.get("data") or {} for c in get(cluster, "ConfigMap", ns)},
    )


def wait_for_deployments(cluster, ns: str) -> None:
    """Every Deployment of the namespace rolled out (what the record compares must be at rest)."""
    def not_ready():
        return [d["metadata"]["name"] for d in get(cluster, "Deployment", ns)
                if not deployment_ready(cluster, ns, d["metadata"]["name"])]
    try:
        wait_until(lambda: not not_ready(), 60, what="every Deployment ready")
    except AssertionError as e:
        raise AssertionError(f"{e}; not ready: {not_ready()}") from None


# --------------------------------------------------------------------------- comparisons
# Each returns a list of problems, one readable line each (empty: as required).


def object_set_problems(before: StackRecord, after: StackRecord) -> list[str]:
    gone = sorted(set(before.versions) - set(after.versions))
    new = sorted(k for k in set(after.versions) - set(before.versions) - ALLOWED_NEW
                 if not k.startswith(ALLOWED_NEW_PREFIXES))
    return ([f"{k}: deployed by {OLD_COMMIT[:7]}, gone after the upgrade" for k in gone]
            + [f"{k}: new after the upgrade and not in ALLOWED_NEW" for k in new])


def recreated_problems(before: StackRecord, after: StackRecord) -> list[str]:
    """PVCs and Secrets must be the very same objects (a new uid means deleted and created again)."""
    out = [f"{k}: re-created (uid {before.uids[k]} -> {after.uids[k]})"
           for k in sorted(set(before.uids) & set(after.uids)) if before.uids[k] != after.uids[k]]
    return out + [f"{k}: being deleted after the upgrade" for k in sorted(after.deleting - before.deleting)]


def htpasswd_problems(before: StackRecord, after: StackRecord) -> list[str]:
    """The htpasswd file may be hashed again: same users, and every user's password verifies."""
    old, new = before.secrets.get(HTPASSWD_SECRET), after.secrets.get(HTPASSWD_SECRET)
    if old is None or new is None or old == new:
        return []
    out = []
    ht = htpasswd_utils()
    old_users = sorted(dict(ht.parse_htpasswd(old.get("htpasswd", ""))))
    entries = dict(ht.parse_htpasswd(new.get("htpasswd", "")))
    if sorted(entries) != old_users:
        out.append(f"Secret/{HTPASSWD_SECRET}: users {old_users} -> {sorted(entries)}")
    models = after.secrets.get(f"{APP}-models-auth", {})
    passwords = {**after.secrets.get(f"{APP}-users", {}),
                 models.get("MLFLOW_TRACKING_USERNAME", ""): models.get("MLFLOW_TRACKING_PASSWORD", "")}
    for user, hashed in entries.items():
        if user not in passwords:
            out.append(f"Secret/{HTPASSWD_SECRET}: no known password for user {user}")
        elif not ht.verify_password(passwords[user], hashed):
            out.append(f"Secret/{HTPASSWD_SECRET}: {user}'s password does not verify against the new hash")
    return out


def secret_problems(before: StackRecord, after: StackRecord) -> list[str]:
    """Every Secret value as it was (the htpasswd hashes: htpasswd_problems)."""
    out = []
    for name, data in sorted(before.secrets.items()):
        now = after.secrets.get(name)
        if now is None:
            continue  # object_set_problems reports it
        if name == HTPASSWD_SECRET:
            data = {k: v for k, v in data.items() if k not in HTPASSWD_RENEWABLE_KEYS}
            now = {k: v for k, v in now.items() if k not in HTPASSWD_RENEWABLE_KEYS}
        out += [f"Secret/{name}[{k}]: {'removed' if k not in now else 'added' if k not in data else 'value changed'}"
                for k in sorted(set(data) | set(now)) if data.get(k) != now.get(k)]
    return out + htpasswd_problems(before, after)


def summary_problems(before: StackRecord, after: StackRecord, stdout: str) -> list[str]:
    """The summary names exactly the objects the run wrote: created, or written since."""
    listed = summary_changes(stdout)
    out = [f"the summary has no `{label}` line" for key, label in
           (("objects", "Changed objects:"), ("secrets", "Changed Secrets:")) if key not in listed]
    written = {k for k, version in after.versions.items() if before.versions.get(k) != version}
    objects = {k for k in written if k.split("/", 1)[0] in SUMMARY_KINDS}
    secrets = {k.split("/", 1)[1] for k in written if k.startswith("Secret/")}

    def cm_detail(key):
        name = key.split("/", 1)[1]
        if not key.startswith("ConfigMap/") or name not in before.configmaps or name not in after.configmaps:
            return ""
        b, a = before.configmaps[name], after.configmaps[name]
        keys = sorted(k for k in set(b) | set(a) if b.get(k) != a.get(k))
        return f" (data keys changed: {', '.join(keys) or 'none'})"

    if "objects" in listed:
        out += [f"{k}: written by the run{cm_detail(k)}, not in `Changed objects:`"
                for k in sorted(objects - set(listed["objects"]))]
        out += [f"{k}: in `Changed objects:` but not written since the old run"
                for k in sorted(set(listed["objects"]) - written)]
    if "secrets" in listed:
        out += [f"Secret/{n}: written by the run, not in `Changed Secrets:`" for n in sorted(secrets - set(listed["secrets"]))]
        out += [f"Secret/{n}: in `Changed Secrets:` but not written since the old run"
                for n in sorted(set(listed["secrets"]) - secrets)]
    return out


# --------------------------------------------------------------------------- the test


def test_stack_of_old_commit_upgrades_in_place(cluster, make_namespace, tmp_path):
    missing = commit_missing(OLD_COMMIT)
    if missing:
        pytest.fail(f"cannot build the collection of the old commit: {missing}", pytrace=False)
    old_collection = collection_at(OLD_COMMIT, tmp_path)
    ns = make_namespace("it-upgrade")
    v = default_vars(ns, APP)  # alice with a password, bob generated, defaults otherwise

    old = cluster.run_playbook("deploy.yml", v, collection=old_collection)
    assert old.rc == 0, f"deploy.yml of {OLD_COMMIT[:7]} failed (nothing to upgrade):\n{old}"
    wait_for_deployments(cluster, ns)
    before = record_stack(cluster, ns)
    volumes = {f"PersistentVolumeClaim/{APP}-postgresql", f"PersistentVolumeClaim/{APP}-minio"}
    assert before.uids.keys() >= volumes, f"the old deploy left no volumes to keep: {sorted(before.uids)}"

    new = cluster.run_playbook("deploy.yml", v)
    assert new.rc == 0, f"deploy.yml of this checkout failed on the stack {OLD_COMMIT[:7]} deployed:\n{new}"
    wait_for_deployments(cluster, ns)
    after = record_stack(cluster, ns)

    problems = (object_set_problems(before, after) + recreated_problems(before, after)
                + secret_problems(before, after) + summary_problems(before, after, new.stdout))
    if problems:
        pytest.fail(f"the stack deployed by {OLD_COMMIT[:7]} did not upgrade in place:\n- " + "\n- ".join(problems)
                    + f"\nthe upgrade run: recap {new.recap}, summary {json.dumps(summary_changes(new.stdout))}",
                    pytrace=False)

    rerun_changes_nothing(cluster, ns, v)
