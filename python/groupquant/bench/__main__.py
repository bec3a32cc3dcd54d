"""Entry point: `python -m groupquant.bench --help` or `tools/bazel run //:bench -- --help`."""

import os
import sys

if not __package__:
    # Run as a script (Bazel's py_binary does that): the script's folder is
    # sys.path[0], where module names like `inputs` or `timing` would shadow
    # top-level packages. Import the bench as the package it is instead.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

from groupquant.bench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
