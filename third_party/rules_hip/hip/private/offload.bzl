"""What nvcc and hipcc rules share: one PIC object per source, then a cc_library.

Both stand-ins compile device code the same way (an offload compiler turns
each source into a position-independent object that a plain cc_library links)
and switch themselves off the same way (a flag, a config_setting, and a
constraint no platform has). This file holds that once.

It lives in @rules_hip and @rules_cuda's stand-in loads it, not the other way
round: swapping in upstream rules_cuda (third_party/README.md) must leave
rules_hip whole, and upstream has no such file.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def requires_setting(setting, marker):
    """target_compatible_with value: compatible only while `setting` matches.

    Args:
      setting: label of a config_setting (the rule set's `is_enabled`).
      marker: label of a constraint_value that no platform has.
    Returns:
      A select(): [] while enabled, [marker] (incompatible) otherwise.
    """
    return select({setting: [], "//conditions:default": [marker]})

def if_setting(setting, then, otherwise):
    return select({setting: then, "//conditions:default": otherwise})

def expand_includes(ctx, includes):
    """Package-relative include folders, in the source tree and in bin."""
    out = []
    for inc in includes:
        path = ctx.label.package + ("/" + inc if inc not in ("", ".") else "")
        if ctx.label.workspace_root:
            path = ctx.label.workspace_root + "/" + path
        out += [path, ctx.bin_dir.path + "/" + path]
    return out

def dependency_flags(contexts, isystem_joined):
    """-D/-I flags of the deps' CcInfo. nvcc wants `-isystem=P` (joined),
    clang (hipcc) two words."""
    args = []
    for c in contexts:
        args += ["-D" + d for d in c.defines.to_list()]
        args += ["-I" + i for i in c.includes.to_list() + c.quote_includes.to_list()]
        for i in c.system_includes.to_list():
            args += ["-isystem=" + i] if isystem_joined else ["-isystem", i]
    return args

def own_flags(ctx):
    """-D/-I flags of the target itself (defines, the exec root, includes)."""
    args = ["-D" + d for d in ctx.attr.defines + ctx.attr.local_defines]
    args += ["-I.", "-I" + ctx.bin_dir.path]
    args += ["-I" + i for i in expand_includes(ctx, ctx.attr.includes)]
    return args

def compile_each(ctx, compiler, args, inputs, mnemonic, what):
    """One compile action per source of ctx.files.srcs; returns the objects."""
    objects = []
    for src in ctx.files.srcs:
        obj = ctx.actions.declare_file("_objs/%s/%s.pic.o" % (ctx.label.name, src.basename.rsplit(".", 1)[0]))
        ctx.actions.run(
            executable = compiler,
            arguments = args + ["-c", src.path, "-o", obj.path],
            inputs = depset([src], transitive = inputs),
            outputs = [obj],
            mnemonic = mnemonic,
            progress_message = "Compiling %s %s" % (what, src.short_path),
            # The compilers find their host compiler's helpers through PATH.
            use_default_shell_env = True,
        )
        objects.append(obj)
    return objects

# The attributes of both objects rules (each adds its compiler and flags).
OBJECTS_ATTRS = {
    "hdrs": attr.label_list(allow_files = True, doc = "Headers the sources include (not compiled on their own)."),
    "deps": attr.label_list(providers = [CcInfo], doc = "cc_library targets whose headers, defines and includes the sources use."),
    "copts": attr.string_list(doc = "Extra compiler flags, after the flag-wide ones."),
    "host_copts": attr.string_list(doc = "Extra flags for the host compiler."),
    "defines": attr.string_list(doc = "-D macros for these sources."),
    "local_defines": attr.string_list(doc = "-D macros for these sources (same as defines here: objects have no dependants)."),
    "includes": attr.string_list(doc = "Package-relative include folders."),
}

def offload_library(
        name,
        objects_rule,
        compiler_attr,
        compiler,
        runtime,
        requires,
        objects_suffix,
        srcs,
        hdrs,
        deps,
        copts,
        host_copts,
        defines,
        local_defines,
        includes,
        alwayslink,
        archs,
        target_compatible_with,
        **attrs):
    """`<name><objects_suffix>` (the objects) and `<name>` (a cc_library linking them).

    Args:
      name: the cc_library's name.
      objects_rule: the rule that compiles (cuda_objects, hip_objects).
      compiler_attr: that rule's attribute naming the compiler.
      compiler: select() of the compiler label (None where disabled).
      runtime: select() of the runtime library deps ([] where disabled).
      requires: target_compatible_with for the rule set being enabled.
      objects_suffix: name suffix of the objects target.
      srcs, hdrs, deps, copts, host_copts, defines, local_defines, includes,
      alwayslink, archs, target_compatible_with: as cuda_library's.
      **attrs: common attributes (visibility, tags, ...) of the cc_library.
    """
    objects_attrs = {
        "name": name + objects_suffix,
        "srcs": srcs,
        "hdrs": hdrs,
        "deps": deps,
        "copts": copts,
        "host_copts": host_copts,
        "defines": defines,
        "local_defines": local_defines,
        "includes": includes,
        "archs": archs,
        "target_compatible_with": requires + target_compatible_with,
        "visibility": ["//visibility:private"],
        "tags": attrs.get("tags", []),
    }
    objects_attrs[compiler_attr] = compiler
    objects_rule(**objects_attrs)
    cc_library(
        name = name,
        srcs = [":" + name + objects_suffix],
        hdrs = hdrs,
        deps = deps + runtime,
        defines = defines,
        includes = includes,
        alwayslink = alwayslink,
        linkstatic = True,
        target_compatible_with = requires + target_compatible_with,
        **attrs
    )
