"""Shared helper for repository rules that pip-install a pinned set of wheels.

The venv lives outside Bazel's output base, in a folder keyed by the hash of
its requirements, so every clone and output base on a machine resolves the
same absolute interpreter path. That keeps action keys equal across clones
(remote-cache hits) and makes a second checkout cost nothing. The folder is
only trusted once a marker file says the install finished.
"""

def _cache_root(rctx):
    root = rctx.os.environ.get("GROUPQUANT_CACHE_DIR", "")
    if not root:
        home = rctx.os.environ.get("HOME", "/tmp")
        root = home + "/.cache/groupquant"
    return root

def _run(rctx, argv, what, timeout = 3600, quiet = True):
    res = rctx.execute(argv, timeout = timeout, quiet = quiet)
    if res.return_code != 0:
        fail("groupquant: %s failed (exit %d): %s\n%s" % (what, res.return_code, " ".join([str(a) for a in argv]), res.stderr[-4000:]))
    return res

_CREATE = """
set -e
exec 9>"$1.lock"
flock 9
[ -f "$1/.groupquant-complete" ] && exit 0
rm -rf "$1"
"$2" -m venv "$1"
"$1/bin/python3" -m pip install --no-input --quiet -r "$3"
touch "$1/.groupquant-complete"
"""

def cached_venv(rctx, name, requirements, python = "python3"):
    """Returns the path of a venv holding exactly `requirements` (pip lines).

    Args:
      rctx: repository_ctx.
      name: short name used in the cache folder and progress messages.
      requirements: the pinned requirement lines, as one string.
      python: the interpreter that creates the venv.
    """
    interpreter = rctx.which(python)
    if interpreter == None:
        fail("groupquant: `%s` not found on PATH; install it (apt-get install -y python3 python3-venv)" % python)
    rctx.file("requirements.txt", requirements)
    digest = _run(rctx, ["sha256sum", rctx.path("requirements.txt")], "hashing requirements").stdout.split(" ")[0]
    venv = "%s/%s-%s" % (_cache_root(rctx), name, digest[:16])
    marker = venv + "/.groupquant-complete"
    if rctx.execute(["test", "-f", marker]).return_code == 0:
        return venv
    rctx.report_progress("creating %s venv at %s (first use only)" % (name, venv))
    _run(rctx, ["mkdir", "-p", _cache_root(rctx)], "creating cache dir")

    # Several Bazel servers (output bases) may fetch at once: one creates the
    # venv under an exclusive lock, the others wait and then find the marker.
    # The venv is built at its final path because venvs are not relocatable.
    _run(rctx, ["sh", "-c", _CREATE, "sh", venv, interpreter, rctx.path("requirements.txt")], "creating the %s venv" % name, quiet = False)
    return venv
