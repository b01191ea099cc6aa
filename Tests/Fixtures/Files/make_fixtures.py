#!/usr/bin/env python3
"""Writes the .npy and .safetensors fixtures the Swift tests read.

Run from anywhere: python3 Tests/Fixtures/Files/make_fixtures.py
Needs numpy (2.x) and, for most .safetensors files, the reference `safetensors` package
(pip install safetensors). NumPy has no bfloat16, so the files holding BF16 tensors are laid out
by this script as the reference writer lays them out. The outputs are committed; rerun only to
regenerate them.

Element values follow formulas the Swift tests recompute independently:
  floating point: element i (row-major) is i * 0.25 - 3   (exact in every float type for the
                  small shapes used here, bfloat16 and float16 included)
  bool:           element i is (i % 3 == 0)

rounding.safetensors holds float32 and float64 inputs next to their float16 and bfloat16
roundings (to nearest, ties to even), computed exactly with fractions against the list of every
finite half-precision value (and checked against NumPy's own float16 conversion).
"""
import bisect
import json
import os
import struct
from fractions import Fraction

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
# Half precision and integers.
save("f2_3.npy", floats((3,), np.float16))
save("f2_2x3.npy", floats((2, 3), np.float16))
save("f2_special.npy", np.array(
    [np.nan, np.inf, -np.inf, -0.0, 2.0**-24, 2.0**-14 - 2.0**-24, 2.0**-14, 65504, -65504,
     1 / 3], np.float16))
save("i8_3.npy", np.arange(3, dtype=np.int64))
save("i8_4.npy", np.array([0, -1, 2**62 + 1, -2**63], np.int64))
save("i4_2x3.npy", np.array([[0, 1, -1], [2**31 - 1, -2**31, 123456789]], np.int32))
# Arrays numpy writes that this library rejects, each with its own error.
save("f4_2x3_fortran.npy", np.asfortranarray(floats((2, 3), np.float32)))
save("f4_big_endian.npy", floats((3,), ">f4"))
save("f2_big_endian.npy", floats((3,), ">f2"))
save("u2_3.npy", np.arange(3, dtype=np.uint16))
save("c8_2.npy", np.array([1 + 2j, -1j], np.complex64))


# bfloat16 and exact rounding. A bfloat16 is the upper 16 bits of a float32.
def bf16_value(bits):
    return struct.unpack("<f", struct.pack("<I", bits << 16))[0]


def f16_value(bits):
    return float(np.array([bits], np.uint16).view(np.float16)[0])


def rounding_table(positive_finite_bits, value_of, infinity_bits, infinity_value):
    """Sorted (value, bits) of every non-negative finite value, and infinity at the first value
    past the largest finite one (2^16 for float16, 2^128 for bfloat16): IEEE rounding treats it
    as the next candidate, and its even significand wins a tie with the (odd) largest finite."""
    table = [(Fraction(value_of(bits)), bits) for bits in positive_finite_bits]
    table.append((Fraction(infinity_value), infinity_bits))
    table.sort()
    return [value for value, _ in table], [bits for _, bits in table]


F16_TABLE = rounding_table(range(0x0000, 0x7C00), f16_value, 0x7C00, 2**16)
BF16_TABLE = rounding_table(range(0x0000, 0x7F80), bf16_value, 0x7F80, 2**128)


def round_exact(x, table, sign_bit, nan_bits, infinity_bits):
    """The bits of the value nearest to x in `table` (ties to even bits); NaN as `nan_bits`."""
    if np.isnan(x):
        return nan_bits | (sign_bit if np.signbit(x) else 0)
    sign = sign_bit if np.signbit(x) else 0
    if np.isinf(x):
        return infinity_bits | sign
    values, bits = table
    magnitude = abs(Fraction(float(x)))
    if magnitude >= values[-1]:
        return infinity_bits | sign
    upper = bisect.bisect_left(values, magnitude)
    if values[upper] == magnitude:
        return bits[upper] | sign
    lower = upper - 1
    below, above = magnitude - values[lower], values[upper] - magnitude
    if below < above or (below == above and bits[lower] % 2 == 0):
        return bits[lower] | sign
    return bits[upper] | sign


def to_f16_bits(x):
    return round_exact(x, F16_TABLE, 0x8000, 0x7E00, 0x7C00)


def to_bf16_bits(x):
    return round_exact(x, BF16_TABLE, 0x8000, 0x7FC0, 0x7F80)


def from_bits32(bits):
    return np.array(bits, np.uint32).view(np.float32)


def from_bits64(bits):
    return np.array(bits, np.uint64).view(np.float64)


rng = np.random.default_rng(20240611)
inputs32 = np.concatenate([
    from_bits32([
        0x3F800000,  # 1
        0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF,  # bfloat16 ties and near-ties at 1
        0x3F801000, 0x3F803000, 0x3F801001, 0x3F800FFF,  # float16 ties and near-ties at 1
        0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF,  # bfloat16 overflow boundary, float32 max
        0x00000001, 0x00008000, 0x00008001, 0x00018000, 0x007FFFFF, 0x00800000,  # subnormals
        0x33000000, 0x33000001, 0x33C00000, 0x387FC000, 0x38800000,  # float16 subnormals
        0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FA00000,
        0x80000000, 0xBF808000, 0xBF818000,
    ]),
    np.array([65504, 65519.996, 65520, 1e5, -65520, 1 / 3, -2.5e-8, 3.0e-8], np.float32),
    (rng.standard_normal(64) * np.exp2(rng.integers(-30, 30, 64))).astype(np.float32),
])
inputs64 = np.concatenate([
    np.array([1 + 2**-11 + 2**-40, 1 + 2**-8 + 2**-40, -(1 + 2**-11 + 2**-40),
              -(1 + 2**-8 + 2**-40), 65520 - 2**-30, 65520, 1e39, -1e39, 1e-50, -1e-50,
              2.0**-150, 2.0**-134 + 2.0**-160, 2.0**-25 + 2.0**-60, 2.0**-25, 1 / 3]),
    from_bits64([0x47EFF00000000000, 0x47EFEFFFFFFFFFFF,  # bfloat16 overflow tie, just below
                 0x7FF8000000000000, 0xFFF0000000000000, 0x7FF0000000000001]),
    rng.standard_normal(64) * np.exp2(rng.integers(-140, 130, 64)),
])
f16_from32 = np.array([to_f16_bits(x) for x in inputs32], np.uint16)
f16_from64 = np.array([to_f16_bits(x) for x in inputs64], np.uint16)
# NumPy's float16 conversion, an independent implementation, agrees (NaNs aside).
for inputs, expected in [(inputs32, f16_from32), (inputs64, f16_from64)]:
    with np.errstate(over="ignore"):
        numpy_bits = inputs.astype(np.float16).view(np.uint16)
    finite = ~np.isnan(inputs)
    assert (numpy_bits[finite] == expected[finite]).all(), (inputs[finite], numpy_bits, expected)
bf16_from32 = np.array([to_bf16_bits(x) for x in inputs32], np.uint16)
bf16_from64 = np.array([to_bf16_bits(x) for x in inputs64], np.uint16)


# The reference writer's layout, for files holding BF16 tensors.
DTYPE_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
               "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]


def write_safetensors(name, tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw little-endian bytes). Sorted by descending dtype
    order, then name; compact JSON; header padded with spaces to a multiple of 8 bytes."""
    ordered = sorted(tensors.items(), key=lambda item: (-DTYPE_ORDER.index(item[1][0]), item[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for tensor_name, (dtype, shape, raw) in ordered:
        header[tensor_name] = {"dtype": dtype, "shape": list(shape),
                               "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def bf16_bytes(bits):
    return np.array(bits, np.uint16).astype("<u2").tobytes()


bf16_special = [0x7FC0, 0xFFC0, 0x7F80, 0xFF80, 0x8000, 0x0001, 0x007F, 0x0080, 0x7F7F, 0xFF7F]
weight_bits = [to_bf16_bits(x) for x in floats((2, 3), np.float32).ravel()]
assert all(Fraction(bf16_value(b)) == Fraction(float(x))
           for b, x in zip(weight_bits, floats((2, 3), np.float32).ravel()))
write_safetensors("bf16.safetensors", {
    "weight": ("BF16", (2, 3), bf16_bytes(weight_bits)),
    "special": ("BF16", (len(bf16_special),), bf16_bytes(bf16_special)),
    "bias": ("F32", (2,), floats((2,), "<f4").tobytes()),
})
write_safetensors("rounding.safetensors", {
    "input32": ("F32", inputs32.shape, inputs32.astype("<f4").tobytes()),
    "float16_from32": ("F16", f16_from32.shape, f16_from32.astype("<u2").tobytes()),
    "bfloat16_from32": ("BF16", bf16_from32.shape, bf16_from32.astype("<u2").tobytes()),
    "input64": ("F64", inputs64.shape, inputs64.astype("<f8").tobytes()),
    "float16_from64": ("F16", f16_from64.shape, f16_from64.astype("<u2").tobytes()),
    "bfloat16_from64": ("BF16", bf16_from64.shape, bf16_from64.astype("<u2").tobytes()),
})

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
            "small": np.arange(3, dtype=np.int16),
            "byte": np.arange(2, dtype=np.uint8),
        },
        os.path.join(HERE, "unsupported.safetensors"),
    )
    save_file(
        {
            "half": floats((2, 3), np.float16),
            "ids32": np.array([0, 1, -1, 2**31 - 1], np.int32),
            "ids64": np.array([0, -1, 2**62 + 1, -2**63], np.int64),
            "single": floats((2,), np.float32),
        },
        os.path.join(HERE, "half.safetensors"),
        metadata={"format": "pt"},
    )
print("fixtures written to", HERE)
