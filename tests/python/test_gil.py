"""The module releases the GIL while it opens, reads, decodes, digests and writes: another Python
thread runs during such a call. Not timed: with a switch interval of 30 s the interpreter takes
the GIL from no thread on its own, so the main thread can run while a call is under way only
because the call released it."""
import sys
import threading
import unittest

import numpy as np

import owf
from owftest import OwfTestCase


class GilTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(3)
        self.tensors = {"w": rng.standard_normal((1024, 1024), dtype=np.float32)}
        self.compressed = self.tmp / "w.owf"
        owf.save_file(self.tensors, self.compressed, compress=True)

    def assertRunsBeside(self, call, attempts=5):
        """Runs call() on a thread; asserts that this thread ran before the call returned, in one of
        `attempts` runs: a call that releases the GIL only briefly may end before this thread is
        scheduled on a loaded machine, while one that keeps it fails every run."""
        for _ in range(attempts):
            done = []

            def work():
                call()
                done.append(True)

            interval = sys.getswitchinterval()
            sys.setswitchinterval(30)
            try:
                worker = threading.Thread(target=work)
                # start() returns once it gets the GIL back from the worker, which goes straight into call().
                worker.start()
                ran_during_call = not done
                worker.join()
            finally:
                sys.setswitchinterval(interval)
            self.assertEqual(done, [True])
            if ran_during_call:
                return
        self.fail(f"the call kept the GIL in {attempts} runs")

    def test_reads_and_decodes_release_the_gil(self):
        with owf.safe_open(self.compressed, framework="np") as f:
            self.assertRunsBeside(lambda: f.get_tensor("w"))
            self.assertRunsBeside(lambda: f.get_slice("w")[100:900])
            self.assertRunsBeside(lambda: f.get_tensor("w", dequantize=True))
        self.assertRunsBeside(lambda: owf.safe_open(self.compressed, framework="np").close())
        self.assertRunsBeside(lambda: owf.load_file(self.compressed))

    def test_digests_and_writes_release_the_gil(self):
        self.assertRunsBeside(lambda: owf.content_digest(self.compressed))
        self.assertRunsBeside(lambda: owf.save_file(self.tensors, self.tmp / "again.owf", compress=True))
        self.assertRunsBeside(lambda: owf.save_file(self.tensors, self.tmp / "again.safetensors"))

    def test_a_call_that_keeps_the_gil_is_caught(self):
        # The check itself can fail: a pure-Python loop never releases the GIL.
        with self.assertRaisesRegex(AssertionError, "kept the GIL"):
            self.assertRunsBeside(lambda: sum(range(2_000_000)))


if __name__ == "__main__":
    unittest.main()
