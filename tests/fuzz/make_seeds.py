"""Writes the fuzz targets' seeds into tests/fuzz/seeds/<target>/: small files (at most 64 KiB) that
keep the structure of the corpus files (names, dtypes, ranks, key-values, graphs) with their tensors
cut to a few elements, written by the real tools where one exists (torch, numpy, onnx), plus
hand-built files for features the corpus lacks. Deterministic; run with /usr/bin/python3 from the
source tree with OWF_BIN naming a built `owf` (it writes the .owf seeds):

    OWF_BIN=build/tools/owf /usr/bin/python3 tests/fuzz/make_seeds.py

Regression inputs for fuzzer findings live beside the generated seeds as regression-*.
"""
import collections
import io
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
CORPUS = pathlib.Path(os.environ.get("OWF_CORPUS_DIR", SOURCE.parent / "shared" / "corpus"))
SEEDS = HERE / "seeds"
MAX_SEED = 64 << 10
sys.path[:0] = [str(SOURCE / "tests" / "gguf"), str(SOURCE / "tests" / "support")]

from test_gguf_npm_interop import GGML_TYPE, STRUCT_CODE, VALUE_TYPE, GgufBuilder  # noqa: E402


def write(target, name, data):
    if len(data) > MAX_SEED:
        raise SystemExit(f"{target}/{name}: {len(data)} bytes, over the {MAX_SEED}-byte seed limit")
    (SEEDS / target / name).write_bytes(data)


def small(array, keep=2):
    """The array cut to at most `keep` entries along every axis, same dtype and rank."""
    return np.ascontiguousarray(array[tuple(slice(0, keep) for _ in range(array.ndim))])


# --- GGUF -------------------------------------------------------------------------------------
# ggml type -> (block elements, block bytes) for the types the seeds keep (ggml.c's type traits).
GGML_BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
               10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
               24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2)}
VALUE_NAME = {code: name for name, code in VALUE_TYPE.items()}


class GgufParser:
    """Just enough of a GGUF v3 reader to copy a file's key-values and tensor infos."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def string(self):
        length = self.take("Q")
        self.pos += length
        return self.data[self.pos - length:self.pos]

    def value(self, value_type):
        if value_type == "string":
            return self.string()
        return self.take(STRUCT_CODE[value_type])

    def parse(self):
        magic, _version, n_tensors, n_kvs = self.take("4sIQQ")
        assert magic == b"GGUF"
        kvs, tensors = [], []
        for _ in range(n_kvs):
            key = self.string()
            value_type = VALUE_NAME[self.take("I")]
            if value_type == "array":
                element_type = VALUE_NAME[self.take("I")]
                values = [self.value(element_type) for _ in range(self.take("Q"))]
                kvs.append((key, value_type, values, element_type))
            else:
                kvs.append((key, value_type, self.value(value_type), None))
        for _ in range(n_tensors):
            name = self.string()
            dims = [self.take("Q") for _ in range(self.take("I"))]
            ggml_type, _offset = self.take("IQ")
            tensors.append((name, dims, ggml_type))
        return kvs, tensors


def minimized_gguf(path, keep=8):
    kvs, tensors = GgufParser(path.read_bytes()).parse()
    alignment = next((v for k, t, v, _ in kvs if k == b"general.alignment"), 32)
    gguf = GgufBuilder(alignment=alignment)
    for key, value_type, value, element_type in kvs:
        gguf.kv(key, value_type, value[:keep] if value_type == "array" else value, element_type)
    pattern = bytes(range(251)) * 64
    for name, dims, ggml_type in tensors[:keep]:
        block, block_bytes = GGML_BLOCKS[ggml_type]
        dims = [block] + [min(d, 2) for d in dims[1:]]
        count = int(np.prod(dims)) // block
        gguf.tensor(name, dims, ggml_type, pattern[:count * block_bytes])
    return gguf.build()


def gguf_seeds():
    for path in sorted((CORPUS / "gguf").glob("*.gguf")):
        try:
            data = minimized_gguf(path)
        except (struct.error, KeyError):  # the damaged vocab copies (see the corpus README)
            continue
        write("fuzz_gguf", path.stem + ".gguf", data)
    shutil.copy(SOURCE / "tests" / "gguf" / "seeds" / "every_type.gguf", SEEDS / "fuzz_gguf")


# --- PyTorch ----------------------------------------------------------------------------------
def shrink_checkpoint(value):
    if isinstance(value, torch.Tensor):
        return value[tuple(slice(0, 2) for _ in range(value.dim()))].clone()
    if isinstance(value, dict):
        return type(value)((k, shrink_checkpoint(v)) for k, v in list(value.items())[:12])
    return value


def torch_bytes(obj, legacy=False):
    out = io.BytesIO()
    torch.save(obj, out, _use_new_zipfile_serialization=not legacy)
    return out.getvalue()


def pytorch_seeds():
    for path in sorted((CORPUS / "pytorch").iterdir()):
        if path.suffix == ".jit":
            continue
        state = torch.load(path, map_location="cpu", weights_only=True)
        legacy = not zipfile.is_zipfile(path)
        write("fuzz_pickle", path.stem + ".pt", torch_bytes(shrink_checkpoint(state), legacy))
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    features = collections.OrderedDict([
        ("shared.a", base), ("shared.view", base[1:3, ::2]), ("transposed", base.t()),
        ("expanded", torch.ones(1, 3).expand(4, 3)), ("scalar", torch.tensor(2.5, dtype=torch.float64)),
        ("empty", torch.zeros(0, 3)), ("bf16", torch.ones(3, dtype=torch.bfloat16)),
        ("f16", torch.ones(2, 2, dtype=torch.float16)), ("i64", torch.arange(3)),
        ("i8", torch.tensor([-1, 2], dtype=torch.int8)), ("u8", torch.tensor([1, 2], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False])), ("i16", torch.tensor([1], dtype=torch.int16)),
        ("i32", torch.tensor([1], dtype=torch.int32)),
    ])
    write("fuzz_pickle", "features.pt", torch_bytes(features))
    write("fuzz_pickle", "features_legacy.pt", torch_bytes(features, legacy=True))
    nested = {"model": {"layer": {"weight": torch.ones(2, 2)}}, "epoch": 3, "lr": 0.5, "name": "run",
              "flags": [True, None], "shape": (2, 3)}
    write("fuzz_pickle", "nested_training_state.pt", torch_bytes(nested))
    for protocol in (2, 4):
        write("fuzz_pickle", f"plain_protocol{protocol}.pkl",
              __import__("pickle").dumps({"a": [1, 2.5, "x", b"y", None, True], "b": (1,)}, protocol=protocol))


# --- NumPy ------------------------------------------------------------------------------------
def npz_bytes(arrays, compressed):
    out = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(out, **arrays)
    return out.getvalue()


def npy_bytes(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def numpy_seeds():
    with np.load(CORPUS / "npz" / "g2p_en-checkpoint20.npz") as npz:
        arrays = {name: small(npz[name]) for name in npz.files}
    write("fuzz_npy", "g2p_en-checkpoint20.npz", npz_bytes(arrays, False))
    write("fuzz_npy", "g2p_en-checkpoint20-compressed.npz", npz_bytes(arrays, True))
    write("fuzz_npy", "g2p_en-enc_w_hh.npy", npy_bytes(small(np.load(CORPUS / "npy" / "g2p_en-enc_w_hh.npy"), 4)))
    grid = np.arange(12, dtype=np.float32).reshape(3, 4)
    for name, array in (("big_endian_f64", grid.astype(">f8")), ("fortran_i16", np.asfortranarray(grid.astype("<i2"))),
                        ("bool", grid > 5), ("u64_3d", np.arange(8, dtype=np.uint64).reshape(2, 2, 2)),
                        ("f16_scalar", np.float16(1.5)), ("zero_dim", np.zeros((0, 4), dtype=np.int8)),
                        ("big_endian_fortran_i32", np.asfortranarray(grid.astype(">i4")))):
        write("fuzz_npy", name + ".npy", npy_bytes(np.asarray(array)))
    write("fuzz_npy", "mixed.npz", npz_bytes({"w": grid, "b": grid[0] > 1, "s": np.int64(3)}, True))
    for source in ("compressed.npz", "fortran_big_endian.npy"):
        shutil.copy(SOURCE / "tests" / "numpy" / "seeds" / source, SEEDS / "fuzz_npy")


# --- safetensors ------------------------------------------------------------------------------
def safetensors_bytes(tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def safetensors_seeds():
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
             "BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
    for path in sorted((CORPUS / "safetensors").glob("*.safetensors")):
        data = path.read_bytes()
        (length,) = struct.unpack_from("<Q", data)
        header = json.loads(data[8:8 + length])
        metadata = header.pop("__metadata__", None)
        tensors = {}
        for name, entry in header.items():
            shape = [min(d, 2) for d in entry["shape"]]
            tensors[name] = (entry["dtype"], shape, bytes(range(256))[:int(np.prod(shape)) * sizes[entry["dtype"]]])
        write("fuzz_safetensors", path.name, safetensors_bytes(tensors, metadata))
    every = {f"t.{dtype.lower()}": (dtype, [2], bytes(range(2 * size))) for dtype, size in sizes.items()}
    every["scalar"] = ("F32", [], b"\0\0\x80\x3f")
    every["empty"] = ("F32", [0, 3], b"")
    every["name with \u00e9 and \u4e2d"] = ("I8", [1, 1, 1], b"\x05")
    write("fuzz_safetensors", "every_dtype.safetensors",
          safetensors_bytes(every, {"format": "pt", "note": "seed", "escaped": "a\"b\\c\u0001"}))
    shutil.copy(SOURCE / "tests" / "safetensors" / "seeds" / "mixed.safetensors", SEEDS / "fuzz_safetensors")


# --- ONNX -------------------------------------------------------------------------------------
def shrink_graph(graph, node_limit):
    initializers = [numpy_helper.from_array(small(numpy_helper.to_array(t)), t.name) for t in graph.initializer]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.node[node_limit:]
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                attribute.t.CopyFrom(numpy_helper.from_array(small(numpy_helper.to_array(attribute.t)), attribute.t.name))
            if attribute.type == onnx.AttributeProto.GRAPH:
                shrink_graph(attribute.g, node_limit)


def onnx_seeds():
    for path in sorted((CORPUS / "onnx").glob("*.onnx")):
        model = onnx.load(path)
        for node_limit in (64, 32, 16, 8, 4):
            trial = onnx.ModelProto()
            trial.CopyFrom(model)
            shrink_graph(trial.graph, node_limit)
            data = trial.SerializeToString()
            if len(data) <= MAX_SEED:
                break
        write("fuzz_onnx", path.name, data)
    grid = np.arange(6, dtype=np.float32).reshape(2, 3)
    typed = [numpy_helper.from_array(grid.astype(dtype), f"t.{dtype}")
             for dtype in ("float32", "float16", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                           "uint32", "uint64", "bool")]
    typed.append(helper.make_tensor("float_data", onnx.TensorProto.FLOAT, [2], [1.0, 2.0]))
    typed.append(helper.make_tensor("int64_data", onnx.TensorProto.INT64, [2], [1, -2]))
    typed.append(helper.make_tensor("int32_field_f16", onnx.TensorProto.FLOAT16, [2], [15360, 16384]))
    external = helper.make_tensor("external", onnx.TensorProto.FLOAT, [2], [0.0, 0.0])
    external.ClearField("float_data")
    external.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", "0"), ("length", "8")):
        external.external_data.add(key=key, value=value)
    typed.append(external)
    branches = [helper.make_graph([helper.make_node("Identity", [inner], ["y"])], inner, [],
                                  [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
                                  [numpy_helper.from_array(grid[0], inner)]) for inner in ("then", "else")]
    if_node = helper.make_node("If", ["cond"], ["y"], then_branch=branches[0], else_branch=branches[1])
    constant = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(grid[1], "constant"))
    graph = helper.make_graph([constant, if_node], "features",
                              [helper.make_tensor_value_info("cond", onnx.TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])], typed)
    write("fuzz_onnx", "features.onnx", helper.make_model(graph).SerializeToString())
    shutil.copy(SOURCE / "tests" / "onnx" / "seeds" / "typed.onnx", SEEDS / "fuzz_onnx")


# --- zip and .owf -----------------------------------------------------------------------------
def zip_seeds():
    for source in sorted((SOURCE / "tests" / "numeric" / "zip_seeds").glob("*.zip")):
        shutil.copy(source, SEEDS / "fuzz_zip")
    for source in ("stories260K-bf16.pt", "ggml-mnist_model.pt"):
        if (SEEDS / "fuzz_pickle" / source).exists():
            shutil.copy(SEEDS / "fuzz_pickle" / source, SEEDS / "fuzz_zip" / source.replace(".pt", ".zip"))
    shutil.copy(SEEDS / "fuzz_npy" / "mixed.npz", SEEDS / "fuzz_zip" / "deflated_npz.zip")


def owf_seeds():
    for source in sorted((SOURCE / "spec" / "vectors" / "valid").glob("*.owf")):
        shutil.copy(source, SEEDS / "fuzz_owf")
    owf = os.environ.get("OWF_BIN")
    if not owf:
        raise SystemExit("OWF_BIN must name a built owf (for the .owf seeds)")
    with tempfile.TemporaryDirectory() as tmp:
        for source, flags in (("every_dtype.safetensors", ["--compress", "--chunk-size", "8"]),
                              ("silero_vad_16k.safetensors", ["--compress"])):
            out = pathlib.Path(tmp) / (source + ".owf")
            subprocess.run([owf, "convert", str(SEEDS / "fuzz_safetensors" / source), str(out), *flags], check=True,
                           stdout=subprocess.DEVNULL)
            write("fuzz_owf", out.name.replace(".safetensors", ""), out.read_bytes())


def c_api_seeds():
    """One small file of each format, from the other targets' seeds: the C API detects the format."""
    for target, name in (("fuzz_owf", "zstd_lanes.owf"), ("fuzz_owf", "every_dtype.owf"),
                         ("fuzz_safetensors", "mixed.safetensors"), ("fuzz_npy", "mixed.npz"),
                         ("fuzz_npy", "fortran_big_endian.npy"), ("fuzz_gguf", "every_type.gguf"),
                         ("fuzz_pickle", "features.pt"), ("fuzz_pickle", "features_legacy.pt"),
                         ("fuzz_onnx", "typed.onnx")):
        shutil.copy(SEEDS / target / name, SEEDS / "fuzz_c_api")


if __name__ == "__main__":
    for target in ("fuzz_gguf", "fuzz_pickle", "fuzz_npy", "fuzz_safetensors", "fuzz_onnx", "fuzz_zip", "fuzz_owf",
                   "fuzz_c_api"):
        (SEEDS / target).mkdir(parents=True, exist_ok=True)
        for old in (SEEDS / target).iterdir():
            if not old.name.startswith("regression-"):
                old.unlink()
    gguf_seeds()
    pytorch_seeds()
    numpy_seeds()
    safetensors_seeds()
    onnx_seeds()
    zip_seeds()
    owf_seeds()
    c_api_seeds()
