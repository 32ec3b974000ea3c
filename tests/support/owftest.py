"""Shared helpers for the end-to-end and interop tests (run under /usr/bin/python3 by ctest)."""
import os
import pathlib
import subprocess
import tempfile
import unittest

OWF = os.environ.get("OWF_BIN", "owf")
CORPUS = pathlib.Path(os.environ.get("OWF_CORPUS_DIR", "../shared/corpus"))
SOURCE = pathlib.Path(os.environ.get("OWF_SOURCE_DIR", "."))


def run_owf(*args, check=None, timeout=120):
    """Runs the owf CLI; `check` is the exit code it must return (None: any)."""
    result = subprocess.run([OWF, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check is not None and result.returncode != check:
        raise AssertionError(
            f"owf {' '.join(map(str, args))}: exit {result.returncode}, wanted {check}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result


class OwfTestCase(unittest.TestCase):
    """A test case with a fresh temporary directory in self.tmp."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = pathlib.Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def assertRefused(self, result, *fragments):
        """Exit 2 with one line on stderr that contains every fragment."""
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
