"""The bash completion (tools/owf.bash) completes the CLI's commands and each command's options, as
its --help lists them, format names after --format, and file names for the arguments."""
import os
import pathlib
import subprocess
import tempfile
import unittest

from owftest import OWF, SOURCE
from test_man_page import commands, help_items

SCRIPT = SOURCE / "tools/owf.bash"


def complete(*words):
    """COMPREPLY for a command line whose last word is being completed (`owf` is the built CLI)."""
    line = " ".join(f"'{w}'" for w in (OWF, *words))
    program = f'source "{SCRIPT}"; COMP_WORDS=({line}); COMP_CWORD={len(words)}; _owf; printf "%s\\n" "${{COMPREPLY[@]}}"'
    result = subprocess.run(["bash", "--norc", "-c", program], capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or result.stderr:
        raise AssertionError(f"completing {words}: exit {result.returncode}: {result.stderr}")
    return [w for w in result.stdout.splitlines() if w]


class CompletionTest(unittest.TestCase):
    def test_commands(self):
        self.assertEqual(sorted(complete("")), sorted(help_items("Subcommands")))
        self.assertEqual(complete("con"), ["convert"])
        self.assertEqual(complete("--threads", "4", "ve"), ["verify"])

    def test_every_commands_options(self):
        global_options = set(help_items("Options"))
        for path in commands():
            with self.subTest(command=" ".join(path)):
                expected = set(help_items("Options", *path)) | global_options
                self.assertEqual(set(complete(*path, "-")), expected)

    def test_option_prefix(self):
        self.assertEqual(sorted(complete("convert", "in.npz", "--comp")), ["--compress", "--compress-level"])
        self.assertEqual(complete("meta", "set", "--verb"), ["--verbose"])

    def test_meta_subcommands(self):
        self.assertEqual(sorted(set(complete("meta", "")) & {"get", "set", "delete"}), ["delete", "get", "set"])
        self.assertNotIn("get", complete("meta", "get", ""))

    def test_format_names(self):
        names = complete("convert", "in.npz", "out", "--format", "")
        self.assertIn("safetensors", names)
        self.assertIn("gguf", names)
        self.assertEqual(complete("convert", "in.npz", "out", "--format", "saf"), ["safetensors"])

    def test_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            model = pathlib.Path(tmp) / "weights.safetensors"
            model.write_bytes(b"")
            self.assertEqual(complete("inspect", str(pathlib.Path(tmp) / "wei")), [str(model)])
            self.assertEqual(complete("sign", "--key", str(pathlib.Path(tmp) / "w")), [str(model)])
        self.assertEqual(complete("inspect", "--filter", ""), [])  # a regex, not a file


if __name__ == "__main__":
    unittest.main()
