"""nodegen.py: what the node-test generators (gen_*.py here) share: the output folder, the
numpy-to-ONNX element types, and the ONNX backend-test layout of one test
(model.onnx, test_data_set_0/input_N.pb and output_N.pb)."""
import os
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

TP = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE, np.float16: TensorProto.FLOAT16,
      np.bool_: TensorProto.BOOL, np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8,
      np.int16: TensorProto.INT16, np.uint16: TensorProto.UINT16, np.int32: TensorProto.INT32,
      np.uint32: TensorProto.UINT32, np.int64: TensorProto.INT64, np.uint64: TensorProto.UINT64}


def fresh_out(generator, name):
    """The folder NAME next to the generator file, made anew (empty)."""
    out = os.path.join(os.path.dirname(os.path.abspath(generator)), name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    return out


def write_case(d, model, inputs, outputs):
    """Makes the test folder d with model.onnx and the (name, array) inputs and outputs."""
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(model, os.path.join(d, "model.onnx"))
    for kind, arrays in (("input", inputs), ("output", outputs)):
        for i, (n, a) in enumerate(arrays):
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(a, n).SerializeToString())


def save(out, name, nodes, inputs, outputs, inits=(), opset=17):
    """out/test_NAME: a graph of `nodes` (IR version 8) whose inputs and outputs are the (name, array)
    pairs given, with their element types; inits: (name, array) constants."""
    ivi = [helper.make_tensor_value_info(n, TP[a.dtype.type], a.shape) for n, a in inputs]
    ovi = [helper.make_tensor_value_info(n, TP[a.dtype.type], a.shape) for n, a in outputs]
    g = helper.make_graph(nodes, name, ivi, ovi, [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    write_case(os.path.join(out, "test_" + name), m, inputs, outputs)
