"""//python:wheel's METADATA: what a plain install pulls and what the bench extra adds.

    wheel_metadata_check.py --lock=requirements_lock.txt --extras=extras.py WHEEL_DIR...

A plain `pip install groupquant-*.whl` must need torch alone; the bench's
modules come with `groupquant[bench]`, and each of their version ranges must
hold the requirements_lock.txt pin the bench is tested with.
"""

import argparse
import email.parser
import glob
import importlib.util
import os
import sys
import unittest
import zipfile

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import Version

ARGS = None


def _parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--lock", required=True)
    p.add_argument("--extras", required=True, help="python/groupquant/bench/extras.py")
    p.add_argument("paths", nargs="+", help="the wheel target's outputs (its folder and name file)")
    return p.parse_args(argv)


def _metadata(paths):
    wheels = [w for p in paths if os.path.isdir(p) for w in glob.glob(os.path.join(p, "*.whl"))]
    assert len(wheels) == 1, f"expected one wheel in {paths}, found {wheels}"
    with zipfile.ZipFile(wheels[0]) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(name).decode("utf-8"))


def _lock_pins(path):
    pins = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                req = Requirement(line)
                pins[req.name.lower()] = Version(next(iter(req.specifier)).version)
    return pins


def _bench_modules(path):
    spec = importlib.util.spec_from_file_location("bench_extras", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXTRA, set(module.MODULES)


def _in_extra(req, extra):
    return req.marker is not None and req.marker.evaluate({"extra": extra}) and \
        not req.marker.evaluate({"extra": ""})


class GroupquantWheelMetadata(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.meta = _metadata(ARGS.paths)
        cls.requires = [Requirement(r) for r in cls.meta.get_all("Requires-Dist") or []]
        cls.pins = _lock_pins(ARGS.lock)
        cls.extra, cls.modules = _bench_modules(ARGS.extras)

    def test_plain_install_needs_torch_alone(self):
        plain = [r for r in self.requires if r.marker is None or r.marker.evaluate({"extra": ""})]
        self.assertEqual([str(r) for r in plain], ["torch>=2.10"])

    def test_bench_extra_declares_what_the_bench_imports(self):
        self.assertIn(self.extra, self.meta.get_all("Provides-Extra") or [])
        bench = [r for r in self.requires if _in_extra(r, self.extra)]
        self.assertEqual({r.name for r in bench}, self.modules)
        self.assertEqual(len(bench), len(self.modules), [str(r) for r in bench])

    def test_bench_ranges_hold_the_locked_versions(self):
        for req in (r for r in self.requires if _in_extra(r, self.extra)):
            pin = self.pins.get(req.name.lower())
            self.assertIsNotNone(pin, f"{req.name} is not pinned in {ARGS.lock}")
            self.assertTrue(req.specifier.contains(pin), f"{req} excludes the locked {req.name}=={pin}")
            # A range, not a pin: the GPU hosts bring their own versions.
            self.assertFalse(any(s.operator == "==" for s in req.specifier), str(req))

    def test_marker_check_itself(self):
        self.assertTrue(_in_extra(Requirement('tqdm>=4; extra == "bench"'), "bench"))
        self.assertFalse(_in_extra(Requirement("tqdm>=4"), "bench"))
        self.assertFalse(Marker('extra == "bench"').evaluate({"extra": "test"}))


if __name__ == "__main__":
    ARGS = _parse(sys.argv[1:])
    unittest.main(argv=[sys.argv[0], "-v"])
