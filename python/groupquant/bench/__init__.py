"""groupquant's benchmark: speed against a plain copy and the references, and accuracy.

Run `python -m groupquant.bench` (or `tools/bazel run //:bench`); --help
lists the flags. Modules: inputs (the embedded activation-like inputs),
timing (clocks, cache-busting pools, copy ceiling, CUDA graphs), candidates
(what is compared), runner (one backend's measurements), accuracy, report
(tables, JSON), plot (PNG), machine (what it ran on).
"""
