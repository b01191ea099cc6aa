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
write("npy", "f2_2x2.npy", npy(np.array([[1, -2], [0.5, 65504]], np.float16)))
write("npy", "f2_special.npy", npy(np.array(
    [np.nan, -np.inf, -0.0, 2.0**-24, 2.0**-14, 65504], np.float16)))
write("npy", "i4_3.npy", npy(np.array([0, -1, 2**31 - 1], np.int32)))
write("npy", "i8_2.npy", npy(np.array([-2**63, 2**62 + 1], np.int64)))
# .npy: near-valid files, one broken rule each.
valid = npy(np.array([1, 2, 3], np.float32))
write("npy", "truncated_data.npy", valid[:-2])
write("npy", "extra_data.npy", valid + b"\0\0\0\0")
write("npy", "truncated_header.npy", valid[:20])
write("npy", "bad_magic.npy", b"\x93NUMPZ" + valid[6:])
write("npy", "version_4.npy", valid[:6] + b"\x04\x00" + valid[8:])
write("npy", "fortran.npy", npy(np.asfortranarray(np.zeros((2, 2), np.float32))))
write("npy", "big_endian.npy", npy(np.zeros(2, ">f8")))
write("npy", "big_endian_f2.npy", npy(np.zeros(2, ">f2")))
write("npy", "uint16.npy", npy(np.arange(2, dtype=np.uint16)))
half = npy(np.array([1, 2, 3], np.float16))
write("npy", "truncated_f2.npy", half[:-1])
write("npy", "extra_data_i4.npy", npy(np.array([1, 2], np.int32)) + b"\0\0")
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
      safetensors({"h": ("U16", [2], np.array([1, 2], np.uint16).tobytes())}))
# Half precision and integers. bfloat16 is the upper half of a float32's bits; these include
# NaN, -inf, -0, the smallest subnormal and the largest finite value.
bf16 = np.array([0x3F80, 0x7FC0, 0xFF80, 0x8000, 0x0001, 0x7F7F], np.uint16).tobytes()
write("safetensors", "half.safetensors", safetensors({
    "f16": ("F16", [2, 2], np.array([1, -np.inf, 2.0**-24, np.nan], np.float16).tobytes()),
    "bf16": ("BF16", [6], bf16),
    "i32": ("I32", [2], np.array([-1, 2**31 - 1], np.int32).tobytes()),
    "i64": ("I64", [1], np.array([-2**63], np.int64).tobytes()),
}))
write("safetensors", "bf16_shape_mismatch.safetensors", safetensors({}, header_override=json.dumps(
    {"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 4]}})) + b"\0" * 4)
write("safetensors", "f16_truncated.safetensors",
      safetensors({"h": ("F16", [3], np.array([1, 2, 3], np.float16).tobytes())})[:-1])
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

# bert: checkpoints of the tiny BERT the `bert` target loads (hidden 4, 1 layer, 2 heads,
# intermediate 8, vocabulary 10, 8 positions, 2 token types), valid and one rule broken each.
def tiny_bert(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {
        "embeddings.word_embeddings.weight": [10, 4],
        "embeddings.position_embeddings.weight": [8, 4],
        "embeddings.token_type_embeddings.weight": [2, 4],
        "embeddings.LayerNorm.weight": [4], "embeddings.LayerNorm.bias": [4],
    }
    prefix = "encoder.layer.0."
    for name in ["attention.self.query", "attention.self.key", "attention.self.value",
                 "attention.output.dense"]:
        shapes[prefix + name + ".weight"] = [4, 4]
        shapes[prefix + name + ".bias"] = [4]
    for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
        shapes[prefix + name + ".weight"] = [4]
        shapes[prefix + name + ".bias"] = [4]
    shapes[prefix + "intermediate.dense.weight"] = [8, 4]
    shapes[prefix + "intermediate.dense.bias"] = [8]
    shapes[prefix + "output.dense.weight"] = [4, 8]
    shapes[prefix + "output.dense.bias"] = [4]
    return {name: ("F32", shape, (rng.standard_normal(shape) * 0.5).astype(np.float32).tobytes())
            for name, shape in shapes.items()}


def f32(shape, value=0.0):
    return np.full(shape, value, np.float32).tobytes()


bert = tiny_bert()
write("bert", "valid_tiny_bert.safetensors", safetensors(bert))
write("bert", "valid_with_pooler.safetensors",
      safetensors(dict(bert, **{"pooler.dense.bias": ("F32", [4], f32([4]))})))
write("bert", "valid_nan_weights.safetensors", safetensors(dict(bert, **{
    "embeddings.word_embeddings.weight": ("F32", [10, 4], f32([10, 4], np.nan))})))
missing = dict(bert)
del missing["encoder.layer.0.output.dense.bias"]
write("bert", "missing_tensor.safetensors", safetensors(missing))
write("bert", "wrong_shape.safetensors", safetensors(dict(bert, **{
    "embeddings.word_embeddings.weight": ("F32", [5, 8], f32([5, 8]))})))
write("bert", "wrong_dtype.safetensors", safetensors(dict(bert, **{
    "embeddings.LayerNorm.bias": ("F64", [4], np.zeros(4).tobytes())})))
write("bert", "unexpected_tensor.safetensors", safetensors(dict(bert, **{
    "encoder.layer.1.output.dense.bias": ("F32", [4], f32([4]))})))

# bert-config: config.json files, valid and broken.
minilm = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
          "intermediate_size": 1536, "vocab_size": 30522, "max_position_embeddings": 512,
          "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
          "position_embedding_type": "absolute", "architectures": ["BertModel"]}
write("bert-config", "valid_minilm.json", json.dumps(minilm, indent=2).encode())
write("bert-config", "valid_tiny.json", json.dumps(
    {"hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8,
     "vocab_size": 10, "max_position_embeddings": 8}).encode())
write("bert-config", "valid_huge_sizes.json", json.dumps(dict(
    minilm, hidden_size=1 << 62, num_attention_heads=1, vocab_size=1 << 62,
    num_hidden_layers=1 << 40)).encode())
write("bert-config", "indivisible_heads.json",
      json.dumps(dict(minilm, num_attention_heads=7)).encode())
write("bert-config", "relu.json", json.dumps(dict(minilm, hidden_act="relu")).encode())
write("bert-config", "missing_key.json",
      json.dumps({k: v for k, v in minilm.items() if k != "vocab_size"}).encode())

# tokenizer: text, including what trips normalisers: accents (composed and not), CJK,
# punctuation, control and zero-width characters, special-token spellings, long words, emoji.
texts = {
    "plain.txt": "Hello, the unaffable runs!",
    "accents.txt": "Café CAFE\u0301 naïve \u00e9\u0301",
    "cjk.txt": "中文 mixed中文text 日本語",
    "special_tokens.txt": "[CLS] x [SEP] [MASK][UNK] [PAD]",
    "controls.txt": "a\u0000b\u200bc\ufeffd\te\r\nf\u00ad",
    "long_word.txt": "x" * 40 + " un" + "aff" * 10,
    "digits.txt": "12 1222 3.14 \"quoted\" it's",
    "emoji.txt": "run \U0001F3C3\u200d\u2640\ufe0f \U0001F44D\U0001F3FD x",
}
for name, text in texts.items():
    write("tokenizer", name, text.encode("utf-8"))
write("tokenizer", "invalid_utf8.txt", b"caf\xc3 \xff\xfe x \xe4\xb8")

print("corpus written to", CORPUS)
