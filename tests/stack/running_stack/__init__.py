"""The running stack: real PostgreSQL, the Versity S3 gateway (or MinIO), MLflow and NGINX on 127.0.0.1.

The stack is started from what the playbooks applied to the test cluster: the pod specs
of the Deployments (command, args, env resolved from ConfigMaps/Secrets like the kubelet
does, `$(VAR)` expansion included), the volumes they mount (ConfigMaps and Secrets
written to temp dirs), the NGINX config and the htpasswd content. Nothing of that
configuration is written down a second time here.

The ONLY changes made to it are addresses, ports and paths, all in `Substitutions`:
in-cluster Service names -> 127.0.0.1:<local port>, the pod's fixed ports -> free ports,
volume mount paths -> temp dirs.

Every server binds 127.0.0.1, writes a PID file under `<state>/pids/` and is stopped by
PID (its own process group).

Modules (import what you need from them; this file exports nothing):
    stack          Stack: the whole stack up/down, its MLflow and Models servers, clients
    deployed       Deployed: pod specs, env and volumes read back from the cluster
    substitutions  Substitutions: cluster addresses, ports, paths -> local ones
    postgresql     Postgres       versitygw  VersityGW (from its deployed pod)   minio  MinIO   nginx  the NGINX sidecars
    processes      Procs (PID files, process groups), local_env, running as another user
    net            free_port, wait_http
    tools          Tools: where the built tools are; versions.env
    playbooks      deploy() / playbook(): deploy.yml on the test cluster, Deployment
    __main__       the CLI of `make demo` (python -m running_stack up|down)
"""
