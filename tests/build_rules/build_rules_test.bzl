"""Tests of the rule stand-ins: arch flags reach the compile command lines.

Analysis tests (no compiler runs): a transition sets @rules_cuda//cuda:archs
or @rules_hip//hip:archs (`--cuda_archs` / `--rocm_archs`), and the test reads
the CudaCompile / HipCompile action's argv. Analysis still resolves the
toolkit repositories (@local_cuda: pinned wheels, cached; @local_rocm: needs
hipcc installed), as any build of those targets does.

Plus a unit test of rules_cuda's arch-spec parser, and `archs_file`, which
writes the configured arch pairs to a file for the cuobjdump check.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("@rules_cuda//cuda:private/archs.bzl", "ArchsInfo", "parse_archs")

# rules_cuda's default: sm_90a,sm_80,compute_80:compute_80.
DEFAULT_GENCODES = [
    "-gencode=arch=compute_90a,code=sm_90a",
    "-gencode=arch=compute_80,code=sm_80",
    "-gencode=arch=compute_80,code=compute_80",
]

def _argv_of(env, mnemonic):
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]
    asserts.equals(env, 1, len(actions), "%s actions of the target under test" % mnemonic)
    return actions[0].argv if actions else []

def _cuda_archs_impl(ctx):
    env = analysistest.begin(ctx)
    argv = _argv_of(env, "CudaCompile")
    gencodes = [a for a in argv if a.startswith("-gencode")]
    asserts.equals(env, ctx.attr.expected, gencodes, "nvcc -gencode flags")
    return analysistest.end(env)

def _hip_archs_impl(ctx):
    env = analysistest.begin(ctx)
    argv = _argv_of(env, "HipCompile")
    offload = [a for a in argv if a.startswith("--offload-arch")]
    asserts.equals(env, ctx.attr.expected, offload, "hipcc --offload-arch flags")
    return analysistest.end(env)

_EXPECTED = {"expected": attr.string_list(mandatory = True, doc = "The arch flags the compile action must carry, in order.")}
_CUDA_ON = {"@rules_cuda//cuda:enable": True}
_HIP_ON = {"@rules_hip//hip:enable": True}

def _with(base, extra):
    d = dict(base)
    d.update(extra)
    return d

cuda_archs_default_test = analysistest.make(_cuda_archs_impl, attrs = _EXPECTED, config_settings = _CUDA_ON)

cuda_archs_sm80_test = analysistest.make(
    _cuda_archs_impl,
    attrs = _EXPECTED,
    config_settings = _with(_CUDA_ON, {"@rules_cuda//cuda:archs": "sm_80"}),
)

cuda_archs_mixed_test = analysistest.make(
    _cuda_archs_impl,
    attrs = _EXPECTED,
    config_settings = _with(_CUDA_ON, {"@rules_cuda//cuda:archs": "compute_90a:sm_90a; sm_86,compute_90:compute_90"}),
)

hip_archs_default_test = analysistest.make(_hip_archs_impl, attrs = _EXPECTED, config_settings = _HIP_ON)

hip_archs_gfx90a_test = analysistest.make(
    _hip_archs_impl,
    attrs = _EXPECTED,
    config_settings = _with(_HIP_ON, {"@rules_hip//hip:archs": ["gfx90a"]}),
)

def _bad_spec_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "bad arch token 'sm80'")
    return analysistest.end(env)

# A typo in --cuda_archs must stop the build, not compile for nothing.
cuda_archs_bad_spec_test = analysistest.make(
    _bad_spec_impl,
    expect_failure = True,
    config_settings = {"@rules_cuda//cuda:archs": "sm_90a,sm80"},
)

def _parse_archs_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, [("compute_80", "sm_80")], parse_archs("sm_80"))
    asserts.equals(env, [("compute_90a", "sm_90a")], parse_archs("sm_90a"))
    asserts.equals(env, [("compute_80", "compute_80")], parse_archs("compute_80"))
    asserts.equals(env, [("compute_80", "compute_80")], parse_archs("compute_80:compute_80"))
    asserts.equals(env, [("compute_90a", "sm_90a")], parse_archs("compute_90a:sm_90a"))
    asserts.equals(
        env,
        [("compute_90a", "sm_90a"), ("compute_80", "sm_80"), ("compute_80", "compute_80")],
        parse_archs("sm_90a,sm_80,compute_80:compute_80"),
    )

    # ';' separates too; blanks and empty tokens are ignored.
    asserts.equals(env, [("compute_80", "sm_80"), ("compute_86", "sm_86")], parse_archs(" sm_80 ; sm_86 ,"))
    asserts.equals(env, [], parse_archs(""))
    return unittest.end(env)

parse_archs_test = unittest.make(_parse_archs_impl)

def _archs_file_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    pairs = ctx.attr._archs[ArchsInfo].pairs
    ctx.actions.write(out, "".join(["%s %s\n" % (v, r) for v, r in pairs]))
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

# The configured @rules_cuda//cuda:archs as "virtual real" lines.
archs_file = rule(
    implementation = _archs_file_impl,
    attrs = {"_archs": attr.label(default = "@rules_cuda//cuda:archs", doc = "The --cuda_archs flag.")},
)
