#!/usr/bin/env python3
"""Writes the .npy and .safetensors fixtures the Swift tests read.

Run from anywhere: python3 Tests/Fixtures/Files/make_fixtures.py
Needs numpy (2.x) and, for the .safetensors files, the reference `safetensors` package
(pip install safetensors). The outputs are committed; rerun only to regenerate them.

Element values follow formulas the Swift tests recompute independently:
  floating point: element i (row-major) is i * 0.25 - 3   (exact in float32 and float64)
  bool:           element i is (i % 3 == 0)
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def floats(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.float64) * 0.25 - 3).astype(dtype).reshape(shape)


def bools(shape):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n) % 3 == 0).reshape(shape)


def save(name, array, version=None):
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)


# Supported arrays, written by numpy.save's own code path.
save("f4_scalar.npy", floats((), np.float32))
save("f4_3.npy", floats((3,), np.float32))
save("f8_2x3.npy", floats((2, 3), np.float64))
save("b1_2x3x4.npy", bools((2, 3, 4)))
save("f4_2x0x3.npy", floats((2, 0, 3), np.float32))
save("f8_2x3x1x2.npy", floats((2, 3, 1, 2), np.float64))
save("f4_special.npy", np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4028235e38], np.float32))
# Other format versions.
save("f4_2x3_v2.npy", floats((2, 3), np.float32), version=(2, 0))
save("f8_3_v3.npy", floats((3,), np.float64), version=(3, 0))
# Arrays numpy writes that this library rejects, each with its own error.
save("f4_2x3_fortran.npy", np.asfortranarray(floats((2, 3), np.float32)))
save("f4_big_endian.npy", floats((3,), ">f4"))
save("i8_3.npy", np.arange(3, dtype=np.int64))
save("f2_3.npy", floats((3,), np.float16))

try:
    from safetensors.numpy import save_file
except ImportError:
    print("safetensors not installed: .safetensors fixtures not regenerated")
else:
    save_file(
        {
            "query": floats((2, 3), np.float32),
            "scale": floats((), np.float64),
            "mask": bools((3, 4)),
            "empty": floats((0, 5), np.float32),
            "bias": floats((4,), np.float64),
        },
        os.path.join(HERE, "mixed.safetensors"),
        metadata={"note": "fixture \"quoted\" é\n"},  # one key: a HashMap orders several at random
    )
    save_file(
        {
            "weight": floats((2, 2), np.float32),
            "half": floats((3,), np.float16),
            "index": np.arange(2, dtype=np.int64),
        },
        os.path.join(HERE, "unsupported.safetensors"),
    )
print("fixtures written to", HERE)
