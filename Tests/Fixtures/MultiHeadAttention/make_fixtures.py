#!/usr/bin/env python3
"""Writes pytorch_mha.json: PyTorch nn.MultiheadAttention forward passes for the Swift tests.

Run from this directory with PyTorch installed (written with torch 2.13.0+cpu):
    python3 make_fixtures.py
The Swift tests only read the committed JSON; they never need PyTorch. Everything is float64 so
the comparison can be tight. Rows are never fully masked (PyTorch returns NaN for those, this
library returns zeros, a documented difference).
"""
import json

import torch

torch.set_default_dtype(torch.float64)


def number(x):
    # JSON has no infinities: they are written as the strings "inf" and "-inf".
    return x if x not in (float("inf"), float("-inf")) else str(x)


def tensor(t):
    return {"shape": list(t.shape), "data": [number(float(x)) for x in t.reshape(-1).tolist()]}


def case(name, embed, heads, *, kdim=None, vdim=None, bias=True, batch=2, nq=5, nk=None,
         self_attention=True, unbatched=False, mask=None, key_lengths=None, average=True, seed=0):
    torch.manual_seed(seed)
    nk = nq if nk is None else nk
    mha = torch.nn.MultiheadAttention(embed, heads, bias=bias, kdim=kdim, vdim=vdim,
                                      batch_first=True)
    # Non-zero biases, so that the bias mapping is checked too.
    with torch.no_grad():
        if mha.in_proj_bias is not None:
            mha.in_proj_bias.normal_(0, 0.5)
            mha.out_proj.bias.normal_(0, 0.5)
    mha.eval()
    lead = [] if unbatched else [batch]
    query = torch.randn(*lead, nq, embed)
    key = query if self_attention else torch.randn(*lead, nk, kdim or embed)
    value = query if self_attention else torch.randn(*lead, nk, vdim or embed)
    attn_mask = None
    entry = {"name": name, "embed": embed, "heads": heads}
    if mask == "bool":
        # True = not allowed (nn.MultiheadAttention's polarity); the diagonal stays visible.
        attn_mask = torch.rand(nq, nk) < 0.3
        for i in range(min(nq, nk)):
            attn_mask[i, i] = False
        entry["block_mask"] = {"shape": [nq, nk], "data": [bool(x) for x in attn_mask.reshape(-1)]}
    elif mask == "additive":
        attn_mask = torch.randn(nq, nk)
        attn_mask[0, -1] = float("-inf")
        entry["additive_mask"] = tensor(attn_mask)
    elif mask == "causal":
        attn_mask = torch.triu(torch.ones(nq, nk, dtype=torch.bool), diagonal=1)
        entry["causal"] = "top-left"
    key_padding_mask = None
    if key_lengths is not None:
        key_padding_mask = torch.arange(nk)[None, :] >= torch.tensor(key_lengths)[:, None]
        entry["key_lengths"] = key_lengths
    with torch.no_grad():
        output, weights = mha(query, key, value, attn_mask=attn_mask,
                              key_padding_mask=key_padding_mask, need_weights=True,
                              average_attn_weights=average)
    entry.update({
        "state_dict": {k: tensor(v) for k, v in mha.state_dict().items()},
        "query": tensor(query),
        "output": tensor(output),
        "weights": tensor(weights),
        "average": average,
    })
    if not self_attention:
        entry["key"] = tensor(key)
        entry["value"] = tensor(value)
    return entry


cases = [
    case("self, bool mask, key padding", 8, 2, mask="bool", key_lengths=[5, 3], seed=1),
    case("cross, kdim/vdim, additive mask, per-head weights", 6, 3, kdim=3, vdim=5, nq=4, nk=7,
         self_attention=False, mask="additive", average=False, seed=2),
    case("unbatched self, causal, no bias", 8, 4, bias=False, unbatched=True, nq=6,
         mask="causal", seed=3),
]
with open("pytorch_mha.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
