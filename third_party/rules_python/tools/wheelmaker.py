"""Writes one wheel (PEP 427) from a list of files; the action behind py_wheel.

Everything that reaches the archive is fixed by the inputs alone: entries are
sorted, every timestamp is 1980-01-01, permissions come from the file name,
not from the checkout. Equal inputs therefore give byte-equal wheels, which
is what lets a remote cache serve them.

    wheelmaker.py @params     (one argument per line, see _parse_args)
"""

import argparse
import ast
import base64
import hashlib
import io
import os
import re
import sys
import zipfile

# PEP 440 in canonical form, plus a local label (PEP 440 "Local version
# identifiers", lower case). Non-canonical spellings are refused rather than
# normalized, so the version a user writes is the one pip shows.
_CANONICAL_VERSION = re.compile(
    r"^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*"
    r"((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?"
    r"(\+[a-z0-9]+(\.[a-z0-9]+)*)?$")
_DISTRIBUTION = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_TAG = re.compile(r"^[A-Za-z0-9_.]+$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Zip cannot store dates before 1980; this is the customary fixed date.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # zip "version made by" host system: the mode bits are then honoured


class WheelError(Exception):
    pass


def _parse_args(argv):
    p = argparse.ArgumentParser(fromfile_prefix_chars="@", description=__doc__)
    p.add_argument("--distribution", required=True)
    p.add_argument("--version", required=True, help="may hold {NAME} placeholders")
    p.add_argument("--version_file", help="Python file whose top-level NAME = 'str' fill the placeholders")
    p.add_argument("--python_tag", required=True)
    p.add_argument("--abi", required=True)
    p.add_argument("--platform", required=True)
    p.add_argument("--out_dir", required=True, help="folder (made if missing) that receives the .whl")
    p.add_argument("--name_file", required=True, help="receives the wheel's file name")
    p.add_argument("--input_file", action="append", default=[], help="ARCHIVE_PATH;FILESYSTEM_PATH")
    p.add_argument("--summary", default="")
    p.add_argument("--description_file")
    p.add_argument("--description_content_type", default="")
    p.add_argument("--author", default="")
    p.add_argument("--author_email", default="")
    p.add_argument("--homepage", default="")
    p.add_argument("--license", default="")
    p.add_argument("--classifier", action="append", default=[])
    p.add_argument("--python_requires", default="")
    p.add_argument("--requires", action="append", default=[])
    p.add_argument("--extra_requires", action="append", default=[], help="EXTRA;REQUIREMENT")
    p.add_argument("--project_url", action="append", default=[], help="LABEL, URL")
    return p.parse_args(argv)


def _module_strings(path):
    """Top-level `NAME = "literal"` assignments of a Python file, parsed, not run."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value.value
    return values


def resolve_version(template, version_file):
    names = _PLACEHOLDER.findall(template)
    if names and not version_file:
        raise WheelError(f"version {template!r} has placeholders {names} but py_wheel has no version_file")
    values = _module_strings(version_file) if version_file else {}
    for name in names:
        if name not in values:
            raise WheelError(f"version placeholder {{{name}}}: {version_file} has no top-level "
                             f"`{name} = \"...\"` (it has {sorted(values)})")
    version = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if not _CANONICAL_VERSION.match(version):
        raise WheelError(f"version: expected a canonical PEP 440 version such as 1.2.0 or 1.2.0+cpu, "
                         f"got {version!r} (from {template!r})")
    return version


def _check_tags(args):
    if not _DISTRIBUTION.match(args.distribution):
        raise WheelError(f"distribution: expected a PEP 508 name, got {args.distribution!r}")
    for field in ("python_tag", "abi", "platform"):
        value = getattr(args, field)
        for part in value.split("."):
            if not _TAG.match(part):
                raise WheelError(f"{field}: expected tags of letters, digits, '_' and '.', got {value!r}")


def _escaped_distribution(name):
    # Binary distribution format: runs of -_. become one _, lower case.
    return re.sub(r"[-_.]+", "_", name).lower()


def _check_arcname(arcname, dist_info):
    parts = arcname.split("/")
    if not arcname or arcname.startswith("/") or "\\" in arcname or any(p in ("", ".", "..") for p in parts):
        raise WheelError(f"input file: archive path {arcname!r} is not a clean relative path; "
                         f"adjust py_wheel.strip_path_prefixes")
    if parts[0] == dist_info:
        raise WheelError(f"input file: {arcname!r} would overwrite the wheel's own metadata folder")


def _collect_inputs(specs, dist_info):
    """{archive path: filesystem path}; a folder input contributes its files."""
    files = {}
    for spec in specs:
        arcname, sep, path = spec.partition(";")
        if not sep:
            raise WheelError(f"--input_file: expected ARCHIVE_PATH;FILESYSTEM_PATH, got {spec!r}")
        pairs = [(arcname, path)]
        if os.path.isdir(path):
            pairs = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for n in sorted(names):
                    full = os.path.join(root, n)
                    pairs.append((arcname + "/" + os.path.relpath(full, path).replace(os.sep, "/"), full))
        for arc, full in pairs:
            _check_arcname(arc, dist_info)
            if arc in files and files[arc] != full:
                raise WheelError(f"input file: two inputs map to {arc!r}: {files[arc]} and {full}")
            files[arc] = full
    return files


def _mode(arcname):
    # From the name, not the checkout's bits, so every machine writes the same.
    return 0o755 if arcname.endswith(".so") or ".so." in os.path.basename(arcname) else 0o644


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return "sha256=" + digest


def _metadata(args, version):
    lines = ["Metadata-Version: 2.1", f"Name: {args.distribution}", f"Version: {version}"]
    single = [("Summary", args.summary), ("Home-page", args.homepage), ("Author", args.author),
              ("Author-email", args.author_email), ("License", args.license)]
    for key, value in single:
        if "\n" in value:
            raise WheelError(f"{key.lower()}: must be one line, got {value!r}")
        if value:
            lines.append(f"{key}: {value}")
    for url in args.project_url:
        lines.append(f"Project-URL: {url}")
    lines += [f"Classifier: {c}" for c in args.classifier]
    if args.python_requires:
        lines.append(f"Requires-Python: {args.python_requires}")
    lines += [f"Requires-Dist: {r}" for r in args.requires]
    extras = []
    for spec in args.extra_requires:
        extra, _, req = spec.partition(";")
        if extra not in extras:
            extras.append(extra)
        name, semi, marker = req.partition(";")
        condition = f'extra == "{extra}"'
        if semi:
            condition = f"({marker.strip()}) and {condition}"
        lines.append(f"Requires-Dist: {name.strip()}; {condition}")
    lines += [f"Provides-Extra: {e}" for e in extras]
    body = ""
    if args.description_file:
        if args.description_content_type:
            lines.append(f"Description-Content-Type: {args.description_content_type}")
        with open(args.description_file, encoding="utf-8") as f:
            body = f.read()
    text = "\n".join(lines) + "\n"
    if body:
        text += "\n" + body if body.endswith("\n") else "\n" + body + "\n"
    return text.encode("utf-8")


def _wheel_file(args):
    purelib = "true" if args.platform == "any" else "false"
    lines = ["Wheel-Version: 1.0", "Generator: rules_python py_wheel (groupquant stand-in)",
             f"Root-Is-Purelib: {purelib}"]
    # A compressed tag set (py2.py3) expands to one Tag line per combination.
    for py in args.python_tag.split("."):
        for abi in args.abi.split("."):
            for plat in args.platform.split("."):
                lines.append(f"Tag: {py}-{abi}-{plat}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _add(zf, arcname, data):
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.create_system = _UNIX
    info.external_attr = (0o100000 | _mode(arcname)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data, compresslevel=6)


def build_wheel(args):
    _check_tags(args)
    version = resolve_version(args.version, args.version_file)
    dist = _escaped_distribution(args.distribution)
    dist_info = f"{dist}-{version}.dist-info"
    files = _collect_inputs(args.input_file, dist_info)
    if not files:
        raise WheelError("deps: the wheel would hold no files; check py_wheel.deps and py_package.packages")
    name = f"{dist}-{version.replace('-', '_')}-{args.python_tag}-{args.abi}-{args.platform}.whl"

    entries = []
    for arcname in sorted(files):
        with open(files[arcname], "rb") as f:
            entries.append((arcname, f.read()))
    # Metadata last, RECORD at the very end (PEP 427 recommends this order).
    entries.append((f"{dist_info}/METADATA", _metadata(args, version)))
    entries.append((f"{dist_info}/WHEEL", _wheel_file(args)))
    record = io.StringIO()
    for arcname, data in entries:
        record.write(f"{arcname},{_record_hash(data)},{len(data)}\n")
    record.write(f"{dist_info}/RECORD,,\n")
    entries.append((f"{dist_info}/RECORD", record.getvalue().encode("utf-8")))

    # A declared output directory exists before a local action runs, but a
    # remote executor (REAPI) creates only its parent.
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, name)
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, data in entries:
            _add(zf, arcname, data)
    with open(args.name_file, "w", encoding="utf-8") as f:
        f.write(name)
    return path


def main(argv):
    try:
        build_wheel(_parse_args(argv))
    except WheelError as e:
        print(f"py_wheel: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
