"""Shared helpers for the end-to-end and interop tests (run under /usr/bin/python3 by ctest)."""
import hashlib
import json
import os
import pathlib
import struct
import subprocess
import tempfile
import unittest

OWF = os.environ.get("OWF_BIN", "owf")
CORPUS = pathlib.Path(os.environ.get("OWF_CORPUS_DIR", "../shared/corpus"))
SOURCE = pathlib.Path(os.environ.get("OWF_SOURCE_DIR", "."))


def run_owf(*args, check=None, timeout=120, env=None):
    """Runs the owf CLI; `check` is the exit code it must return (None: any); `env` adds variables."""
    environment = None if env is None else {**os.environ, **env}
    result = subprocess.run([OWF, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                            env=environment)
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


# --- Building inputs without owf: safetensors by hand, and the content digest of spec §7 ---

# numpy dtype name -> (safetensors dtype, owf dtype name)
_NUMPY_DTYPES = {
    "float64": ("F64", "f64"), "float32": ("F32", "f32"), "float16": ("F16", "f16"),
    "int64": ("I64", "i64"), "int32": ("I32", "i32"), "int16": ("I16", "i16"), "int8": ("I8", "i8"),
    "uint64": ("U64", "u64"), "uint32": ("U32", "u32"), "uint16": ("U16", "u16"), "uint8": ("U8", "u8"),
    "bool": ("BOOL", "bool"), "complex64": (None, "c64"), "complex128": (None, "c128"),
}


def safetensors_bytes(header, data=b""):
    """A safetensors file: `header` (a dict, JSON-encoded; or bytes, used verbatim), then `data`."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} as a safetensors file, in the given order; `metadata` is __metadata__."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _NUMPY_DTYPES[array.dtype.name][0], "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    pathlib.Path(path).write_bytes(safetensors_bytes(header, data))


def torch_safetensors_bytes(tensors, metadata=None):
    """A safetensors file of {name: torch tensor} (f32, f16 or bf16), as safetensors' own writer lays
    it out (header padded with spaces to 8 bytes); `metadata` is __metadata__."""
    import torch
    dtypes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, tensor in tensors.items():
        raw = tensor.contiguous().view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": dtypes[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    return safetensors_bytes(text + b" " * (-len(text) % 8), data)


def read_safetensors(path):
    """{name: numpy array} and __metadata__ of a safetensors file, read without owf."""
    import numpy
    blob = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack_from("<Q", blob)
    header = json.loads(blob[8:8 + length])
    metadata = header.pop("__metadata__", {})
    by_code = {code: numpy.dtype(name).newbyteorder("<") for name, (code, _) in _NUMPY_DTYPES.items()}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = blob[8 + length + begin:8 + length + end]
        if entry["dtype"] == "BF16":  # numpy has no bfloat16: widen to float32
            words = numpy.frombuffer(raw, dtype="<u2").astype(numpy.uint32) << 16
            tensors[name] = words.view(numpy.float32).reshape(entry["shape"])
        else:
            tensors[name] = numpy.frombuffer(raw, dtype=by_code[entry["dtype"]]).reshape(entry["shape"])
    return tensors, metadata


def _le64(value):
    return struct.pack("<Q", value)


def raw_tensor_digest(name, dtype_name, shape, raw):
    """The 32-byte SHA-256 digest of one tensor (spec §7) from its name and dtype name (bytes), shape and
    decoded bytes, computed independently of owf."""
    return hashlib.sha256(b"owf.tensor.v1\0" + _le64(len(name)) + name + _le64(len(dtype_name)) + dtype_name +
                          _le64(len(shape)) + b"".join(_le64(d) for d in shape) + _le64(len(raw)) + raw).digest()


def tensor_digest(name, array):
    """raw_tensor_digest of a numpy array."""
    raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
    dtype_name = _NUMPY_DTYPES[array.dtype.name][1].encode()
    return raw_tensor_digest(name.encode(), dtype_name, array.shape, raw)


def combine_digests(digests_by_name):
    """"sha256:<hex>" of the whole model (spec §7) from {name (bytes): tensor digest}."""
    ordered = b"".join(digests_by_name[name] for name in sorted(digests_by_name))
    return "sha256:" + hashlib.sha256(b"owf.content.v1\0" + _le64(len(digests_by_name)) + ordered).hexdigest()


def content_digest(tensors):
    """"sha256:<hex>" of {name: numpy array} as spec §7 defines it, computed independently of owf."""
    return combine_digests({name.encode(): tensor_digest(name, array) for name, array in tensors.items()})


def _align_up(value, alignment):
    return (value + alignment - 1) // alignment * alignment


def owf_bytes(tensors, metadata=b"{}", alignment=64, records=None, preamble=None):
    """An .owf file built from spec §2-4, not by owf. `tensors` is a list of (name, raw bytes, shape) for f32
    tensors or (name, raw bytes, shape, dtype id, dtype name) for others; names and dtype names are bytes.
    `records` maps a record's index to fields to override (including "encoding", 0 by default) and `preamble` overrides preamble fields; both
    apply before the checksums are computed, so a damaged file is damaged exactly as intended."""
    import xxhash
    tensors = [t if len(t) == 5 else (*t, 12, b"f32") for t in tensors]
    blob = bytearray(_align_up(64, alignment))
    fields = []
    for name, raw, shape, dtype, _ in tensors:
        blob.extend(bytes(_align_up(len(blob), alignment) - len(blob)))
        fields.append({"name": name, "dtype": dtype, "shape": shape, "offset": len(blob), "length": len(raw),
                       "checksum": xxhash.xxh3_64_intdigest(raw)})
        blob.extend(raw)
    for index, changes in (records or {}).items():
        fields[index].update(changes)
    digests = {name: raw_tensor_digest(name, dtype_name, shape, raw) for name, raw, shape, _, dtype_name in tensors}
    header = bytes.fromhex(combine_digests(digests)[len("sha256:"):])
    header += struct.pack("<QQ", len(fields), len(metadata)) + metadata
    for f in fields:
        body = (struct.pack("<HBBI", f["dtype"], f.get("encoding", 0), len(f["shape"]), len(f["name"])) + f["name"] +
                struct.pack(f"<{len(f['shape'])}Q", *f["shape"]) +
                struct.pack("<QQQ", f["offset"], f["length"], f["checksum"]))
        header += struct.pack("<I", 4 + len(body)) + body
    blob.extend(bytes(_align_up(len(blob), 8) - len(blob)))
    values = {"alignment": alignment, "header_offset": len(blob), "header_length": len(header),
              "header_capacity": len(header), "header_checksum": xxhash.xxh3_64_intdigest(header)}
    values.update(preamble or {})
    head = b"\x89OWF\r\n\x1a\n" + struct.pack(
        "<HHIQQQQQ", 1, 0, values["alignment"], values["header_offset"], values["header_length"],
        values["header_capacity"], values["header_checksum"], 0)
    blob[:64] = head + struct.pack("<Q", xxhash.xxh3_64_intdigest(head))
    return bytes(blob + header)


def read_owf_layout(path):
    """The preamble fields and tensor records of an .owf file (spec §3-4), parsed without owf."""
    blob = pathlib.Path(path).read_bytes()
    alignment, header_offset, header_length, header_capacity = struct.unpack_from("<IQQQ", blob, 12)
    header = blob[header_offset:header_offset + header_length]
    tensor_count, metadata_length = struct.unpack_from("<QQ", header, 32)
    position = 48 + metadata_length
    tensors = []
    for _ in range(tensor_count):
        record_length, dtype, encoding, rank, name_length = struct.unpack_from("<IHBBI", header, position)
        name = header[position + 12:position + 12 + name_length].decode()
        fields = struct.unpack_from(f"<{rank + 3}Q", header, position + 12 + name_length)
        tensors.append({"name": name, "dtype": dtype, "encoding": encoding, "shape": list(fields[:rank]),
                        "offset": fields[rank], "stored_length": fields[rank + 1]})
        position += record_length
    return {"alignment": alignment, "header_offset": header_offset, "header_length": header_length,
            "header_capacity": header_capacity,
            "metadata": json.loads(header[48:48 + metadata_length]), "tensors": tensors}
