"""libowf.so exports the public API and nothing else: the C API (owf_*) and what the public headers
declare in namespace owf, all under one symbol version; never the library's or the adapters'
internals (owf::detail, owf::formats), nor C++ standard library instantiations."""
import os
import re
import subprocess
import unittest

LIBRARY = os.environ["OWF_LIBRARY"]
SOVERSION = os.environ["OWF_SOVERSION"]
PUBLIC = re.compile(r"^(owf_\w+|(typeinfo for |typeinfo name for |vtable for )?owf::.+)@@OWF_" + re.escape(SOVERSION))


def exported():
    """(demangled name with its version) of every symbol libowf.so defines for other programs."""
    output = subprocess.run(["nm", "-D", "--defined-only", "-C", LIBRARY], capture_output=True, text=True,
                            check=True).stdout
    return [line.split(" ", 2)[2] for line in output.splitlines()]


class ExportsTest(unittest.TestCase):
    def test_only_the_public_api(self):
        symbols = exported()
        self.assertGreater(len(symbols), 50)
        strays = [s for s in symbols if s != f"OWF_{SOVERSION}" and not PUBLIC.match(s)]
        self.assertEqual(strays, [], "exported but not public API")
        internal = [s for s in symbols if re.search(r"owf::(detail|formats)::|\(anonymous namespace\)", s)]
        self.assertEqual(internal, [])

    def test_the_entry_points(self):
        names = {s.split("@@")[0] for s in exported()}
        for c_function in ("owf_open", "owf_close", "owf_read_rows", "owf_content_digest", "owf_version"):
            self.assertIn(c_function, names)
        for prefix in ("owf::open(", "owf::write(", "owf::read_rows(", "owf::registry()", "owf::content_digest(",
                       "owf::library_version()", "vtable for owf::Model", "typeinfo for owf::Format"):
            self.assertTrue(any(name.startswith(prefix) for name in names), f"{prefix}... is not exported")


if __name__ == "__main__":
    unittest.main()
