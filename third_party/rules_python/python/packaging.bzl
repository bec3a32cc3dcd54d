"""Stand-in for @rules_python's //python:packaging.bzl: py_package, py_wheel.

Bazel 4.2.3 has no py_wheel of its own, and the real rules_python (which
has one here) cannot be fetched offline, so this one is ours. It keeps
upstream's public names and meanings for what it supports; moving to the
real rules_python means only replacing `version_file` (below):

py_package(name, deps, packages)
    The files of `deps` (their runfiles: sources and data) whose
    workspace-relative path lies under one of `packages`, dotted as upstream
    ("python.groupquant" keeps python/groupquant/**).

py_wheel(name, distribution, version, deps, python_tag, abi, platform,
         requires, extra_requires, python_requires, summary, description_file,
         description_content_type, author, author_email, homepage, license,
         classifiers, project_urls, strip_path_prefixes)
    One wheel holding the DefaultInfo files of `deps` (usually a py_package).
    Archive path = the file's workspace-relative path, minus the first
    matching entry of `strip_path_prefixes` (a folder: "python" strips
    "python/").

Differences from upstream, all additive or forced by Bazel 4:
- `version_file` (ours): a Python file whose top-level `NAME = "..."`
  strings fill `{NAME}` placeholders in `version`, e.g.
  version = "{__version__}+cpu", version_file = "groupquant/version.py".
  This plays the part of upstream's stamping (`{BUILD_EMBED_LABEL}`) but
  reads a checked-in file, so it is hermetic and the wheel stays cacheable.
  Upstream stamping (`stamp`) is not supported.
- Because the version is only known when the action runs, the default
  output is a folder named after the target holding exactly one correctly
  named wheel (pip needs the real name), plus `<name>.name` with that name,
  as upstream's PyWheelInfo.name_file. PyWheelInfo.wheel is that folder.
- Not supported: console_scripts, entry_points, extra_distinfo_files,
  stamp, incompatible_normalize_*.

The archive is deterministic (sorted entries, fixed timestamps, modes from
file names): equal inputs give byte-equal wheels, so remote caches hit.
"""

load(
    ":private/packaging.bzl",
    _PyWheelInfo = "PyWheelInfo",
    _py_package = "py_package",
    _py_wheel = "py_wheel",
)

PyWheelInfo = _PyWheelInfo
py_package = _py_package
py_wheel = _py_wheel
