"""Reads the AMD GPU code objects inside a HIP shared library.

hipcc puts one clang offload bundle per compiled source into the host ELF's
`.hip_fatbin` section; each bundle holds a code object (an AMDGPU ELF) per
--offload-arch. The code objects are extracted with the LLVM tools that came
with hipcc (clang-offload-bundler, which also undoes the compression newer
ROCm applies) and read with llvm-readelf: the AMDGPU metadata note describes
every kernel (name, scratch, spills, wavefront size), the symbol table lists
its kernel descriptor (`<name>.kd`).

Only the Python standard library is used, so the checks run wherever hipcc
runs: this machine, CI, a ROCm host.
"""

import dataclasses
import os
import re
import struct
import subprocess
import tempfile

BUNDLE_MAGIC = b"__CLANG_OFFLOAD_BUNDLE__"
HIP_TARGET_PREFIX = "amdgcn-amd-amdhsa--"


@dataclasses.dataclass(frozen=True)
class Kernel:
    """One kernel of one code object, as its AMDGPU metadata describes it."""

    name: str  # mangled
    symbol: str  # kernel descriptor symbol, name + ".kd"
    private_segment_fixed_size: int  # scratch bytes per work-item
    vgpr_spill_count: int
    sgpr_spill_count: int
    uses_dynamic_stack: bool
    wavefront_size: int
    vgpr_count: int
    sgpr_count: int


@dataclasses.dataclass
class CodeObject:
    target: str  # offload target id after "amdgcn-amd-amdhsa--": gfx90a, gfx942:xnack-, ...
    kernels: list  # [Kernel]
    descriptor_symbols: set  # names of the `.kd` symbols in its symbol table


def read_tool_paths(llvm_tools_txt):
    """{tool: path} from @local_rocm//:llvm_tools.txt (`name=path` lines)."""
    tools = {}
    with open(llvm_tools_txt) as f:
        for line in f:
            name, _, path = line.strip().partition("=")
            if name:
                tools[name] = path
    return tools


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def elf_section(path, wanted):
    """Bytes of section `wanted` of a 64-bit little-endian ELF, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)

    names_offset = header(shstrndx)[4]
    for i in range(shnum):
        name_index, _, _, _, offset, size = header(i)
        end = data.index(b"\0", names_offset + name_index)
        if data[names_offset + name_index:end].decode() == wanted:
            return data[offset:offset + size]
    return None


def split_bundles(fatbin):
    """The offload bundles laid end to end (with padding) in `.hip_fatbin`."""
    bundles = []
    pos = fatbin.find(BUNDLE_MAGIC)
    while pos >= 0:
        count, = struct.unpack_from("<Q", fatbin, pos + len(BUNDLE_MAGIC))
        cursor = pos + len(BUNDLE_MAGIC) + 8
        end = cursor
        for _ in range(count):
            offset, size, id_len = struct.unpack_from("<QQQ", fatbin, cursor)
            cursor += 24 + id_len
            end = max(end, pos + offset + size)
        end = max(end, cursor)
        bundles.append(fatbin[pos:end])
        pos = fatbin.find(BUNDLE_MAGIC, end)
    return bundles


def _bundler_output_flag(bundler):
    # LLVM 15 renamed -outputs (comma list) to a repeatable -output.
    help_text = _run([bundler, "--help"])
    return "--output=" if re.search(r"^\s+--output=", help_text, re.M) else "--outputs="


def _parse_metadata(notes):
    """Kernels from `llvm-readelf --notes` (the AMDGPU metadata as YAML)."""
    kernels = []
    current = None
    in_kernels = False
    for line in notes.splitlines():
        if line.startswith("amdhsa."):
            in_kernels = line.startswith("amdhsa.kernels:")
            continue
        if not in_kernels:
            continue
        start = re.match(r"^  - (\.\w+):\s*(.*)$", line)
        field = re.match(r"^    (\.\w+):\s*(.*)$", line)
        if start:
            current = {}
            kernels.append(current)
            current[start.group(1)] = start.group(2).strip()
        elif field and current is not None:
            current[field.group(1)] = field.group(2).strip()
    result = []
    for k in kernels:
        if ".name" not in k or ".symbol" not in k:
            raise ValueError(f"AMDGPU metadata entry without .name/.symbol: {k}")
        result.append(Kernel(
            name=k[".name"],
            symbol=k[".symbol"],
            private_segment_fixed_size=int(k.get(".private_segment_fixed_size", "-1")),
            vgpr_spill_count=int(k.get(".vgpr_spill_count", "-1")),
            sgpr_spill_count=int(k.get(".sgpr_spill_count", "-1")),
            uses_dynamic_stack=k.get(".uses_dynamic_stack", "false") == "true",
            wavefront_size=int(k.get(".wavefront_size", "0")),
            vgpr_count=int(k.get(".vgpr_count", "-1")),
            sgpr_count=int(k.get(".sgpr_count", "-1")),
        ))
    return result


def _symbol_names(readelf, path):
    names = set()
    for line in _run([readelf, "--wide", "--symbols", path]).splitlines():
        parts = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(parts) >= 8 and parts[0].endswith(":") and parts[0][:-1].isdigit():
            names.add(parts[7])
    return names


def read_code_objects(library, tools):
    """{target: CodeObject} for every device code object in `library`."""
    fatbin = elf_section(library, ".hip_fatbin")
    if fatbin is None:
        raise ValueError(f"{library} has no .hip_fatbin section: no device code at all")
    bundler = tools["clang-offload-bundler"]
    readelf = tools["llvm-readelf"]
    output_flag = _bundler_output_flag(bundler)
    objects = {}
    with tempfile.TemporaryDirectory() as tmp:
        for b, bundle in enumerate(split_bundles(fatbin)):
            bundle_path = os.path.join(tmp, f"bundle{b}")
            with open(bundle_path, "wb") as f:
                f.write(bundle)
            targets = _run([bundler, "--list", "--type=o", f"--input={bundle_path}"]).split()
            for t, target in enumerate(targets):
                if HIP_TARGET_PREFIX not in target:
                    continue  # the (empty) host entry
                arch = target.split(HIP_TARGET_PREFIX, 1)[1]
                out = os.path.join(tmp, f"bundle{b}.{t}.co")
                _run([bundler, "--unbundle", "--type=o", f"--input={bundle_path}",
                      f"--targets={target}", output_flag + out])
                code = objects.setdefault(arch, CodeObject(arch, [], set()))
                code.kernels += _parse_metadata(_run([readelf, "--notes", out]))
                code.descriptor_symbols |= {n for n in _symbol_names(readelf, out) if n.endswith(".kd")}
    return objects


_STUB = re.compile(r"(\d+)__device_stub__(\w+)")


def host_launched_kernels(library, tools):
    """Mangled names of the kernels the library's host code can launch.

    hipcc gives every kernel referenced by host code a launch stub whose
    mangled name is the kernel's with `__device_stub__` prepended to the
    identifier; launching needs that kernel in the GPU's code object.
    """
    kernels = set()
    for name in _symbol_names(tools["llvm-readelf"], library):
        m = _STUB.search(name)
        if m:
            length = int(m.group(1)) - len("__device_stub__")
            kernel = name[:m.start()] + str(length) + m.group(2)
            kernels.add(kernel)
    return kernels


def demangle(names, tools):
    """{mangled: readable}, via llvm-cxxfilt next to llvm-readelf when present."""
    cxxfilt = os.path.join(os.path.dirname(os.path.realpath(tools["llvm-readelf"])), "llvm-cxxfilt")
    names = sorted(names)
    if not names or not os.access(cxxfilt, os.X_OK):
        return {n: n for n in names}
    out = subprocess.run([cxxfilt], input="\n".join(names), stdout=subprocess.PIPE, text=True).stdout
    readable = out.splitlines()
    return dict(zip(names, readable)) if len(readable) == len(names) else {n: n for n in names}
