#!/usr/bin/env python3
"""Writes the ill-conditioned attention fixtures: keys that share a large common component, so
every logit is near -90 and only their small differences carry information (a large key bias,
or the "massive activations" of trained models). The Swift test (KeyCentringTests) requires the
library's float32 error against float64 to be no larger than PyTorch float32's on these inputs.

Run from this directory with PyTorch installed (written with torch 2.15, CPU):
    python3 make_fixtures.py
For each case (`noncausal`, `causal`): <case>_q.npy, <case>_k.npy, <case>_v.npy (float32,
[1, 2, 128, 64]), <case>_torch.npy (torch.nn.functional.scaled_dot_product_attention in float32
on the CPU, 2 threads) and <case>_reference.npy (the same attention in float64 from the same
float32 inputs, written out from the definition softmax(QKᵀ/√d)·V).
"""
import numpy as np
import torch

torch.set_num_threads(2)
B, H, N, D = 1, 2, 128, 64
rng = np.random.default_rng(20261201)


def reference(q, k, v, causal):
    q, k, v = (torch.from_numpy(x).double() for x in (q, k, v))
    s = q @ k.transpose(-1, -2) / np.sqrt(D)
    if causal:
        s = s.masked_fill(torch.ones(N, N, dtype=torch.bool).triu(1), float("-inf"))
    return (torch.softmax(s, -1) @ v).numpy()


for case in ("noncausal", "causal"):
    q = rng.standard_normal((B, H, N, D)).astype(np.float32)
    bias = 100 * rng.standard_normal((B, H, 1, D))
    k = (rng.standard_normal((B, H, N, D)) + bias).astype(np.float32)
    v = rng.standard_normal((B, H, N, D)).astype(np.float32)
    torch_out = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(x) for x in (q, k, v)), is_causal=case == "causal").numpy()
    expected = reference(q, k, v, case == "causal")
    for name, array in (("q", q), ("k", k), ("v", v), ("torch", torch_out),
                        ("reference", expected)):
        np.save(f"{case}_{name}.npy", array)
    print(case, "torch float32 max abs error", np.abs(torch_out - expected).max())
