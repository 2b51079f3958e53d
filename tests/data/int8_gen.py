"""int8_gen.py: what make_int8_amx.py and make_int8_odd.py build their small int8 test models with: weights from
a seeded generator (the first output channel of each 4x the others: per-channel scales matter), biases,
convolutions, the tokens' matrices, and the model and its input written next to this file."""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


class Gen:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.inits = []

    def w(self, name, shape):
        a = (self.rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
        a[0] *= 4  # channels of different ranges: per-channel scales matter
        self.inits.append(numpy_helper.from_array(a, name))
        return name

    def b(self, name, n):
        self.inits.append(numpy_helper.from_array(self.rng.standard_normal(n).astype(np.float32) * 0.1, name))
        return name

    def conv(self, x, wname, shape, y, bias=True, pads=(1,) * 6, strides=None):
        ins = [x, self.w(wname, shape)] + ([self.b(wname + "_b", shape[0])] if bias else [])
        attrs = {"strides": list(strides)} if strides else {}
        return helper.make_node("Conv", ins, [y], pads=list(pads), **attrs)

    def tokens(self, shape_name, shape, mats):
        """The Reshape target `shape_name` and the matrices (name, [K, N]) of the token MatMuls."""
        self.inits.append(numpy_helper.from_array(np.array(shape, np.int64), shape_name))
        for name, s in mats:
            m = (self.rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float32)
            m[:, 0] *= 4
            self.inits.append(numpy_helper.from_array(m, name))

    def save(self, name, nodes, x_shape, outputs):
        """NAME.onnx (input X of x_shape, outputs [(name, shape)]) and NAME.input.npy, standard normal."""
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, s) for o, s in outputs],
                              self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="unetrc-tests")
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(HERE, name + ".onnx"))
        np.save(os.path.join(HERE, name + ".input.npy"), self.rng.standard_normal(x_shape).astype(np.float32))
