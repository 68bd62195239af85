"""The test harness of the API-server tier: tests/conftest.py's `cluster` fixture is a harness.cluster.Cluster."""
