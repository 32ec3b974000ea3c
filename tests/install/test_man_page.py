"""The manual page owf(1) documents every command and option the CLI's --help lists, and renders
without a warning from groff."""
import os
import pathlib
import re
import shutil
import subprocess
import unittest

from owftest import run_owf

MAN_PAGE = pathlib.Path(os.environ["OWF_BUILD_DIR"]) / "tools/owf.1"


def help_items(section, *command):
    """The subcommands, or the option names, that `owf COMMAND --help` lists in SECTION."""
    lines = run_owf(*command, "--help", check=0).stdout.splitlines()
    items, inside = [], False
    for line in lines:
        if not line.startswith(" "):
            inside = line == f"{section}:"
        elif inside and re.match(r"^  \S", line):
            items += line.split()[0].split(",")
    return items


def commands():
    """Every command path: ("inspect",), ..., ("meta", "get"), ..."""
    paths = []
    for name in help_items("Subcommands"):
        paths.append((name,))
        paths += [(name, sub) for sub in help_items("Subcommands", name)]
    return paths


class ManPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        roff = MAN_PAGE.read_text()
        # The text a reader sees: roff's escaped hyphens and font changes undone.
        cls.text = re.sub(r"\\f[BIRP]", "", roff.replace("\\-", "-").replace("\\e", "\\"))

    def test_every_command(self):
        self.assertGreaterEqual(len(commands()), 7)
        for path in commands():
            self.assertIn(f"owf {' '.join(path)}", self.text, f"owf.1 does not document 'owf {' '.join(path)}'")

    def section(self, path):
        """The part of the page about a command (meta's subcommands are in meta's), or the globals."""
        heading = f'.SS "owf {path[0]} ' if path else ".SH GLOBAL OPTIONS"
        start = self.text.find(heading)
        self.assertNotEqual(start, -1, f"owf.1 has no section {heading}")
        end = re.search(r"(?m)^\.S[SH] ", self.text[start + 1:])
        return self.text[start:start + 1 + end.start()] if end else self.text[start:]

    def test_every_option(self):
        for path in [(), *commands()]:
            section = self.section(path)
            # -h/--help, which every command has, is documented once among the global options.
            for option in [o for o in help_items("Options", *path) if not path or o not in ("-h", "--help")]:
                with self.subTest(command=" ".join(path), option=option):
                    documented = re.search(rf"(?m)^\.[A-Z]+ .*(?<![\w-]){re.escape(option)}(?![\w-])", section)
                    self.assertTrue(documented, f"owf.1 does not document {option} of 'owf {' '.join(path)}'")

    def test_version_is_the_projects(self):
        self.assertIn(f'"owf {os.environ["OWF_VERSION"]}"', MAN_PAGE.read_text())

    def test_renders_without_warnings(self):
        if shutil.which("groff") is None:
            self.fail("groff is missing: run scripts/install-deps")
        result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN_PAGE], capture_output=True, text=True)
        self.assertEqual((result.returncode, result.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
