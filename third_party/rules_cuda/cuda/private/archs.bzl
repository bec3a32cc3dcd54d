"""Parsing of upstream rules_cuda's arch spec strings into nvcc -gencode flags.

Accepted tokens, separated by ',' or ';':
  sm_90a               SASS for sm_90a from compute_90a
  compute_80           PTX for compute_80 (JIT-compiled by the driver)
  compute_90a:sm_90a   upstream's explicit virtual:real form
  compute_80:compute_80
Upstream also lets one virtual arch list several reals ("compute_80:sm_80,sm_86");
here the second token stands alone, which yields the same SASS set.
"""

ArchsInfo = provider(
    doc = "The (virtual, real) arch pairs to compile for.",
    fields = {"pairs": "list of (virtual, real) string tuples"},
)

def parse_archs(spec):
    """Turns a spec string into a list of (virtual, real) pairs; fails on junk."""
    pairs = []
    for token in spec.replace(";", ",").split(","):
        token = token.strip()
        if not token:
            continue
        if ":" in token:
            virtual, real = token.split(":", 1)
        elif token.startswith("sm_"):
            virtual, real = "compute_" + token[3:], token
        elif token.startswith("compute_"):
            virtual, real = token, token
        else:
            fail("rules_cuda: bad arch token '%s' in '%s' (want sm_XX, compute_XX or compute_XX:sm_XX)" % (token, spec))
        if not virtual.startswith("compute_") or not (real.startswith("sm_") or real.startswith("compute_")):
            fail("rules_cuda: bad arch token '%s' in '%s'" % (token, spec))
        pairs.append((virtual, real))
    return pairs

def gencode_flags(pairs):
    return ["-gencode=arch=%s,code=%s" % (v, r) for v, r in pairs]

def _archs_flag_impl(ctx):
    return [ArchsInfo(pairs = parse_archs(ctx.build_setting_value))]

cuda_archs_flag = rule(
    implementation = _archs_flag_impl,
    build_setting = config.string(flag = True),
    doc = "Command-line settable arch list (upstream's @rules_cuda//cuda:archs).",
)
