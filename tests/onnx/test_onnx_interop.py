"""Interop with Debian's python3-onnx: models it writes (raw_data, typed fields, external data) and the
corpus models convert with `owf convert` to .npz and .safetensors, and every tensor equals
onnx.numpy_helper.to_array of the same tensor; unsafe external data locations are refused."""
import json
import os
import struct
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

from owftest import CORPUS, OwfTestCase, run_owf

RNG = np.random.default_rng(20240601)

# numpy dtypes with an ONNX data type, as numpy_helper.from_array maps them.
NUMPY_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64,
                np.uint32, np.uint64, np.bool_, np.complex64, np.complex128]


def sample(dtype, shape):
    """Values that exercise sign, range and (for floats) fractions."""
    if dtype == np.bool_:
        return RNG.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return RNG.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if np.issubdtype(dtype, np.complexfloating):
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)
    return (RNG.standard_normal(shape) * 100).astype(dtype)


def typed_tensor(name, array):
    """The array in ONNX's typed field for its type (int32_data, int64_data, ...), not raw_data."""
    data_type = helper.np_dtype_to_tensor_dtype(array.dtype) if hasattr(helper, "np_dtype_to_tensor_dtype") \
        else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype]
    tensor = helper.make_tensor(name, data_type, array.shape, array.flatten().tolist(), raw=False)
    assert not tensor.HasField("raw_data")
    return tensor


def model_with(initializers, nodes=(), name="interop"):
    graph = helper.make_graph(list(nodes), name, [], [], initializer=initializers)
    model = helper.make_model(graph, producer_name="owf-interop", opset_imports=[helper.make_opsetid("", 13)])
    helper.set_model_props(model, {"purpose": "interop test"})
    return model


def onnx_tensors(model):
    """name -> TensorProto for every tensor owf takes: initializers, then Constant values, graph by graph."""
    found = {}

    def walk(graph):
        for tensor in graph.initializer:
            found[tensor.name] = tensor
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    walk(attribute.g)
                elif attribute.type == onnx.AttributeProto.GRAPHS:
                    for subgraph in attribute.graphs:
                        walk(subgraph)
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                (value,) = node.attribute
                if value.name == "value":
                    found[node.output[0]] = value.t
                elif value.name == "value_floats":
                    found[node.output[0]] = numpy_helper.from_array(np.array(value.floats, np.float32))
                elif value.name == "value_ints":
                    found[node.output[0]] = numpy_helper.from_array(np.array(value.ints, np.int64))
                elif value.name == "value_float":
                    found[node.output[0]] = numpy_helper.from_array(np.array(value.f, np.float32))
                elif value.name == "value_int":
                    found[node.output[0]] = numpy_helper.from_array(np.array(value.i, np.int64))

    walk(model.graph)
    return found


def to_array(tensor):
    """numpy_helper.to_array, except for complex values in typed fields, which onnx 1.12's to_array
    cannot convert (it casts the re-paired complex numbers to float): those are read as the
    (real, imaginary) pairs the ONNX spec defines."""
    pairs = {TensorProto.COMPLEX64: (tensor.float_data, np.float32, np.complex64),
             TensorProto.COMPLEX128: (tensor.double_data, np.float64, np.complex128)}
    if tensor.data_type in pairs and not tensor.HasField("raw_data"):
        values, component, complex_type = pairs[tensor.data_type]
        return np.array(values, dtype=component).view(complex_type).reshape(tuple(tensor.dims))
    return numpy_helper.to_array(tensor)


def read_safetensors(path):
    """name -> (dtype string, shape, raw bytes), parsed by hand so the test needs no safetensors package."""
    data = path.read_bytes()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_length])
    base = 8 + header_length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = (entry["dtype"], tuple(entry["shape"]), data[base + begin:base + end])
    return tensors


def bf16_to_f32(raw):
    """bfloat16 bytes widened exactly to float32 (the upper half of the float32 bit pattern)."""
    return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)


SAFETENSORS_NUMPY = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I8": "i1", "U8": "u1", "I16": "<i2",
                     "U16": "<u2", "I32": "<i4", "I64": "<i8", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


class OnnxInteropTest(OwfTestCase):

    def save(self, model, name="model.onnx", **kwargs):
        path = self.tmp / name
        onnx.save_model(model, str(path), **kwargs)
        return path

    def convert(self, source, output_name):
        output = self.tmp / output_name
        run_owf("convert", source, output, check=0)
        return output

    def assert_npz_matches(self, npz_path, expected):
        """Every expected TensorProto is in the .npz with the same dtype, shape and values, and nothing else is."""
        with np.load(npz_path) as npz:
            self.assertEqual(sorted(npz.files), sorted(expected))
            for name, tensor in expected.items():
                with self.subTest(tensor=name):
                    want = to_array(tensor)
                    got = npz[name]
                    self.assertEqual(got.dtype, want.dtype)
                    self.assertEqual(got.shape, want.shape)
                    np.testing.assert_array_equal(got, want)

    def assert_safetensors_matches(self, path, expected):
        tensors = read_safetensors(path)
        self.assertEqual(sorted(tensors), sorted(expected))
        for name, tensor in expected.items():
            with self.subTest(tensor=name):
                dtype, shape, raw = tensors[name]
                want = to_array(tensor)
                self.assertEqual(shape, want.shape)
                if tensor.data_type == TensorProto.BFLOAT16:
                    self.assertEqual(dtype, "BF16")
                    got = bf16_to_f32(raw).reshape(shape)
                else:
                    got = np.frombuffer(raw, dtype=SAFETENSORS_NUMPY[dtype]).reshape(shape)
                    self.assertEqual(got.dtype.newbyteorder("="), want.dtype.newbyteorder("="))
                np.testing.assert_array_equal(got, want)

    def test_every_numpy_dtype_in_raw_data_and_typed_fields_converts_to_npz(self):
        initializers = []
        for dtype in NUMPY_DTYPES:
            name = np.dtype(dtype).name
            initializers.append(numpy_helper.from_array(sample(dtype, (3, 5)), f"raw_{name}"))
            initializers.append(typed_tensor(f"typed_{name}", sample(dtype, (4, 2))))
        initializers.append(numpy_helper.from_array(np.array(2.5, np.float32), "scalar"))
        initializers.append(numpy_helper.from_array(np.zeros((0, 3), np.int64), "empty"))
        model = model_with(initializers)
        onnx.checker.check_model(model)
        expected = onnx_tensors(model)
        self.assertTrue(any(t.int32_data for t in expected.values()))
        self.assertTrue(any(t.uint64_data for t in expected.values()))
        self.assert_npz_matches(self.convert(self.save(model), "out.npz"), expected)

    def test_half_and_bfloat16_convert_to_safetensors(self):
        floats = sample(np.float32, (6,))
        bf16_bits = (floats.view(np.uint32) >> 16).astype("<u2")
        initializers = [
            numpy_helper.from_array(sample(np.float16, (2, 3)), "raw_f16"),
            typed_tensor("typed_f16", sample(np.float16, (3,))),
            helper.make_tensor("raw_bf16", TensorProto.BFLOAT16, [2, 3], bf16_bits.tobytes(), raw=True),
            helper.make_tensor("typed_bf16", TensorProto.BFLOAT16, [6], floats.tolist()),
            numpy_helper.from_array(sample(np.float32, (4, 4)), "raw_f32"),
        ]
        model = model_with(initializers)
        expected = onnx_tensors(model)
        self.assertTrue(expected["typed_bf16"].int32_data)
        self.assert_safetensors_matches(self.convert(self.save(model), "out.safetensors"), expected)

    def test_int4_when_this_onnx_has_it(self):
        if not hasattr(TensorProto, "INT4"):
            self.skipTest(f"onnx {onnx.__version__} has no INT4 (added in 1.16); onnx_test covers it")
        values = np.array([-8, 7, 0, 3, -1], dtype=np.int8)
        model = model_with([helper.make_tensor("int4", TensorProto.INT4, values.shape, values.tolist())])
        # Neither .npz nor .safetensors has a 4-bit type: check owf's decoded values through inspect.
        report = json.loads(run_owf("inspect", "--json", "--stats", self.save(model), check=0).stdout)
        (tensor,) = report["tensors"]
        self.assertEqual((tensor["dtype"], tensor["shape"]), ("int4", [5]))
        self.assertEqual((tensor["stats"]["min"], tensor["stats"]["max"]), (-8, 7))
        self.assertAlmostEqual(tensor["stats"]["mean"], values.mean())

    def test_constants_in_subgraphs_convert(self):
        then_graph = helper.make_graph(
            [helper.make_node("Constant", [], ["then_w"], value=numpy_helper.from_array(sample(np.float32, (3, 2))))],
            "then", [], [helper.make_tensor_value_info("then_w", TensorProto.FLOAT, [3, 2])])
        else_graph = helper.make_graph(
            [helper.make_node("Constant", [], ["else_w"], value_floats=[1.0, -2.5, 3.25])],
            "else", [], [helper.make_tensor_value_info("else_w", TensorProto.FLOAT, [3])])
        nodes = [helper.make_node("Constant", [], ["cond"], value=numpy_helper.from_array(np.array(True))),
                 helper.make_node("Constant", [], ["axes"], value_ints=[0, -1]),
                 helper.make_node("If", ["cond"], ["out"], then_branch=then_graph, else_branch=else_graph)]
        model = model_with([numpy_helper.from_array(sample(np.int32, (2, 2)), "weight")], nodes)
        expected = onnx_tensors(model)
        self.assertEqual(sorted(expected), ["axes", "cond", "else_w", "then_w", "weight"])
        self.assert_npz_matches(self.convert(self.save(model), "out.npz"), expected)

    def test_external_data_written_by_onnx_converts(self):
        initializers = [numpy_helper.from_array(sample(np.float32, (64, 32)), "big_f32"),
                        numpy_helper.from_array(sample(np.int64, (300,)), "big_i64"),
                        numpy_helper.from_array(sample(np.float16, (1024,)), "big_f16"),
                        numpy_helper.from_array(sample(np.uint8, (10,)), "small_inline")]
        path = self.save(model_with(initializers), save_as_external_data=True, all_tensors_to_one_file=True,
                         location="weights.bin", size_threshold=1024)
        self.assertTrue((self.tmp / "weights.bin").exists())
        stored = onnx.load(str(path), load_external_data=False)
        locations = {t.name: t.data_location for t in stored.graph.initializer}
        self.assertEqual(locations["big_f32"], TensorProto.EXTERNAL)
        self.assertEqual(locations["small_inline"], TensorProto.DEFAULT)
        expected = onnx_tensors(onnx.load(str(path)))
        self.assert_npz_matches(self.convert(path, "out.npz"), expected)

    def test_external_data_in_one_file_per_tensor_converts(self):
        initializers = [numpy_helper.from_array(sample(np.float64, (40, 40)), "a"),
                        numpy_helper.from_array(sample(np.int32, (500,)), "b")]
        path = self.save(model_with(initializers), save_as_external_data=True, all_tensors_to_one_file=False,
                         size_threshold=0)
        expected = onnx_tensors(onnx.load(str(path)))
        self.assert_npz_matches(self.convert(path, "out.npz"), expected)

    def model_with_location(self, location):
        tensor = numpy_helper.from_array(np.arange(4, dtype=np.uint8), "w")
        set_external_data(tensor, location=location, offset=0, length=4)
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        folder = self.tmp / "model"
        folder.mkdir(exist_ok=True)
        return self.save(model_with([tensor]), name="model/model.onnx")

    def assert_location_refused(self, location, fragment):
        (self.tmp / "outside.bin").write_bytes(bytes(range(4)))
        path = self.model_with_location(location)
        result = run_owf("convert", path, self.tmp / "out.npz")
        self.assertRefused(result, "model.onnx", "tensor 'w'", fragment)
        self.assertFalse((self.tmp / "out.npz").exists())

    def test_external_location_leaving_the_folder_is_refused(self):
        self.assert_location_refused("../outside.bin", "is not a file inside the model's folder")

    def test_absolute_external_location_is_refused(self):
        self.assert_location_refused(str(self.tmp / "outside.bin"), "is an absolute path")

    def test_external_location_through_an_escaping_symlink_is_refused(self):
        (self.tmp / "model").mkdir()
        os.symlink("../outside.bin", self.tmp / "model" / "link.bin")
        self.assert_location_refused("link.bin", "outside the model's folder")

    def test_corpus_models_match_onnx(self):
        for name, count in [("silero_vad_16k_op15.onnx", 175), ("silero_vad_v6-repo.onnx", 341)]:
            with self.subTest(model=name):
                source = CORPUS / "onnx" / name
                expected = onnx_tensors(onnx.load(str(source)))
                self.assertEqual(len(expected), count)
                output = self.tmp / (name + ".safetensors")
                run_owf("convert", source, output, check=0)
                self.assert_safetensors_matches(output, expected)

    def test_model_fields_are_in_metadata(self):
        path = self.save(model_with([numpy_helper.from_array(np.ones(2, np.float32), "w")]))
        result = run_owf("meta", "get", path, "onnx", check=0)
        metadata = json.loads(result.stdout)
        self.assertEqual(metadata["producer_name"], "owf-interop")
        self.assertEqual(metadata["ir_version"], onnx.load(str(path)).ir_version)
        self.assertEqual(metadata["opset_import"], [{"domain": "", "version": 13}])
        self.assertEqual(metadata["metadata_props"], {"purpose": "interop test"})
        self.assertEqual(metadata["graph_name"], "interop")

    def test_string_tensors_are_refused(self):
        labels = helper.make_tensor("labels", TensorProto.STRING, [2], [b"cat", b"dog"])
        path = self.save(model_with([labels]))
        self.assertRefused(run_owf("convert", path, self.tmp / "out.npz"), "tensor 'labels'",
                           "string tensors are not supported")

    def test_writing_onnx_is_refused(self):
        source = CORPUS / "safetensors" / "silero_vad_16k.safetensors"
        self.assertRefused(run_owf("convert", source, self.tmp / "out.onnx"), "onnx: writing is not supported")


if __name__ == "__main__":
    unittest.main()
