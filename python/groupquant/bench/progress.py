"""A progress bar on stderr: tqdm when installed, else one line per step.

The GPU hosts run the benchmark from a copied wheel in whatever Python they
have; a missing tqdm must not stop a measurement.
"""

import sys

try:
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the host
    _tqdm = None


class _Lines:
    def __init__(self, total, desc):
        self.total, self.desc, self.done = total, desc, 0

    def set_postfix_str(self, text):
        print(f"{self.desc} [{self.done}/{self.total}] {text}", file=sys.stderr, flush=True)

    def update(self, n=1):
        self.done += n

    def write(self, text):
        print(text, file=sys.stderr, flush=True)

    def close(self):
        pass


def bar(total, desc):
    if _tqdm is None:
        return _Lines(total, desc)
    return _tqdm(total=total, desc=desc, unit="step", file=sys.stderr, dynamic_ncols=True, leave=True)


def note(progress, text):
    """Print a line on stderr without breaking the bar."""
    if isinstance(progress, _Lines):
        progress.write(text)
    else:
        progress.write(text, file=sys.stderr)
