"""The metadata owf writes conforms to spec/metadata.schema.json, whatever format it came from."""
import json
import unittest

import jsonschema

from owftest import CORPUS, SOURCE, OwfTestCase, run_owf

SCHEMA = json.loads((SOURCE / "spec" / "metadata.schema.json").read_text())
INPUTS = [
    SOURCE / "samples" / "tiny-mlp.safetensors",
    CORPUS / "gguf" / "ollama-llama-2-tiny-random.gguf",
    CORPUS / "pytorch" / "stories260K-bf16.pt",
    CORPUS / "onnx" / "silero_vad_16k_op15.onnx",
    CORPUS / "npz" / "g2p_en-checkpoint20.npz",
]


class SchemaTest(OwfTestCase):
    def test_schema_is_valid_draft_2020_12(self):
        jsonschema.Draft202012Validator.check_schema(SCHEMA)

    def test_converted_metadata_conforms(self):
        validator = jsonschema.Draft202012Validator(SCHEMA)
        for source in INPUTS:
            with self.subTest(source=source.name):
                out = self.tmp / (source.stem + ".owf")
                run_owf("convert", source, out, "--license", "MIT", "--architecture", "test", check=0)
                twice = self.tmp / (source.stem + "-again.owf")
                run_owf("convert", out, twice, "--dtype", "f16", check=0)
                metadata = json.loads(run_owf("meta", twice, check=0).stdout)
                self.assertEqual([e.message for e in validator.iter_errors(metadata)], [])
                self.assertEqual(len(metadata["provenance"]["conversions"]), 2)

    def test_schema_rejects_a_malformed_digest(self):
        bad = {"provenance": {"parents": [{"name": "x", "digest": "md5:00"}]}}
        self.assertFalse(jsonschema.Draft202012Validator(SCHEMA).is_valid(bad))


if __name__ == "__main__":
    unittest.main()
