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
