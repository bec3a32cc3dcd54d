"""A progress bar on stderr (tqdm, from the bench extra)."""

import sys

from groupquant.bench import extras


def bar(total, desc):
    tqdm = extras.load("tqdm").tqdm
    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, dynamic_ncols=True, leave=True)


def note(progress, text):
    """Print a line on stderr without breaking the bar."""
    progress.write(text, file=sys.stderr)
