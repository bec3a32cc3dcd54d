"""py_wheel on its own: the fixture wheel's layout, and wheelmaker's guarantees.

Checks what pip and the wheel spec rely on (file name, METADATA, WHEEL,
RECORD hashes and sizes) and what the remote cache relies on (byte-equal
output whatever the inputs' timestamps, permissions or listing order).
"""

import base64
import email.parser
import hashlib
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import unittest
import zipfile

RUNFILES = os.environ.get("TEST_SRCDIR") or os.path.dirname(os.getcwd())
WORKSPACE = os.path.join(RUNFILES, "groupquant")
FIXTURE = os.path.join(WORKSPACE, "tests", "wheel")
WHEEL_DIR = os.path.join(FIXTURE, "fixture_wheel")
EXPECTED_NAME = "fixture_dist-1.2.3.post1+abc-py3-none-linux_x86_64.whl"
DIST_INFO = "fixture_dist-1.2.3.post1+abc.dist-info"


def _load_wheelmaker():
    path = os.path.join(RUNFILES, "rules_python", "tools", "wheelmaker.py")
    spec = importlib.util.spec_from_file_location("wheelmaker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wheelmaker = _load_wheelmaker()


def _record_rows(zf):
    text = zf.read(f"{DIST_INFO}/RECORD").decode("utf-8")
    return [line.split(",") for line in text.splitlines()]


class FixtureWheel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        names = os.listdir(WHEEL_DIR)
        cls.names = names
        cls.path = os.path.join(WHEEL_DIR, names[0])
        cls.zf = zipfile.ZipFile(cls.path)

    @classmethod
    def tearDownClass(cls):
        cls.zf.close()

    def test_one_wheel_named_from_version_file(self):
        self.assertEqual(self.names, [EXPECTED_NAME])
        with open(os.path.join(FIXTURE, "fixture_wheel.name"), encoding="utf-8") as f:
            self.assertEqual(f.read(), EXPECTED_NAME)

    def test_contents_stripped_and_sorted_metadata_last(self):
        self.assertEqual(self.zf.namelist(), [
            "pkg/__init__.py",
            "pkg/data.txt",
            "pkg/lib/libfixture.so",
            "pkg/version.py",
            f"{DIST_INFO}/METADATA",
            f"{DIST_INFO}/WHEEL",
            f"{DIST_INFO}/RECORD",
        ])

    def test_fixed_timestamps_and_modes(self):
        for info in self.zf.infolist():
            self.assertEqual(info.date_time, (1980, 1, 1, 0, 0, 0), info.filename)
            mode = info.external_attr >> 16
            self.assertTrue(stat.S_ISREG(mode), info.filename)
            want = 0o755 if info.filename.endswith(".so") else 0o644
            self.assertEqual(stat.S_IMODE(mode), want, info.filename)

    def test_metadata(self):
        msg = email.parser.Parser().parsestr(self.zf.read(f"{DIST_INFO}/METADATA").decode("utf-8"))
        self.assertEqual(msg["Metadata-Version"], "2.1")
        self.assertEqual(msg["Name"], "Fixture.Dist")
        self.assertEqual(msg["Version"], "1.2.3.post1+abc")
        self.assertEqual(msg["Summary"], "- a summary that starts with a dash")
        self.assertEqual(msg["Requires-Python"], ">=3.9")
        self.assertEqual(msg["License"], "BSD-3-Clause")
        self.assertEqual(msg.get_all("Requires-Dist"), [
            "torch>=2.10",
            "pytest>=7; (python_version >= '3.9') and extra == \"test\"",
        ])
        self.assertEqual(msg.get_all("Provides-Extra"), ["test"])
        self.assertEqual(msg["Description-Content-Type"], "text/markdown")
        with open(os.path.join(FIXTURE, "fixture", "DESCRIPTION.md"), encoding="utf-8") as f:
            self.assertEqual(msg.get_payload(), f.read())

    def test_wheel_file(self):
        lines = self.zf.read(f"{DIST_INFO}/WHEEL").decode("utf-8").splitlines()
        self.assertIn("Wheel-Version: 1.0", lines)
        self.assertIn("Root-Is-Purelib: false", lines)
        self.assertEqual([l for l in lines if l.startswith("Tag:")], ["Tag: py3-none-linux_x86_64"])

    def test_record_hashes_and_sizes(self):
        rows = _record_rows(self.zf)
        self.assertEqual([r[0] for r in rows], self.zf.namelist())
        for name, digest, size in rows:
            if name.endswith("/RECORD"):
                self.assertEqual((digest, size), ("", ""))
                continue
            data = self.zf.read(name)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            self.assertEqual(digest, "sha256=" + want, name)
            self.assertEqual(int(size), len(data), name)

    def test_zip_is_sound(self):
        self.assertIsNone(self.zf.testzip())


class Wheelmaker(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def _tree(self, name, files, mode, mtime):
        root = os.path.join(self.tmp, name)
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(path, mode)
            os.utime(path, (mtime, mtime))
        return root

    def _build(self, inputs, out, version="{__version__}", version_file=None, extra=()):
        os.makedirs(out)
        argv = ["--distribution=demo", f"--version={version}", "--python_tag=py3", "--abi=none",
                "--platform=any", f"--out_dir={out}", f"--name_file={out}.name", *extra]
        if version_file:
            argv.append(f"--version_file={version_file}")
        argv += [f"--input_file={arc};{path}" for arc, path in inputs]
        return wheelmaker.build_wheel(wheelmaker._parse_args(argv))

    def test_byte_equal_whatever_mtime_mode_and_order(self):
        files = {"demo/__init__.py": "x = 1\n", "demo/version.py": "__version__ = '0.3.0'\n",
                 "demo/lib/libdemo.so": "elf\n"}
        a = self._tree("a", files, 0o600, 1_000_000_000)
        b = self._tree("b", files, 0o777, 1_700_000_000)
        arcs = sorted(files)
        first = self._build([(r, os.path.join(a, r)) for r in arcs], os.path.join(self.tmp, "out1"),
                            version_file=os.path.join(a, "demo/version.py"))
        second = self._build([(r, os.path.join(b, r)) for r in reversed(arcs)], os.path.join(self.tmp, "out2"),
                             version_file=os.path.join(b, "demo/version.py"))
        self.assertEqual(os.path.basename(first), "demo-0.3.0-py3-none-any.whl")
        with open(first, "rb") as f1, open(second, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())
        with zipfile.ZipFile(first) as zf:
            self.assertIn("Root-Is-Purelib: true", zf.read("demo-0.3.0.dist-info/WHEEL").decode())

    def test_folder_input_contributes_its_files(self):
        root = self._tree("t", {"x/a.py": "", "x/sub/b.py": ""}, 0o644, 0)
        path = self._build([("pkg", os.path.join(root, "x"))], os.path.join(self.tmp, "out"), version="1.0")
        with zipfile.ZipFile(path) as zf:
            self.assertEqual(zf.namelist()[:2], ["pkg/a.py", "pkg/sub/b.py"])

    def _fails(self, message, **kwargs):
        kwargs.setdefault("inputs", [("demo/a.py", self._tree("f", {"a.py": ""}, 0o644, 0) + "/a.py")])
        kwargs.setdefault("version", "1.0")
        out = os.path.join(tempfile.mkdtemp(dir=self.tmp), "out")
        with self.assertRaises(wheelmaker.WheelError) as ctx:
            self._build(out=out, **kwargs)
        self.assertIn(message, str(ctx.exception))

    def test_rejects_non_canonical_version(self):
        self._fails("canonical PEP 440", version="1.0-beta")
        self._fails("canonical PEP 440", version="1.0+CPU")

    def test_rejects_unknown_placeholder(self):
        vf = self._tree("v", {"v.py": "VERSION = '1.0'\n"}, 0o644, 0) + "/v.py"
        self._fails("has no top-level `__version__", version="{__version__}", version_file=vf)
        self._fails("has no version_file", version="{__version__}")

    def test_rejects_unclean_or_clashing_paths(self):
        f = self._tree("p", {"a.py": "", "b.py": ""}, 0o644, 0)
        self._fails("not a clean relative path", inputs=[("../a.py", f + "/a.py")])
        self._fails("two inputs map to", inputs=[("a.py", f + "/a.py"), ("a.py", f + "/b.py")])
        self._fails("metadata folder", inputs=[("demo-1.0.dist-info/x", f + "/a.py")])
        self._fails("no files", inputs=[])

    def test_rejects_bad_tags(self):
        self._fails("platform", extra=["--platform=linux-x86_64"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
