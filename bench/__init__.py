"""Performance benchmarks of kdash against a private local control plane (`python -m bench`).

One run starts its own control plane (devcluster), creates N pods in M Deployments, measures
the first complete tree against kubectl and a raw HTTP list, event→screen latency and key→paint
latency under churn, peak RSS and log throughput, prints a table and writes
bench/results/<timestamp>.json and bench/results/latest.json. Method: docs/performance.md.
"""
