"""`cmake --install` into a temporary prefix, then examples/ built against that prefix the two ways a
user would (find_package(owf) and pkg-config) and run on corpus files: a broken install rule, a
missing export or a wrong path in owf.pc or owfConfig.cmake fails here."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

from owftest import CORPUS, SOURCE, run_owf

BUILD = pathlib.Path(os.environ["OWF_BUILD_DIR"])
CMAKE = os.environ["OWF_CMAKE"]
VERSION = os.environ["OWF_VERSION"]
SOVERSION = os.environ["OWF_SOVERSION"]
# One file of each format the examples read, and one the library refuses.
SAMPLES = ["safetensors/ollama-discollama-adapters.safetensors", "gguf/ggml-mnist-fc-f32.gguf",
           "npz/g2p_en-checkpoint20.npz", "npy/g2p_en-enc_w_hh.npy", "pytorch/ggml-mnist_model.state_dict",
           "onnx/silero_vad_16k_op15.onnx"]
REFUSED = "other/stories260K.bin"


def run(command, env=None, cwd=None):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600,
                            env=None if env is None else {**os.environ, **env}, cwd=cwd)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))}: exit {result.returncode}\n"
                             f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result.stdout


def linked_libowf(program):
    """The libowf.so the dynamic loader picks for `program`, or None when it links none."""
    for line in run(["ldd", program]).splitlines():
        if "libowf.so" in line:
            return pathlib.Path(line.split("=>")[1].split("(")[0].strip()).resolve()
    return None


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("pkg-config", "cc", "c++", "ldd", "readelf"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: run scripts/install-deps")
        cls._tmp = tempfile.TemporaryDirectory(prefix="owf-install-")
        cls.tmp = pathlib.Path(cls._tmp.name)
        cls.prefix = cls.tmp / "prefix"
        run([CMAKE, "--install", BUILD, "--prefix", cls.prefix])
        cls.libdir = next(p.parent for p in cls.prefix.glob("lib*/**/libowf.a"))
        cls.digests = {name: run_owf("hash", CORPUS / name, check=0).stdout.split()[0] for name in SAMPLES}

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def check_examples(self, owf_list, owf_info):
        """Both examples on every sample: the CLI's digest, and a clear refusal of a bad file."""
        for name in SAMPLES:
            with self.subTest(example="owf_list", file=name):
                lines = run([owf_list, CORPUS / name]).splitlines()
                self.assertIn(f"owf {VERSION}, format ", lines[0])
                self.assertEqual(lines[-1], f"content {self.digests[name]}")
            with self.subTest(example="owf_info", file=name):
                lines = run([owf_info, CORPUS / name]).splitlines()
                self.assertTrue(lines[0].startswith(f"owf {VERSION} (headers {VERSION}), format "), lines[0])
                self.assertEqual(lines[-1], f"content {self.digests[name]}")
        for program in (owf_list, owf_info):
            result = subprocess.run([program, CORPUS / REFUSED], capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 2, result.stdout)
            self.assertIn("stories260K.bin", result.stderr)

    def test_installed_files(self):
        include = self.prefix / "include"
        for path in [include / "owf.h", include / "owf/owf.h", include / "owf/version.h", include / "owf/export.h",
                     self.libdir / "libowf.a", self.libdir / f"libowf.so.{VERSION}",
                     self.libdir / "cmake/owf/owfConfig.cmake", self.libdir / "cmake/owf/owfConfigVersion.cmake",
                     self.libdir / "pkgconfig/owf.pc", self.prefix / "share/man/man1/owf.1",
                     self.prefix / "share/bash-completion/completions/owf", self.prefix / "share/doc/owf/LICENSE"]:
            self.assertTrue(path.is_file(), f"not installed: {path.relative_to(self.prefix)}")
        self.assertEqual(os.readlink(self.libdir / "libowf.so"), f"libowf.so.{SOVERSION}")
        soname = [line for line in run(["readelf", "-d", self.libdir / "libowf.so"]).splitlines() if "SONAME" in line]
        self.assertIn(f"[libowf.so.{SOVERSION}]", soname[0])
        self.assertIn("Apache License", (self.prefix / "share/doc/owf/LICENSE").read_text())
        # The adapters' toolkit (lib/internal/) stays out of the installed API.
        self.assertFalse((include / "owf/internal").exists())
        for toolkit in ("bytes.h", "checked.h", "zip.h", "protobuf.h"):
            self.assertFalse((include / "owf" / toolkit).exists(), f"toolkit header installed: owf/{toolkit}")
        # Every public header is exported (owf/export.h) and compiles on its own.
        for header in sorted((SOURCE / "lib/include/owf").glob("*.h")):
            if header.name != "export.h":
                self.assertIn("namespace OWF_EXPORT owf {", header.read_text(),
                              f"{header.name} must open its namespace as `namespace OWF_EXPORT owf {{` (owf/export.h)")

    def test_installed_cli_uses_the_installed_library(self):
        owf = self.prefix / "bin/owf"
        self.assertEqual(run([owf, "--version"]).strip(), f"owf {VERSION}")
        self.assertEqual(linked_libowf(owf), (self.libdir / f"libowf.so.{VERSION}").resolve())
        name = SAMPLES[0]
        self.assertEqual(run([owf, "hash", CORPUS / name]).split()[0], self.digests[name])

    def test_find_package(self):
        build = self.tmp / "find_package"
        run([CMAKE, "-S", SOURCE / "examples", "-B", build, f"-DCMAKE_PREFIX_PATH={self.prefix}",
             "-DCMAKE_BUILD_TYPE=Release"])
        run([CMAKE, "--build", build, "-j2"])
        self.assertEqual(linked_libowf(build / "owf_info"), (self.libdir / f"libowf.so.{VERSION}").resolve())
        self.assertIsNone(linked_libowf(build / "owf_list"))  # owf::owf_static
        self.check_examples(build / "owf_list", build / "owf_info")

    def test_pkg_config(self):
        env = {"PKG_CONFIG_PATH": str(self.libdir / "pkgconfig")}
        self.assertEqual(run(["pkg-config", "--modversion", "owf"], env=env).strip(), VERSION)
        cflags = run(["pkg-config", "--cflags", "owf"], env=env).split()
        libs = run(["pkg-config", "--libs", "owf"], env=env).split()
        rpath = f"-Wl,-rpath,{run(['pkg-config', '--variable=libdir', 'owf'], env=env).strip()}"
        owf_list = self.tmp / "owf_list"
        owf_info = self.tmp / "owf_info"
        run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", *cflags, SOURCE / "examples/c/owf_list.c",
             "-o", owf_list, *libs, rpath])
        run(["c++", "-std=c++20", "-Wall", "-Wextra", "-Werror", *cflags, SOURCE / "examples/cpp/owf_info.cpp",
             "-o", owf_info, *libs, rpath])
        self.check_examples(owf_list, owf_info)
        # --static: the archive and its dependencies from Requires.private and Libs.private.
        static_libs = ["-l:libowf.a" if flag == "-lowf" else flag
                       for flag in run(["pkg-config", "--static", "--libs", "owf"], env=env).split()]
        owf_list_static = self.tmp / "owf_list_static"
        run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", *cflags, SOURCE / "examples/c/owf_list.c",
             "-o", owf_list_static, *static_libs])
        self.assertIsNone(linked_libowf(owf_list_static))
        lines = run([owf_list_static, CORPUS / SAMPLES[1]]).splitlines()
        self.assertEqual(lines[-1], f"content {self.digests[SAMPLES[1]]}")

    @unittest.skipUnless(os.environ.get("OWF_WITH_PYTHON") == "1", "configured with -DOWF_BUILD_PYTHON=OFF")
    def test_python_module(self):
        site = next(self.prefix.glob("lib/python3*/dist-packages"))
        target = self.tmp / "converted.safetensors"
        out = run([sys.executable, SOURCE / "examples/python/convert_and_check.py", CORPUS / SAMPLES[1], target],
                  env={"PYTHONPATH": str(site)})
        self.assertIn("same weights", out)
        native = next((site / "owf").glob("_native*.so"))
        self.assertEqual(linked_libowf(native), (self.libdir / f"libowf.so.{VERSION}").resolve())


if __name__ == "__main__":
    unittest.main()
