"""GGUF key-values by their GGUF names (issue 8 §3): owf meta get/set/delete on .gguf files, keeping each
key's type, and convert --set into .gguf output; metadata a format cannot hold is refused, not dropped."""
import json
import shutil
import unittest

from owftest import CORPUS, OwfTestCase, run_owf, write_safetensors


def kvs(path):
    metadata = json.loads(run_owf("meta", path, check=0).stdout)
    return {kv["key"]: kv for kv in metadata["gguf"]["kv"]}


class GgufMeta(OwfTestCase):
    def setUp(self):
        super().setUp()
        self.model = self.tmp / "tiny.gguf"
        shutil.copy(CORPUS / "gguf" / "ollama-llama-2-tiny-random.gguf", self.model)
        self.model.chmod(0o644)

    def test_get_by_gguf_name(self):
        before = kvs(self.model)
        self.assertEqual(json.loads(run_owf("meta", "get", self.model, "llama.context_length", check=0).stdout),
                         before["llama.context_length"]["value"])
        self.assertRefused(run_owf("meta", "get", self.model, "no.such.key"), "no.such.key", "not found")

    def test_set_keeps_each_keys_type_and_the_tensors(self):
        before = kvs(self.model)
        digest = run_owf("hash", self.model, check=0).stdout.split()[0]
        run_owf("meta", "set", self.model, "general.name=Tiny model", "llama.context_length=4096", check=0)
        after = kvs(self.model)
        self.assertEqual(after["general.name"]["value"], "Tiny model")
        self.assertEqual(after["llama.context_length"], {**before["llama.context_length"], "value": 4096})
        self.assertEqual(list(after), list(before) + ([] if "general.name" in before else ["general.name"]))
        self.assertEqual(run_owf("hash", self.model, check=0).stdout.split()[0], digest)

    def test_new_keys_take_type_from_type_option_or_value(self):
        run_owf("meta", "set", self.model, "--type", "f32", "my.scale=2", check=0)
        run_owf("meta", "set", self.model, "my.count=7", "my.flag=true", "my.list=[1,2]", check=0)
        after = kvs(self.model)
        self.assertEqual((after["my.scale"]["type"], after["my.scale"]["value"]), ("f32", 2.0))
        self.assertEqual(after["my.count"]["type"], "u32")
        self.assertEqual(after["my.flag"]["type"], "bool")
        self.assertEqual((after["my.list"]["element_type"], after["my.list"]["value"]), ("u32", [1, 2]))

    def test_bad_values_are_refused_and_the_file_kept(self):
        original = self.model.read_bytes()
        self.assertRefused(run_owf("meta", "set", self.model, "llama.context_length=-1"), "llama.context_length",
                           "u32")
        self.assertRefused(run_owf("meta", "set", self.model, "--type", "q7", "x=1"), "unknown GGUF type")
        self.assertRefused(run_owf("meta", "delete", self.model, "no.such.key"), "no.such.key", "not found")
        self.assertEqual(self.model.read_bytes(), original)
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["tiny.gguf"])

    def test_delete(self):
        run_owf("meta", "delete", self.model, "general.name", check=0)
        self.assertNotIn("general.name", kvs(self.model))

    def test_convert_set_lands_in_gguf_output(self):
        write_safetensors(self.tmp / "m.safetensors", {"w": __import__("numpy").ones((2, 32), "float32")})
        run_owf("convert", self.tmp / "m.safetensors", self.tmp / "m.gguf", "--set", "general.name=Mine",
                "--set", "llama.context_length=128", check=0)
        after = kvs(self.tmp / "m.gguf")
        self.assertEqual(after["general.name"]["value"], "Mine")
        self.assertEqual((after["llama.context_length"]["type"], after["llama.context_length"]["value"]), ("u32", 128))
        run_owf("convert", self.model, self.tmp / "copy.gguf", "--set", "llama.context_length=64", check=0)
        self.assertEqual(kvs(self.tmp / "copy.gguf")["llama.context_length"]["type"],
                         kvs(self.model)["llama.context_length"]["type"])

    def test_set_into_a_format_without_metadata_is_refused(self):
        write_safetensors(self.tmp / "m.safetensors", {"w": __import__("numpy").ones((2, 2), "float32")})
        self.assertRefused(run_owf("convert", self.tmp / "m.safetensors", self.tmp / "m.npz", "--set", "a=1"),
                           "m.npz", "no metadata")
        self.assertFalse((self.tmp / "m.npz").exists())


if __name__ == "__main__":
    unittest.main()
