#!/usr/bin/env python3
"""Writes the seed corpora and dictionaries libFuzzer starts from (`make fuzz`).

Run from anywhere: python3 Tests/Fuzz/make_corpus.py  (needs numpy). The outputs are committed;
rerun only to regenerate them. Seeds are small on purpose: libFuzzer mutates faster, and every
structural feature of the formats (versions, dtypes, ranks, empty and scalar arrays, metadata,
offsets) appears in at least one valid file, next to near-valid files that each break one rule.
"""
import io
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")


def write(kind, name, data):
    folder = os.path.join(CORPUS, kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def npy(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def npy_header(text, version=(1, 0)):
    """A hand-made header: `text` padded as numpy pads it."""
    body = text.encode("latin1")
    field = 2 if version == (1, 0) else 4
    pad = 64 - (6 + 2 + field + len(body) + 1) % 64
    body += b" " * pad + b"\n"
    size = struct.pack("<H" if field == 2 else "<I", len(body))
    return b"\x93NUMPY" + bytes(version) + size + body


# .npy: valid files in every supported type, rank and version.
write("npy", "f4_scalar.npy", npy(np.float32(1.5)))
write("npy", "f4_3.npy", npy(np.array([1, -2, 0.5], np.float32)))
write("npy", "f8_2x3.npy", npy(np.arange(6, dtype=np.float64).reshape(2, 3)))
write("npy", "b1_2x2.npy", npy(np.array([[True, False], [False, True]])))
write("npy", "f4_0x3.npy", npy(np.zeros((0, 3), np.float32)))
write("npy", "f4_1x1x1x2.npy", npy(np.array([np.nan, np.inf], np.float32).reshape(1, 1, 1, 2)))
write("npy", "f4_2_v2.npy", npy(np.array([1, 2], np.float32), version=(2, 0)))
write("npy", "f8_1_v3.npy", npy(np.array([3.0]), version=(3, 0)))
# .npy: near-valid files, one broken rule each.
valid = npy(np.array([1, 2, 3], np.float32))
write("npy", "truncated_data.npy", valid[:-2])
write("npy", "extra_data.npy", valid + b"\0\0\0\0")
write("npy", "truncated_header.npy", valid[:20])
write("npy", "bad_magic.npy", b"\x93NUMPZ" + valid[6:])
write("npy", "version_4.npy", valid[:6] + b"\x04\x00" + valid[8:])
write("npy", "fortran.npy", npy(np.asfortranarray(np.zeros((2, 2), np.float32))))
write("npy", "big_endian.npy", npy(np.zeros(2, ">f8")))
write("npy", "int64.npy", npy(np.arange(2, dtype=np.int64)))
write("npy", "huge_shape.npy", npy_header(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
write("npy", "overflow_shape.npy", npy_header(
    "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999, 1), }"))
write("npy", "negative_shape.npy", npy_header(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"))
write("npy", "nested_header.npy", npy_header(
    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ((1,),), }"))
write("npy", "header_length_too_long.npy", valid[:8] + b"\xff\xff" + valid[10:])

# .safetensors: an 8-byte little-endian header length, a JSON header, the data.
def safetensors(tensors, metadata=None, header_override=None):
    header = {}
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_override if header_override is not None else json.dumps(header)
    encoded = text.encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + data


f32 = np.array([1, 2, 3, 4], np.float32).tobytes()
write("safetensors", "one_f32.safetensors", safetensors({"w": ("F32", [2, 2], f32)}))
write("safetensors", "mixed.safetensors", safetensors({
    "q": ("F32", [1, 2], np.array([0.5, -1], np.float32).tobytes()),
    "s": ("F64", [], np.array([2.0]).tobytes()),
    "m": ("BOOL", [3], bytes([1, 0, 1])),
    "e": ("F32", [0, 4], b""),
}, metadata={"format": "pt"}))
write("safetensors", "empty.safetensors", safetensors({}))
write("safetensors", "unsupported_dtype.safetensors",
      safetensors({"h": ("F16", [2], np.array([1, 2], np.float16).tobytes())}))
write("safetensors", "offsets_out_of_range.safetensors", safetensors({}, header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4096]}})))
write("safetensors", "offsets_overlap.safetensors", safetensors({}, header_override=json.dumps({
    "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
    "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}})) + b"\0" * 8)
write("safetensors", "shape_mismatch.safetensors", safetensors({}, header_override=json.dumps(
    {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})) + b"\0" * 8)
write("safetensors", "huge_shape.safetensors", safetensors({}, header_override=json.dumps(
    {"w": {"dtype": "F64", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}})) + b"\0" * 8)
write("safetensors", "huge_header_length.safetensors",
      struct.pack("<Q", 1 << 62) + b'{"w": {}}')
write("safetensors", "truncated.safetensors",
      safetensors({"w": ("F32", [2, 2], f32)})[:-3])
write("safetensors", "not_json.safetensors", safetensors({}, header_override='{"w": [1, 2,'))
write("safetensors", "deep_nesting.safetensors",
      safetensors({}, header_override='{"__metadata__": ' + "[" * 64 + "]" * 64 + "}"))

print("corpus written to", CORPUS)
