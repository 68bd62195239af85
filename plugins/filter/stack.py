# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The csc.mlflow filters that compute the stack's state, credentials and checks.

Thin wrappers around plugins/plugin_utils (stack_state, kinds, credentials, inputs, tracking_config,
settings, summary); each filter is documented in plugins/filter/<name>.yml. Arguments are copied to
plain Python values first (Ansible 2.19 passes lazy containers).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.csc.mlflow.plugins.plugin_utils import backup, credentials, inputs, kinds, settings, stack_state, summary
from ansible_collections.csc.mlflow.plugins.plugin_utils.plain import call_filter
from ansible_collections.csc.mlflow.plugins.plugin_utils.tracking_config import presigned_path as _presigned_path
from ansible_collections.csc.mlflow.plugins.plugin_utils.tracking_config import tracking_config as _tracking_config
from ansible_collections.csc.mlflow.plugins.plugin_utils.tracking_config import tracking_replicas as _tracking_replicas


def _params(name, values, kwargs):
    # Filters whose arguments are many variables take them as keywords, or as a dict piped in.
    if values is not None and not hasattr(values, "items"):
        raise AnsibleFilterError("%s: the input must be a dict of arguments (or {})" % name)
    params = dict(values or {})
    params.update(kwargs)
    return params


def live_index(objects):
    return call_filter("live_index", stack_state.index_live, objects)


def stack_state_filter(live, names, version_annotation):
    return call_filter("stack_state", stack_state.current_state, live, names, version_annotation)


def route_hosts(given, live_hosts, applied_result, names):
    return call_filter("route_hosts", stack_state.route_hosts, given, live_hosts, applied_result, names)


def obsolete_objects(live, objects):
    return call_filter("obsolete_objects", stack_state.obsolete_objects, live, objects)


def object_refs(objects, api_version=None, kind=None, namespace=None):
    return call_filter("object_refs", stack_state.object_refs, objects, api_version, kind, namespace)


def undeploy_kinds(openshift, has_builds=False, has_monitoring=False, purge=False, api_groups=None):
    return call_filter("undeploy_kinds", kinds.undeploy_kinds, openshift, has_builds, has_monitoring, purge, api_groups)


def artifact_store(request, state_config, minio_endpoint, minio_bucket, allas_endpoint, versitygw_endpoint=""):
    return call_filter("artifact_store", credentials.artifact_store, request, state_config, minio_endpoint,
                       minio_bucket, allas_endpoint, versitygw_endpoint)


def artifact_store_problems(store, s3_key, s3_secret, artifact_mode="proxied", unfiltered_route_accepted=False):
    return call_filter("artifact_store_problems", credentials.artifact_store_problems, store, s3_key, s3_secret,
                       artifact_mode, unfiltered_route_accepted)


def stack_credentials(live, names, users, models_user, store, database_uri, s3_access_key_id, s3_secret_access_key,
                      password_length, generated_annotation, htpasswd_scheme, htpasswd_generated_scheme, bcrypt_cost,
                      sha512_rounds, rotate_signing_key=False):
    return call_filter("stack_credentials", credentials.stack_credentials, live, names, users, models_user, store, database_uri,
                       s3_access_key_id, s3_secret_access_key, password_length, generated_annotation, htpasswd_scheme,
                       htpasswd_generated_scheme, bcrypt_cost, sha512_rounds, rotate_signing_key)


def secrets_plan(secrets, live):
    return call_filter("secrets_plan", credentials.secrets_plan, secrets, live)


def users(value, kept=None):
    return call_filter("users", inputs.normalise_users, value, kept)


def users_change(users, action, names, password=""):
    return call_filter("users_change", inputs.users_change, users, action, names, password)


def input_problems(values=None, **kwargs):
    return call_filter("input_problems", inputs.input_problems, **_params("input_problems", values, kwargs))


def deploy_problems(values=None, **kwargs):
    return call_filter("deploy_problems", inputs.deploy_problems, **_params("deploy_problems", values, kwargs))


def ingress_problems(objects, plain_http_accepted=False, whitelist_unenforced_accepted=False):
    return call_filter("ingress_problems", inputs.ingress_problems, objects, plain_http_accepted, whitelist_unenforced_accepted)


def tracking_problems(values=None, **kwargs):
    return call_filter("tracking_problems", inputs.tracking_problems, **_params("tracking_problems", values, kwargs))


def stack_size_problems(values=None, **kwargs):
    return call_filter("stack_size_problems", inputs.stack_size_problems, **_params("stack_size_problems", values, kwargs))


def artifact_store_input_problem(values=None, **kwargs):
    return call_filter("artifact_store_input_problem", inputs.artifact_store_input_problem,
                       **_params("artifact_store_input_problem", values, kwargs))


def tracking_replicas(replicas, autoscale_max_replicas=0, current=0):
    return call_filter("tracking_replicas", _tracking_replicas, replicas, autoscale_max_replicas, current)


def presigned_path(enabled, artifact_mode, store, openshift, route_host=""):
    return call_filter("presigned_path", _presigned_path, enabled, artifact_mode, store, openshift, route_host)


def tracking_config(store, **settings):
    # Named arguments only: a new server setting is a parameter of plugin_utils/tracking_config.py, not of this wrapper.
    return call_filter("tracking_config", _tracking_config, store, **settings)


def settings_record(variables, allowed, users, whitelist, external_database, specs=None, chosen=None):
    return call_filter("settings_record", settings.settings_record, variables, allowed, users, whitelist,
                       external_database, specs, chosen)


def settings_kept(record, named, keep="chosen"):
    return call_filter("settings_kept", settings.settings_kept, record, named, keep)


def settings_named(values):
    return call_filter("settings_named", settings.settings_named, values)


def settings_chosen(record, named):
    return call_filter("settings_chosen", settings.settings_chosen, record, named)


def backup_problems(values=None, **kwargs):
    return call_filter("backup_problems", backup.backup_problems, **_params("backup_problems", values, kwargs))


def backup_copy(values=None, **kwargs):
    return call_filter("backup_copy", backup.backup_copy, **_params("backup_copy", values, kwargs))


def backup_copy_keys(live, secret_name, access_key_id, secret_access_key):
    return call_filter("backup_copy_keys", backup.backup_copy_keys, live, secret_name, access_key_id, secret_access_key)


def backup_copy_problems(values=None, **kwargs):
    return call_filter("backup_copy_problems", backup.backup_copy_problems, **_params("backup_copy_problems", values, kwargs))


def restore_summary(log, app_name, namespace, job, asked=""):
    return call_filter("restore_summary", backup.restore_summary, log, app_name, namespace, job, asked)


def redact(lines, secrets):
    return call_filter("redact", summary.redact, lines, secrets)


def deploy_summary(credentials, **kwargs):
    return call_filter("deploy_summary", summary.deploy_summary, credentials, **kwargs)


class FilterModule(object):
    def filters(self):
        return {
            "live_index": live_index,
            "tracking_replicas": tracking_replicas,
            "presigned_path": presigned_path,
            "stack_state": stack_state_filter,
            "route_hosts": route_hosts,
            "obsolete_objects": obsolete_objects,
            "object_refs": object_refs,
            "undeploy_kinds": undeploy_kinds,
            "artifact_store": artifact_store,
            "artifact_store_problems": artifact_store_problems,
            "stack_credentials": stack_credentials,
            "secrets_plan": secrets_plan,
            "users": users,
            "users_change": users_change,
            "input_problems": input_problems,
            "deploy_problems": deploy_problems,
            "tracking_problems": tracking_problems,
            "stack_size_problems": stack_size_problems,
            "ingress_problems": ingress_problems,
            "artifact_store_input_problem": artifact_store_input_problem,
            "tracking_config": tracking_config,
            "settings_record": settings_record,
            "settings_kept": settings_kept,
            "settings_chosen": settings_chosen,
            "settings_named": settings_named,
            "backup_problems": backup_problems,
            "backup_copy": backup_copy,
            "backup_copy_keys": backup_copy_keys,
            "backup_copy_problems": backup_copy_problems,
            "restore_summary": restore_summary,
            "deploy_summary": deploy_summary,
            "redact": redact,
        }
