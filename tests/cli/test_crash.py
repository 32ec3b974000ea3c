"""Writes that survive kill -9 and full disks (spec §8, issue 11 §2).

`owf convert` to every output format (and .owf compressed) and `owf meta set` (in place and by
rewrite) are killed with SIGKILL at random moments over the write's duration: afterwards the target
is absent (or the old file) or complete and valid by `owf verify`, the input is unchanged byte for
byte, and nothing else is left in the directory (outputs are unnamed O_TMPFILE files until they are
complete). A full disk, a read-only directory and a missing one: exit 2, a message naming the
target, nothing left."""
import hashlib
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import numpy

from owftest import OWF, OwfTestCase, run_owf, write_safetensors

KILLS_PER_CASE = 20


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_and_kill(args, delay):
    """Starts owf with `args`, sends SIGKILL after `delay` seconds (if it still runs), waits for it."""
    process = subprocess.Popen([OWF, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()


def duration_of(args):
    """Seconds one uninterrupted run of owf `args` takes."""
    start = time.monotonic()
    run_owf(*args, check=0)
    return time.monotonic() - start


class KilledWritesTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        self.random = random.Random(11)
        generator = numpy.random.default_rng(11)
        self.input = self.tmp / "in.safetensors"
        # 8 MiB of float weights: long enough to kill mid-write, short enough for 20 kills per case.
        write_safetensors(self.input, {f"blk.{i}.w": generator.standard_normal((512, 1024), dtype=numpy.float32)
                                       for i in range(4)})
        self.input_digest = sha256(self.input)

    def assert_only(self, *names):
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), sorted(names))

    def assert_complete(self, path, content):
        result = run_owf("verify", path)
        self.assertEqual(result.returncode, 0, f"{path.name} after a kill: {result.stderr}")
        self.assertEqual(run_owf("hash", path, check=0).stdout.split()[0], content)

    def kill_points(self, args, target):
        """Random delays over the duration of `args`, from before the write starts to after it ends,
        and the content digest of `target` after that uninterrupted run."""
        duration = duration_of(args)
        content = run_owf("hash", target, check=0).stdout.split()[0]
        return [self.random.uniform(0, 1.2 * duration) for _ in range(KILLS_PER_CASE)], content

    def test_convert_killed_leaves_nothing_or_a_complete_file(self):
        for name, extra in (("out.owf", []), ("out.owf", ["--compress"]), ("out.safetensors", []),
                            ("out.npz", []), ("out.gguf", []), ("out.pt", [])):
            with self.subTest(output=name, options=extra):
                target = self.tmp / name
                args = ["convert", self.input, target, *extra]
                delays, content = self.kill_points(args, target)
                target.unlink()
                completed = 0
                for delay in delays:
                    run_and_kill(args, delay)
                    if target.exists():
                        self.assert_only(self.input.name, name)
                        self.assert_complete(target, content)
                        target.unlink()
                        completed += 1
                    self.assert_only(self.input.name)
                self.assertLess(completed, KILLS_PER_CASE, "no kill landed during the write")
        self.assertEqual(sha256(self.input), self.input_digest)

    def test_convert_force_killed_leaves_the_old_file_or_the_new(self):
        target = self.tmp / "out.owf"
        run_owf("convert", self.input, target, check=0)
        args = ["convert", self.input, target, "--compress", "--force"]
        delays, content = self.kill_points(args, target)
        run_owf("convert", self.input, target, "--force", check=0)
        old = sha256(target)
        for delay in delays:
            run_and_kill(args, delay)
            self.assert_only(self.input.name, target.name)
            self.assert_complete(target, content)
            if sha256(target) != old:  # replaced: start again from the raw file
                run_owf("convert", self.input, target, "--force", check=0)

    def test_meta_set_killed_leaves_the_old_metadata_or_the_new(self):
        pristine = self.tmp / "pristine.owf"
        run_owf("convert", self.input, pristine, check=0)
        pristine_bytes = pristine.read_bytes()
        target = self.tmp / "model.owf"
        capacity = int.from_bytes(pristine_bytes[32:40], "little")
        for mode, value in (("in place", "1"), ("rewrite", json.dumps("x" * (capacity + 100)))):
            with self.subTest(mode=mode):
                args = ["meta", "set", target, f"edited={value}"]
                shutil.copyfile(pristine, target)
                delays, content = self.kill_points(args, target)
                for delay in delays:
                    shutil.copyfile(pristine, target)
                    run_and_kill(args, delay)
                    self.assert_only(self.input.name, pristine.name, target.name)
                    self.assert_complete(target, content)
                    metadata = json.loads(run_owf("meta", target, check=0).stdout)
                    self.assertIn(metadata.get("edited"), (None, json.loads(value)))
        self.assertEqual(pristine.read_bytes(), pristine_bytes)
        self.assertEqual(sha256(self.input), self.input_digest)

    def test_meta_set_killed_at_each_fsync(self):
        """The audit's reproducer: strace kills an in-place edit as it makes each step durable. At the
        first fsync the new header is written but not switched to; from the second on, the preamble is."""
        pristine = self.tmp / "pristine.owf"
        run_owf("convert", self.input, pristine, check=0)
        content = run_owf("hash", pristine, check=0).stdout.split()[0]
        target = self.tmp / "model.owf"
        for fsync, expected in ((1, None), (2, 7), (3, 7)):
            with self.subTest(fsync=fsync):
                shutil.copyfile(pristine, target)
                killed = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e", "trace=fsync", "-e",
                                         f"inject=fsync:signal=KILL:when={fsync}", OWF, "meta", "set", target,
                                         "edited=7"], capture_output=True)
                self.assertIn(killed.returncode, (-signal.SIGKILL, 128 + signal.SIGKILL), killed.stderr)
                self.assert_complete(target, content)
                self.assertEqual(json.loads(run_owf("meta", target, check=0).stdout).get("edited"), expected)
                self.assert_only(self.input.name, pristine.name, target.name)


class FailedWritesTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        self.input = self.tmp / "in.safetensors"
        write_safetensors(self.input, {"w": numpy.ones((1024, 1024), dtype=numpy.float32)})  # 4 MiB

    def mount_tmpfs(self, *options):
        """A fresh tmpfs mounted by the test (root only), unmounted at cleanup."""
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root: run the tests as root to cover this case")
        mount = tempfile.mkdtemp(dir="/tmp")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", mount],
                                capture_output=True, text=True)
        if result.returncode != 0:
            os.rmdir(mount)
            self.skipTest(f"cannot mount a tmpfs here ({result.stderr.strip()})")
        self.addCleanup(os.rmdir, mount)
        self.addCleanup(subprocess.run, ["umount", mount], check=True)
        return pathlib.Path(mount)

    def assert_refused_naming(self, target, *extra):
        result = run_owf("convert", self.input, target, *extra)
        self.assertRefused(result, str(target))
        self.assertNotIn(".tmp", result.stderr)
        self.assertEqual(list(target.parent.iterdir()) if target.parent.exists() else [], [])

    def test_full_disk(self):
        full = self.mount_tmpfs("size=1m")
        for name in ("out.owf", "out.safetensors", "out.npz", "out.gguf", "out.pt"):
            with self.subTest(output=name):
                self.assert_refused_naming(full / name)

    def test_read_only_directory(self):
        if os.geteuid() == 0:
            read_only = self.mount_tmpfs("ro,size=1m")  # root ignores directory permissions
        else:
            read_only = self.tmp / "ro"
            read_only.mkdir()
            read_only.chmod(0o555)
            self.addCleanup(read_only.chmod, 0o755)
        self.assert_refused_naming(read_only / "out.owf")

    def test_missing_directory(self):
        self.assert_refused_naming(self.tmp / "missing" / "out.owf")


if __name__ == "__main__":
    unittest.main()
