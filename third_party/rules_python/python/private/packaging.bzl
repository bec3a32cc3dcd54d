"""py_package and py_wheel: the rules behind //python:packaging.bzl (whose
module doc lists the attributes and what differs from upstream)."""

PyWheelInfo = provider(
    doc = "What py_wheel produced.",
    fields = {
        "name_file": "File holding the wheel's file name.",
        "wheel": "Folder holding the one .whl file (see the module doc).",
    },
)

def _path_inside_wheel(f):
    # short_path is workspace-relative; files of other repositories start
    # with "../<repository>/".
    path = f.short_path
    if path.startswith("../"):
        path = path.split("/", 2)[2]
    return path

def _strip_prefix(path, prefixes):
    for prefix in prefixes:
        folder = prefix.rstrip("/") + "/"
        if path.startswith(folder):
            return path[len(folder):]
    return path

def _py_package_impl(ctx):
    files = depset(transitive = [
        depset(transitive = [dep[DefaultInfo].default_runfiles.files, dep[DefaultInfo].data_runfiles.files])
        for dep in ctx.attr.deps
    ])
    folders = [p.replace(".", "/") for p in ctx.attr.packages]
    if not folders:
        return [DefaultInfo(files = files)]
    kept = []
    for f in files.to_list():
        path = _path_inside_wheel(f)
        for folder in folders:
            # Upstream matches the workspace-relative path, before any
            # strip_path_prefixes: "python.groupquant" keeps python/groupquant/**.
            if path.startswith(folder + "/"):
                kept.append(f)
                break
    return [DefaultInfo(files = depset(kept))]

py_package = rule(
    implementation = _py_package_impl,
    attrs = {
        "deps": attr.label_list(doc = "Targets whose runfiles are collected."),
        "packages": attr.string_list(doc = "Workspace-relative package folders to keep, dotted; empty keeps all."),
    },
    doc = "Collects the files of the given Python packages from deps' runfiles.",
)

def _one_line(ctx, attr_name, value):
    if "\n" in value or "\r" in value:
        fail("py_wheel %s: `%s` must be one line, got %r" % (ctx.label, attr_name, value))
    return value

def _py_wheel_impl(ctx):
    out_dir = ctx.actions.declare_directory(ctx.label.name)
    name_file = ctx.actions.declare_file(ctx.label.name + ".name")

    args = ctx.actions.args()
    args.set_param_file_format("multiline")
    args.use_param_file("@%s", use_always = True)
    scalar = {
        "distribution": ctx.attr.distribution,
        "version": ctx.attr.version,
        "python_tag": ctx.attr.python_tag,
        "abi": ctx.attr.abi,
        "platform": ctx.attr.platform,
        "summary": ctx.attr.summary,
        "description_content_type": ctx.attr.description_content_type,
        "author": ctx.attr.author,
        "author_email": ctx.attr.author_email,
        "homepage": ctx.attr.homepage,
        "license": ctx.attr.license,
        "python_requires": ctx.attr.python_requires,
    }
    for key in sorted(scalar):
        if scalar[key]:
            # --key=value: a value that starts with '-' is then still a value.
            args.add("--%s=%s" % (key, _one_line(ctx, key, scalar[key])))
    for c in ctx.attr.classifiers:
        args.add("--classifier=" + _one_line(ctx, "classifiers", c))
    for r in ctx.attr.requires:
        args.add("--requires=" + _one_line(ctx, "requires", r))
    for extra in sorted(ctx.attr.extra_requires):
        for r in ctx.attr.extra_requires[extra]:
            args.add("--extra_requires=%s;%s" % (extra, _one_line(ctx, "extra_requires", r)))
    for label in sorted(ctx.attr.project_urls):
        args.add("--project_url=%s, %s" % (label, _one_line(ctx, "project_urls", ctx.attr.project_urls[label])))

    inputs = []
    if ctx.file.version_file:
        args.add("--version_file=" + ctx.file.version_file.path)
        inputs.append(ctx.file.version_file)
    if ctx.file.description_file:
        args.add("--description_file=" + ctx.file.description_file.path)
        inputs.append(ctx.file.description_file)

    packaged = depset(transitive = [dep[DefaultInfo].files for dep in ctx.attr.deps])
    for f in packaged.to_list():
        arcname = _strip_prefix(_path_inside_wheel(f), ctx.attr.strip_path_prefixes)
        if ";" in arcname:
            fail("py_wheel %s: archive path %r may not contain ';'" % (ctx.label, arcname))
        args.add("--input_file=%s;%s" % (arcname, f.path))
    args.add("--out_dir=" + out_dir.path)
    args.add("--name_file=" + name_file.path)

    # The toolchain's interpreter runs the script directly: a py_binary's
    # stub would add a `#!/usr/bin/env python` lookup that strict action
    # environments (only python3 on PATH) fail. -I: stdlib only, no PYTHON*.
    runtime = ctx.toolchains["@bazel_tools//tools/python:toolchain_type"].py3_runtime
    if runtime == None:
        fail("py_wheel %s: the registered Python toolchain has no py3_runtime" % ctx.label)
    interpreter = runtime.interpreter_path
    tool_inputs = [runtime.files] if runtime.files else []
    if runtime.interpreter:
        interpreter = runtime.interpreter
        tool_inputs.append(depset([runtime.interpreter]))

    ctx.actions.run(
        executable = interpreter,
        arguments = ["-I", ctx.file._wheelmaker.path, args],
        inputs = depset(inputs + [ctx.file._wheelmaker], transitive = [packaged] + tool_inputs),
        outputs = [out_dir, name_file],
        mnemonic = "PyWheel",
        progress_message = "Building wheel %s" % ctx.label,
    )
    return [
        DefaultInfo(files = depset([out_dir, name_file]), runfiles = ctx.runfiles(files = [out_dir, name_file])),
        PyWheelInfo(name_file = name_file, wheel = out_dir),
    ]

py_wheel = rule(
    implementation = _py_wheel_impl,
    attrs = {
        "distribution": attr.string(mandatory = True, doc = "Distribution name (PEP 508), e.g. groupquant."),
        "version": attr.string(mandatory = True, doc = "PEP 440 version; may hold {NAME} placeholders filled from version_file."),
        "version_file": attr.label(allow_single_file = [".py"], doc = "Ours: Python file whose top-level string assignments fill version's placeholders."),
        "deps": attr.label_list(doc = "Targets whose DefaultInfo files go into the wheel (usually a py_package)."),
        "python_tag": attr.string(default = "py3", doc = "e.g. py3, cp311, py2.py3."),
        "abi": attr.string(default = "none", doc = "ABI tag, e.g. none, abi3, cp311."),
        "platform": attr.string(default = "any", doc = "e.g. any, linux_x86_64, manylinux_2_28_x86_64."),
        "requires": attr.string_list(doc = "Requires-Dist lines (PEP 508)."),
        "extra_requires": attr.string_list_dict(doc = "extra name -> Requires-Dist lines of that extra."),
        "python_requires": attr.string(doc = "Requires-Python, e.g. >=3.9."),
        "summary": attr.string(doc = "One-line Summary of the METADATA."),
        "description_file": attr.label(allow_single_file = True, doc = "Long description (the METADATA body)."),
        "description_content_type": attr.string(doc = "e.g. text/markdown."),
        "author": attr.string(doc = "Author of the METADATA."),
        "author_email": attr.string(doc = "Author-email of the METADATA."),
        "homepage": attr.string(doc = "Home-page of the METADATA."),
        "license": attr.string(doc = "License of the METADATA."),
        "classifiers": attr.string_list(doc = "Trove classifiers (Classifier lines)."),
        "project_urls": attr.string_dict(doc = "label -> URL (Project-URL lines)."),
        "strip_path_prefixes": attr.string_list(doc = "Folders stripped from archive paths; the first match wins."),
        "_wheelmaker": attr.label(
            default = "@rules_python//tools:wheelmaker.py",
            allow_single_file = True,
            doc = "The script that writes the wheel (run by the Python toolchain's interpreter).",
        ),
    },
    toolchains = ["@bazel_tools//tools/python:toolchain_type"],
    doc = "Builds a deterministic wheel; see the module doc for what differs from upstream.",
)
