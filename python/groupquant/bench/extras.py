"""The bench's third-party modules: the wheel's `bench` extra.

groupquant itself needs only torch; the bench also draws (matplotlib),
tabulates (tabulate) and shows progress (tqdm). They are imported only when
used, so `python -m groupquant.bench --help` works after a plain install, and
a missing one is reported with the command that installs all of them.
python/BUILD.bazel declares the same names as the wheel's extra_requires.
"""

import importlib

EXTRA = "bench"
MODULES = ("matplotlib", "tabulate", "tqdm")
INSTALL = f"pip install 'groupquant[{EXTRA}]'"


class MissingExtra(ImportError):
    pass


def _message(names):
    return (f"the benchmark needs {', '.join(names)}, not installed here (the groupquant[{EXTRA}] "
            f"extra); install it with: {INSTALL}")


def missing():
    """The modules of the extra that cannot be imported here."""
    absent = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def require():
    """Raises MissingExtra naming every absent module and the install command."""
    absent = missing()
    if absent:
        raise MissingExtra(_message(absent))


def load(name):
    """importlib.import_module(name), or MissingExtra saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingExtra(_message([name.split(".")[0]])) from exc
