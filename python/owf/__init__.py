"""owf: read every weights format owf knows with safetensors' API, and write any of them.

    import owf
    with owf.safe_open("model.gguf", framework="np") as f:   # "np" or "pt"
        for name in f.keys():
            t = f.get_tensor(name)
        s = f.get_slice("w"); s.get_shape(); s.get_dtype(); s[2:4]; s[:, 1:3]
    tensors = owf.load_file("model.safetensors")
    owf.save_file(tensors, "out.owf", metadata={"license": "MIT"}, compress=True)
    owf.content_digest("model.npz")

Raw little-endian tensors come back as read-only NumPy arrays over the file's memory map (no copy;
the map lives while any array does); compressed ones are decoded. A dtype NumPy lacks (bf16, fp8,
fp6, fp4, int4, ggml blocks) comes back as its raw bytes: an `owf.RawArray` (1-D uint8) whose
`owf_dtype` and `owf_shape` say what they hold. With framework="pt" tensors are torch tensors
(copies: torch has no read-only tensors), in torch's dtype where torch has one, else raw bytes
(torch.uint8) with the same two attributes. get_tensor(name, dequantize=True) gives float32.
Errors raise owf.OwfError (a ValueError) carrying the library's message.
"""
import json

import numpy as np

from ._native import OwfError
from . import _native

__all__ = ["OwfError", "RawArray", "safe_open", "load_file", "save_file", "content_digest", "__version__"]
__version__ = _native.version()

# owf dtype name -> NumPy dtype, for the dtypes NumPy has. Every other dtype is handed out as bytes.
_NUMPY_DTYPES = {
    "bool": "?", "u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8",
    "i8": "i1", "i16": "<i2", "i32": "<i4", "i64": "<i8",
    "f16": "<f2", "f32": "<f4", "f64": "<f8", "c64": "<c8", "c128": "<c16",
}
_FROM_NUMPY = {np.dtype(code).str.lstrip("<>|="): name for name, code in _NUMPY_DTYPES.items()}

# owf dtype name -> torch dtype attribute, for each that some torch version has; looked up at run time.
_TORCH_DTYPES = {
    "bool": "bool", "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
    "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64",
    "c64": "complex64", "c128": "complex128",
    "f8_e4m3fn": "float8_e4m3fn", "f8_e5m2": "float8_e5m2",
    "f8_e4m3fnuz": "float8_e4m3fnuz", "f8_e5m2fnuz": "float8_e5m2fnuz", "f8_e8m0": "float8_e8m0fnu",
}
# Same-width integer types through which torch reinterprets bits it cannot take from NumPy.
_TORCH_CARRIERS = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}
_CARRIER_NUMPY = {1: "u1", 2: "<i2", 4: "<i4", 8: "<i8"}


class RawArray(np.ndarray):
    """The raw bytes (1-D uint8, little-endian, packed as owf's spec says) of a tensor whose dtype
    NumPy lacks; `owf_dtype` is the owf dtype name ("bf16", "q4_k", ...), `owf_shape` its shape."""

    def __array_finalize__(self, obj):
        self.owf_dtype = getattr(obj, "owf_dtype", None)
        self.owf_shape = getattr(obj, "owf_shape", None)


def _raw(data, dtype, shape):
    raw = data.view(RawArray)
    raw.owf_dtype, raw.owf_shape = dtype, tuple(shape)
    return raw


def _torch():
    import torch
    return torch


def _torch_dtype(name):
    attribute = _TORCH_DTYPES.get(name)
    return None if attribute is None else getattr(_torch(), attribute, None)


def _element_bytes(dtype_name):
    """Bytes per element for the plain dtypes torch or NumPy know, from the dtype's own size."""
    sizes = {"bool": 1, "bf16": 2, "c64": 8, "c128": 16}
    if dtype_name in sizes:
        return sizes[dtype_name]
    if dtype_name.startswith("f8"):
        return 1
    return int(dtype_name.lstrip("uifc")) // 8


class _Tensor:
    """One tensor of an open model: its description and conversions of its bytes."""

    def __init__(self, model, index, framework):
        self.model, self.index, self.framework = model, index, framework
        self.name, self.dtype, self.shape, self.nbytes, self.encoding = model.info(index)

    def bytes(self):
        """All decoded bytes: a read-only view of the map when raw, else decoded into new memory."""
        view = self.model.view(self.index)
        return view if view is not None else self.model.read(self.index, 0, self.nbytes)

    def convert(self, data, shape, index=()):
        """Gives `data` (uint8: the bytes of a C-order block of `shape`) its dtype in the framework,
        then applies `index` (a NumPy index; () for all of it). NumPy results over the map stay
        views of it; torch results are copies, as torch has no read-only tensors."""
        code = _NUMPY_DTYPES.get(self.dtype)
        if self.framework == "np":
            return _raw(data, self.dtype, shape) if code is None else data.view(code).reshape(shape)[index]
        torch = _torch()
        dtype = _torch_dtype(self.dtype)
        if dtype is None:
            raw = torch.from_numpy(np.array(data, copy=True))
            raw.owf_dtype, raw.owf_shape = self.dtype, tuple(shape)
            return raw
        if code is not None:
            try:
                return torch.from_numpy(np.array(data.view(code).reshape(shape)[index], copy=True))
            except TypeError:  # a NumPy dtype this torch cannot take (e.g. uint16 before torch 2.3)
                pass
        width = _element_bytes(self.dtype)
        bits = np.array(data.view(_CARRIER_NUMPY[width]).reshape(shape)[index], copy=True)
        return torch.from_numpy(bits).view(getattr(torch, _TORCH_CARRIERS[width])).view(dtype)

    def has_dtype(self):
        """Whether the framework has this dtype (else the tensor comes back as raw bytes)."""
        if self.framework == "pt":
            return _torch_dtype(self.dtype) is not None
        return self.dtype in _NUMPY_DTYPES

    def dequantized(self):
        values = self.model.read_f32(self.index).reshape(self.shape)
        return _torch().from_numpy(values) if self.framework == "pt" else values


def _check_framework(framework):
    if framework not in ("np", "numpy", "pt", "torch"):
        raise OwfError(f"framework {framework!r} is not supported: use \"np\" or \"pt\"")
    return "pt" if framework in ("pt", "torch") else "np"


class safe_open:
    """An open model in any format owf reads (detected by content), used as a context manager.

    `key` picks a subtree of formats with nested containers (e.g. "state_dict" of a PyTorch
    checkpoint). The file stays mapped until close() and while any zero-copy array lives."""

    def __init__(self, filename, framework="np", device="cpu", key=""):
        self._framework = _check_framework(framework)
        if device != "cpu":
            raise OwfError(f"device {device!r} is not supported: owf reads into CPU memory")
        self._filename = str(filename)
        self._model = _native.open(self._filename, key)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._model = None

    def _open_model(self):
        if self._model is None:
            raise OwfError("the file is closed")
        return self._model

    def _tensor(self, name):
        model = self._open_model()
        index = model.index(name)
        if index is None:
            raise OwfError(f"{self._filename}: tensor {name!r} not found")
        return _Tensor(model, index, self._framework)

    def keys(self):
        """Tensor names in file order."""
        return self._open_model().names()

    def metadata(self):
        """The metadata, a dict (owf's metadata model: spec/metadata.schema.json)."""
        return json.loads(self._open_model().metadata())

    def format(self):
        """The format the file was read as, e.g. "safetensors", "GGUF v3", "owf 1.0"."""
        return self._open_model().format()

    def statistics(self):
        """What reads have cost so far: {"chunks_decoded": compressed chunks decoded}."""
        return {"chunks_decoded": self._open_model().chunks_decoded()}

    def get_tensor(self, name, dequantize=False):
        """The whole tensor; with dequantize=True its values as float32, for every decodable dtype."""
        tensor = self._tensor(name)
        if dequantize:
            return tensor.dequantized()
        return tensor.convert(tensor.bytes(), tensor.shape)

    def get_slice(self, name):
        """A lazy handle on the tensor: indexing it reads only the rows (or chunks) it needs."""
        return _Slice(self._tensor(name))


def _outer_rows(key, rows):
    """For an index of the outermost dimension: the rows [begin, end) it touches and the index
    that selects it from those rows."""
    if isinstance(key, slice):
        selected = range(*key.indices(rows))
        if len(selected) == 0:
            return 0, 0, slice(0, 0)
        begin, end = min(selected), max(selected) + 1
        stop = selected.stop - begin
        return begin, end, slice(selected.start - begin, stop if stop >= 0 else None, selected.step)
    index = int(key)
    if index < 0:
        index += rows
    if not 0 <= index < rows:
        raise OwfError(f"index {key} is out of range for a dimension of {rows}")
    return index, index + 1, 0


class _Slice:
    """safetensors' PySafeSlice: get_shape(), get_dtype(), and [a:b], [:, c:d], [i, ...]."""

    def __init__(self, tensor):
        self._tensor = tensor

    def get_shape(self):
        return list(self._tensor.shape)

    def get_dtype(self):
        """The owf dtype name, e.g. "f32", "bf16", "q4_k"."""
        return self._tensor.dtype

    def __getitem__(self, key):
        tensor = self._tensor
        key = key if isinstance(key, tuple) else (key,)
        if key == () or not tensor.shape:
            return tensor.convert(tensor.bytes(), tensor.shape)[key]
        if Ellipsis in key or None in key:
            raise OwfError("slices with ... or None are not supported")
        if len(key) > len(tensor.shape):
            raise OwfError(f"tensor '{tensor.name}' has {len(tensor.shape)} dimensions, the slice {len(key)}")
        begin, end, first = _outer_rows(key[0], tensor.shape[0])
        view = tensor.model.view(tensor.index)
        if view is not None and tensor.has_dtype() and tensor.framework == "np":
            return tensor.convert(view, tensor.shape, key)  # a view of the map, like get_tensor
        rows = tensor.model.read_rows(tensor.index, begin, end)
        block_shape = (end - begin, *tensor.shape[1:])
        if tensor.has_dtype():
            return tensor.convert(rows, block_shape, (first, *key[1:]))
        if any(k != slice(None) for k in key[1:]) or not (isinstance(first, slice) and first.step == 1):
            raise OwfError(f"tensor '{tensor.name}': {tensor.dtype} comes back as raw bytes, so only "
                           "contiguous row ranges [a:b] of it can be sliced")
        return tensor.convert(rows, block_shape)


def load_file(filename, framework="np", key=""):
    """Every tensor of the file: a dict from name to array (or torch tensor), in file order."""
    with safe_open(filename, framework=framework, key=key) as f:
        return {name: f.get_tensor(name) for name in f.keys()}


def _tensor_bytes(name, value):
    """(owf dtype name, shape, C-contiguous little-endian buffer) of a NumPy array, torch tensor or RawArray."""
    owf_dtype = getattr(value, "owf_dtype", None)
    if owf_dtype is not None:  # raw bytes read by owf
        return owf_dtype, list(value.owf_shape), _as_numpy(value)
    if not isinstance(value, np.ndarray):
        torch = _torch()
        if isinstance(value, torch.Tensor):
            return _torch_bytes(name, value)
        value = np.asarray(value)
    kind = value.dtype.str.lstrip("<>|=")
    dtype = _FROM_NUMPY.get(kind)
    if dtype is None:
        raise OwfError(f"tensor '{name}': NumPy dtype {value.dtype} has no owf dtype")
    array = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
    return dtype, list(value.shape), array.reshape(-1).view(np.uint8)


def _torch_bytes(name, tensor):
    torch = _torch()
    names = {getattr(torch, attribute): owf_name for owf_name, attribute in _TORCH_DTYPES.items()
             if hasattr(torch, attribute)}
    dtype = names.get(tensor.dtype)
    if dtype is None:
        raise OwfError(f"tensor '{name}': torch dtype {tensor.dtype} has no owf dtype")
    shape = list(tensor.shape)
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if dtype not in _NUMPY_DTYPES:  # bf16, fp8: NumPy takes their bits as same-width integers
        flat = flat.view(getattr(torch, _TORCH_CARRIERS[_element_bytes(dtype)]))
    return dtype, shape, flat.numpy().view(np.uint8)


def _as_numpy(value):
    """The bytes of a RawArray, or of a torch tensor of raw bytes, as a contiguous uint8 array."""
    if isinstance(value, np.ndarray):
        return np.ascontiguousarray(value).view(np.uint8)
    return value.detach().cpu().contiguous().numpy().view(np.uint8)


def save_file(tensors, filename, metadata=None, compress=False, overwrite=True):
    """Writes `tensors` (a dict from name to NumPy array, torch tensor or RawArray) to `filename` in
    the format its extension names (.owf, .safetensors, .gguf, .npz, .npy, .pt, ...), atomically:
    the file is complete or absent. `metadata` (a dict, stored as owf's metadata model) and
    `compress` (zstd, .owf only) are optional. The GIL is released while writing."""
    entries = []
    for name, value in tensors.items():
        dtype, shape, data = _tensor_bytes(name, value)
        entries.append((name, dtype, shape, data))
    metadata_json = json.dumps(metadata if metadata is not None else {}, ensure_ascii=False)
    _native.write(str(filename), entries, metadata_json, bool(compress), bool(overwrite))


def content_digest(filename, key=""):
    """The content digest "sha256:<hex>": the same weights give the same digest in every format."""
    return _native.open(str(filename), key).content_digest()
