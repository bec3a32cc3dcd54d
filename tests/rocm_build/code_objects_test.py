"""What libgroupquant_rocm.so carries for the GPU, checked without a GPU.

For every architecture asked for with --rocm_archs:
- there is a code object, and it holds every kernel the host code can launch
  (a missing one is "invalid device function" at run time, on that GPU only);
- every (input, output) format pair exists in both kernel families;
- no kernel uses scratch memory: register spills or a stack there would put
  a per-lane memory round trip into a kernel that is meant to be bound by
  DRAM bandwidth alone.

    tools/bazel test --config=rocm //tests/rocm_build:code_objects_test
    python3 code_objects_test.py --library=LIB --archs=gfx90a,gfx940 --llvm-tools=llvm_tools.txt
"""

import argparse
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import code_objects  # noqa: E402

# Filled by main() before pytest collects this module (environment, so that
# the values survive pytest importing the module a second time).
_ENV_LIBRARY = "GQ_ROCM_LIBRARY"
_ENV_ARCHS = "GQ_ROCM_ARCHS"
_ENV_TOOLS = "GQ_ROCM_LLVM_TOOLS"

ARCHS = [a for a in os.environ.get(_ENV_ARCHS, "").split(",") if a]

# The kernels quant_launch.cuh and fused_launch.cuh instantiate per
# (InputFormat, QuantFormat): csrc/quant_problem.h has 3 of each.
KERNEL_FAMILIES = ("quant_vec_kernel", "quant_generic_kernel", "fused_vec_kernel", "fused_generic_kernel")
FORMAT_PAIRS = {(i, o) for i in range(3) for o in range(3)}


@pytest.fixture(scope="module")
def tools():
    return code_objects.read_tool_paths(os.environ[_ENV_TOOLS])


@pytest.fixture(scope="module")
def library():
    return os.environ[_ENV_LIBRARY]


@pytest.fixture(scope="module")
def code(library, tools):
    objects = code_objects.read_code_objects(library, tools)
    for target, obj in sorted(objects.items()):
        kernels = obj.kernels
        print(f"{target}: {len(kernels)} kernels, {len(obj.descriptor_symbols)} descriptors, "
              f"max {max((k.vgpr_count for k in kernels), default=0)} VGPRs, "
              f"max {max((k.sgpr_count for k in kernels), default=0)} SGPRs, "
              f"scratch bytes {sorted({k.private_segment_fixed_size for k in kernels})}, "
              f"SGPR spills (to VGPR lanes) in {sum(k.sgpr_spill_count > 0 for k in kernels)} kernels")
    return objects


@pytest.fixture(scope="module")
def launched(library, tools):
    names = code_objects.host_launched_kernels(library, tools)
    assert names, f"{library}: no kernel launch stubs found in the host code"
    return names


def _code_object(code, arch):
    if arch not in code:
        pytest.fail(f"no code object for {arch}; the library has {sorted(code)}")
    return code[arch]


def _readable(names, tools):
    table = code_objects.demangle(names, tools)
    return "\n  ".join(table[n] for n in sorted(names))


def test_archs_requested():
    assert ARCHS, "no architectures given (--archs / the @rules_hip//hip:archs flag)"


def test_one_code_object_per_requested_arch(code):
    assert sorted(code) == sorted(ARCHS), (
        f"code objects in the library: {sorted(code)}; requested with --rocm_archs: {sorted(ARCHS)}")


def test_kernel_families_cover_every_format_pair(launched, tools):
    missing = []
    for family in KERNEL_FAMILIES:
        marker = f"{len(family)}{family}ILNS_11InputFormatE"
        found = set()
        for name in launched:
            if marker in name:
                rest = name.split(marker, 1)[1]
                in_fmt, _, rest = rest.partition("ELNS_11QuantFormatE")
                out_fmt = rest.split("E", 1)[0]
                if in_fmt.isdigit() and out_fmt.isdigit():
                    found.add((int(in_fmt), int(out_fmt)))
        missing += [f"{family}<in={i}, out={o}>" for i, o in sorted(FORMAT_PAIRS - found)]
    assert not missing, ("kernels the host code never launches: " + ", ".join(missing)
                         + "\nlaunched:\n  " + _readable(launched, tools))


@pytest.mark.parametrize("arch", ARCHS)
def test_every_launched_kernel_is_in_the_code_object(arch, code, launched, tools):
    obj = _code_object(code, arch)
    present = {k.name for k in obj.kernels}
    missing = launched - present
    assert not missing, f"{arch}: kernels launched by the host but absent:\n  " + _readable(missing, tools)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_kernel_has_a_descriptor_symbol(arch, code, tools):
    obj = _code_object(code, arch)
    missing = {k.name for k in obj.kernels if k.symbol not in obj.descriptor_symbols}
    assert not missing, f"{arch}: kernels without a .kd symbol:\n  " + _readable(missing, tools)


@pytest.mark.parametrize("arch", ARCHS)
def test_no_kernel_uses_scratch(arch, code, tools):
    # Scratch is per-lane memory: any private segment (fixed or a dynamic
    # stack) is a spill or a stack frame. VGPR spills go to scratch (or, on
    # gfx90a, to AGPRs: still a copy per value per lane), so none are allowed
    # either. SGPR spills are not checked: the compiler parks them in VGPR
    # lanes and only uses scratch, which the first check catches, when no
    # VGPR is left.
    obj = _code_object(code, arch)
    offenders = {}
    for k in obj.kernels:
        problems = []
        if k.private_segment_fixed_size != 0:
            problems.append(f"private_segment_fixed_size={k.private_segment_fixed_size}")
        if k.uses_dynamic_stack:
            problems.append("uses_dynamic_stack")
        if k.vgpr_spill_count != 0:
            problems.append(f"vgpr_spill_count={k.vgpr_spill_count}")
        if problems:
            offenders[k.name] = problems
    readable = code_objects.demangle(offenders, tools)
    assert not offenders, f"{arch}: kernels using scratch memory:\n" + "\n".join(
        f"  {readable[n]}: {', '.join(p)}" for n, p in sorted(offenders.items()))


@pytest.mark.parametrize("arch", ARCHS)
def test_wavefront_divides_the_assumed_warp(arch, code):
    # portability.h fixes kWarpSize = 64 on HIP. The kernels stay correct on
    # any wavefront that divides it (wave32 included): the loop bookkeeping
    # only needs each real wavefront inside one 64-lane group, and the
    # shuffles never leave a 16-lane sub-group.
    obj = _code_object(code, arch)
    sizes = {k.wavefront_size for k in obj.kernels}
    assert sizes and all(s > 0 and 64 % s == 0 for s in sizes), f"{arch}: wavefront sizes {sorted(sizes)}"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", required=True, help="libgroupquant_rocm.so")
    parser.add_argument("--archs", help="comma-separated offload archs expected")
    parser.add_argument("--archs-file", help="file with one expected arch per line")
    parser.add_argument("--llvm-tools", required=True,
                        help="llvm_tools.txt (name=path lines); relative paths are looked up in the runfiles")
    args, pytest_args = parser.parse_known_args(argv)

    archs = [a.strip() for a in (args.archs or "").split(",") if a.strip()]
    if args.archs_file:
        with open(args.archs_file) as f:
            archs += [line.strip() for line in f if line.strip()]
    tools = args.llvm_tools
    if not os.path.exists(tools) and os.environ.get("TEST_SRCDIR"):
        tools = os.path.join(os.environ["TEST_SRCDIR"], tools)
    os.environ[_ENV_LIBRARY] = os.path.abspath(args.library)
    os.environ[_ENV_ARCHS] = ",".join(archs)
    os.environ[_ENV_TOOLS] = os.path.abspath(tools)

    cache = os.environ.get("TEST_TMPDIR")
    extra = ["-p", "no:cacheprovider"] if cache is None else ["-o", "cache_dir=" + os.path.join(cache, ".pytest_cache")]
    # --noconftest: this is a build check, independent of tests/conftest.py's
    # backend selection (which needs a device).
    return pytest.main(["-q", "-rfE", "-s", "--noconftest", *extra, os.path.abspath(__file__), *pytest_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
