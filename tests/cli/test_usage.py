"""The command line itself: --version, help with an example for every command, and usage errors as one
stderr line with exit 2."""
import unittest

from owftest import OwfTestCase, run_owf

COMMANDS = ("inspect", "convert", "diff", "verify", "hash", "meta")


class UsageTest(OwfTestCase):
    def test_version(self):
        result = run_owf("--version", check=0)
        self.assertRegex(result.stdout.strip(), r"^owf \d+\.\d+\.\d+$")

    def test_help_lists_commands_and_formats(self):
        text = run_owf("--help", check=0).stdout
        for command in COMMANDS:
            self.assertIn(command, text)
        for format_name in ("owf", "safetensors", "numpy"):
            self.assertIn(format_name, text)

    def test_every_command_has_help_with_an_example(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                text = run_owf(command, "--help", check=0).stdout
                self.assertIn("Usage:", text)
                self.assertRegex(text, r"Examples?:\n  owf " + command)

    def test_usage_errors(self):
        cases = [
            ([], "subcommand"),
            (["frobnicate"], "frobnicate"),
            (["convert", "only-one-argument"], "OUT"),
            (["diff", "--atol", "lots", "a", "b"], "lots"),
            (["inspect", "--no-such-flag", "x"], "--no-such-flag"),
            (["meta"], "FILE"),
        ]
        for args, fragment in cases:
            with self.subTest(args=args):
                self.assertRefused(run_owf(*args), fragment)


if __name__ == "__main__":
    unittest.main()
