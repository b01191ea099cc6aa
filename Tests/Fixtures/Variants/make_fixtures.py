#!/usr/bin/env python3
"""Writes pytorch_variants.json: PyTorch scaled_dot_product_attention with explicit masks that
express sliding windows, ALiBi and packed sequences, for the Swift tests.

Run from this directory with PyTorch installed (written with torch 2.x, CPU):
    python3 make_fixtures.py
PyTorch has no window, ALiBi or packed-sequence argument on the CPU, so each case builds the
boolean or additive mask from the definitions (FlashAttention's conventions, see README) and
passes it to torch.nn.functional.scaled_dot_product_attention. The Swift tests give the same
inputs to the library through its own arguments (window:, alibiSlopes:, packedSequences:) and
compare. Everything is float64. A row that sees no key gets zeros in PyTorch 2.15, as in the
library (older PyTorch gave NaN there).
"""
import json

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def tensor(t):
    return {"shape": list(t.shape), "data": [float(x) for x in t.reshape(-1).tolist()]}


def positions(nq, nk, alignment):
    """p(i) = i (top-left) or i + nk - nq (bottom-right), as a column."""
    i = torch.arange(nq).unsqueeze(1)
    return i if alignment == "top-left" else i + nk - nq


def visibility(nq, nk, causal, window, alignment):
    """Boolean [nq, nk]: causal and window (L, R; None unbounded) from the definitions."""
    p = positions(nq, nk, alignment)
    j = torch.arange(nk).unsqueeze(0)
    allowed = torch.ones(nq, nk, dtype=torch.bool)
    if causal:
        allowed &= j <= p
    if window is not None:
        left, right = window
        if left is not None:
            allowed &= j >= p - left
        if right is not None:
            allowed &= j <= p + right
    return allowed


def alibi_bias(nq, nk, slopes, alignment):
    """Additive [hq, nq, nk]: -m_h * |p(i) - j|."""
    p = positions(nq, nk, alignment)
    j = torch.arange(nk).unsqueeze(0)
    distance = (p - j).abs().to(torch.float64)
    return -torch.tensor(slopes).view(-1, 1, 1) * distance


def attend(q, k, v, mask):
    hq, hkv = q.shape[-3], k.shape[-3]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=hq != hkv)
    assert not torch.isnan(out).any(), "NaN output: PyTorch older than 2.5 gives NaN for masked rows"
    return out


def case(name, *, batch=1, hq=2, hkv=1, nq=7, nk=9, d=5, causal=None, window=None,
         slopes=None, packed=None, seed=0):
    torch.manual_seed(seed)
    q = torch.randn(batch, hq, nq, d)
    k = torch.randn(batch, hkv, nk, d)
    v = torch.randn(batch, hkv, nk, d)
    # Positions follow the causal alignment; bottom-right without a causal mask.
    alignment = "top-left" if causal == "top-left" else "bottom-right"
    if packed is None:
        segments = [((0, nq), (0, nk))]
    else:
        segments, qs, ks = [], 0, 0
        for a, b in zip(*packed):
            segments.append(((qs, qs + a), (ks, ks + b)))
            qs, ks = qs + a, ks + b
        assert (qs, ks) == (nq, nk)
    # Everything outside a sequence's own block is -inf; inside, the per-sequence rules.
    mask = torch.full((hq, nq, nk), float("-inf"))
    for (q0, q1), (k0, k1) in segments:
        allowed = visibility(q1 - q0, k1 - k0, causal is not None, window, alignment)
        block = torch.where(allowed, 0.0, float("-inf")).expand(hq, -1, -1).clone()
        if slopes is not None:
            block = block + alibi_bias(q1 - q0, k1 - k0, slopes, alignment)
        mask[:, q0:q1, k0:k1] = block
    out = attend(q, k, v, mask)
    return {
        "name": name, "causal": causal, "window": list(window) if window else None,
        "alibiSlopes": slopes,
        "packedQueryLengths": list(packed[0]) if packed else None,
        "packedKeyLengths": list(packed[1]) if packed else None,
        "query": tensor(q), "key": tensor(k), "value": tensor(v), "output": tensor(out),
    }


cases = [
    case("sliding window 3, causal, square", nq=9, nk=9, causal="bottom-right", window=(2, 0), seed=1),
    case("window (2, 1) without causal, Nq < Nk", nq=6, nk=11, window=(2, 1), seed=2),
    case("window (1, None), top-left causal, Nq > Nk", nq=8, nk=6, causal="top-left", window=(1, None), seed=3),
    case("window (None, 2), Nq > Nk, GQA 4/2", hq=4, hkv=2, nq=8, nk=8, window=(None, 2), seed=4),
    case("window (0, 0), batch of 2", batch=2, nq=5, nk=5, window=(0, 0), seed=5),
    case("ALiBi, causal", hq=3, hkv=1, nq=6, nk=6, causal="bottom-right", slopes=[0.5, 0.25, 0.125], seed=6),
    case("ALiBi without causal, Nq < Nk", hq=2, nq=4, nk=9, slopes=[0.3, 0.05], seed=7),
    case("ALiBi, top-left causal, window (3, 0)", hq=2, nq=10, nk=10, causal="top-left",
         window=(3, 0), slopes=[1.0, 0.1], seed=8),
    case("packed, self-attention, causal", nq=12, nk=12, causal="bottom-right",
         packed=([3, 1, 8], [3, 1, 8]), seed=9),
    case("packed, cross lengths, window (1, 1), ALiBi, GQA", hq=4, hkv=2, nq=9, nk=14,
         window=(1, 1), slopes=[0.5, 0.4, 0.3, 0.2], packed=([2, 4, 3], [5, 4, 5]), seed=10),
]

with open("pytorch_variants.json", "w") as out:
    json.dump({"torch": torch.__version__, "cases": cases}, out, separators=(",", ":"))
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
