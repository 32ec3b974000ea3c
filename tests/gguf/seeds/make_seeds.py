"""Writes the fuzz seeds of tests/fuzz/fuzz_gguf.cpp that the corpus does not cover:
every_type.gguf (every key-value type and array element type, general.alignment 64, Q8_0, Q4_0,
Q4_K, F16 and rank-0 tensors). Run with /usr/bin/python3 from this folder; deterministic."""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent / "support")]

from test_gguf_npm_interop import GGML_TYPE, GgufBuilder  # noqa: E402


def every_type():
    gguf = GgufBuilder(alignment=64)
    gguf.kv("general.architecture", "string", "llama")
    gguf.kv("general.alignment", "u32", 64)
    for value_type, value in (("u8", 7), ("i8", -7), ("u16", 700), ("i16", -700), ("u32", 70000),
                              ("i32", -70000), ("f32", 0.5), ("bool", True), ("string", "seed"),
                              ("u64", 2**40), ("i64", -2**40), ("f64", 0.25)):
        gguf.kv("s." + value_type, value_type, value)
        gguf.kv("a." + value_type, "array", [value, value], value_type)
    gguf.kv("general.quantization_version", "u32", 2)
    pattern = bytes(range(256)) * 4
    gguf.tensor("q8", [64, 2], GGML_TYPE["q8_0"], pattern[:136])
    gguf.tensor("q4", [32], GGML_TYPE["q4_0"], pattern[:18])
    gguf.tensor("q4k", [256], GGML_TYPE["q4_k"], pattern[:144])
    gguf.tensor("half", [3, 2], GGML_TYPE["f16"], pattern[:12])
    gguf.tensor("scalar", [], GGML_TYPE["f32"], pattern[:4])
    return gguf.build()


if __name__ == "__main__":
    (HERE / "every_type.gguf").write_bytes(every_type())
