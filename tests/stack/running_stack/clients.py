"""MLflow client programs the running-stack tests run (with the stack's MLflow venv, `python -c`)."""

from __future__ import annotations

import textwrap

# The SHA-256 of every artifact of the runs whose ids sys.argv[1] lists (JSON): "RESULT {"<run>/<path>": sha}".
ARTIFACT_SUMS = textwrap.dedent("""
    import hashlib, json, os, sys, tempfile
    import mlflow
    sums = {}
    for run_id in json.loads(sys.argv[1]):
        root = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=tempfile.mkdtemp())
        for d, _, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                sums[run_id + "/" + os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    print("RESULT " + json.dumps(sums))
""")

# `downloaded_sums(run_id)`: the SHA-256 of every artifact of the run as the client downloads it, {path: sha}
# (files read in blocks: a large artifact is not read into memory at once).
DOWNLOADED_SUMS = textwrap.dedent("""
    import hashlib, os, tempfile
    import mlflow

    def downloaded_sums(run_id):
        root = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=tempfile.mkdtemp())
        out = {}
        for d, _, files in os.walk(root):
            for f in files:
                h = hashlib.sha256()
                with open(os.path.join(d, f), "rb") as fh:
                    while b := fh.read(8 << 20):
                        h.update(b)
                out[os.path.relpath(os.path.join(d, f), root)] = h.hexdigest()
        return out
""")

# `log_traces(experiment_id, n)`: n traces in the experiment (which becomes the active one), each of a "pipeline" span
# (CHAIN, input x, output 2x) with an inner span "inner" (LLM, inputs {"q": x}, outputs {"a": 2x}, attribute tokens
# 42); flushed before it returns.
LOG_TRACES = textwrap.dedent("""
    import mlflow

    def log_traces(experiment_id, n):
        mlflow.set_experiment(experiment_id=experiment_id)

        @mlflow.trace(span_type="CHAIN")
        def pipeline(x):
            with mlflow.start_span("inner", span_type="LLM") as s:
                s.set_inputs({"q": x})
                s.set_attribute("tokens", 42)
                s.set_outputs({"a": x * 2})
            return x * 2

        for x in range(n):
            pipeline(x)
        mlflow.flush_trace_async_logging()
""")
