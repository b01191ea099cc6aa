"""Makes the tiny random-weight decoder models the TextGeneration tests load, with
transformers' own logits for a greedy decode of each (eager attention, float32).

Run with the PyTorch/transformers venv: `/root/peers/bin/python make_models.py` from this
folder. Each model folder (models/<name>/) holds config.json, model.safetensors,
generation_config.json, the tokenizer.json of the matching tokenizer style, and
reference.safetensors:

- prompt_ids      I64 [P]      the prompt's token ids
- generated_ids   I64 [S]      the greedy continuation (EOS ignored)
- logits          F32 [S, V]   the last position's logits before each generated token
                               (step 0: the prefill of the prompt; step s: the decode of token s − 1)
"""

import json
import os
import shutil

import torch
import transformers
from transformers import (
    Gemma2Config, Gemma2ForCausalLM, GenerationConfig, LlamaConfig, LlamaForCausalLM,
    MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM,
)
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 28
PROMPT = "The quick brown fox jumps over the lazy dog, and then"

COMMON = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=96, rms_norm_eps=1e-5,
)


def scaled(model, factor, embedding_factor, norm_center):
    """Scales every weight up from the default init so the logits are not near ties (the
    embedding by its own factor: a tied model whose embedding dominates repeats one token);
    norm weights become `norm_center + 0.2·N(0, 1)` and biases `0.3·N(0, 1)`."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(norm_center + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.3 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.mul_(embedding_factor)
            else:
                p.mul_(factor)


def make(name, style, config, model_class, dtype, eos, norm_center=1.0, factors=(4.0, 4.0)):
    torch.manual_seed(sum(map(ord, name)))
    folder = os.path.join(HERE, "models", name)
    shutil.rmtree(folder, ignore_errors=True)
    tokenizer = Tokenizer.from_file(os.path.join(HERE, style, "tokenizer.json"))
    config.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    config.eos_token_id = eos[0]
    model = model_class(config).eval()
    scaled(model, *factors, norm_center)
    model.generation_config = GenerationConfig(eos_token_id=eos)
    model.to(dtype).save_pretrained(folder, safe_serialization=True)
    shutil.copy(os.path.join(HERE, style, "tokenizer.json"), folder)

    reference = model_class.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager").eval()
    prompt = tokenizer.encode(PROMPT).ids
    logits, generated = [], []
    with torch.no_grad():
        out = reference(torch.tensor([prompt]), use_cache=True)
        for _ in range(STEPS):
            step = out.logits[0, -1].float()
            logits.append(step)
            token = int(step.argmax())
            generated.append(token)
            out = reference(
                torch.tensor([[token]]), past_key_values=out.past_key_values, use_cache=True)
        # The whole sequence without a cache gives the same last logits (a self-check).
        full = reference(torch.tensor([prompt + generated[:-1]]), use_cache=False).logits[0, -1]
        assert torch.allclose(full, logits[-1], atol=1e-4), (full - logits[-1]).abs().max()
    from safetensors.torch import save_file
    save_file({
        "prompt_ids": torch.tensor(prompt, dtype=torch.int64),
        "generated_ids": torch.tensor(generated, dtype=torch.int64),
        "logits": torch.stack(logits).contiguous(),
    }, os.path.join(folder, "reference.safetensors"))
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"{name}: prompt {len(prompt)} tokens, {STEPS} steps, {size / 1e6:.2f} MB,"
          f" generated {generated}")


def main():
    print("transformers", transformers.__version__, "torch", torch.__version__)
    make("llama", "llama3", LlamaConfig(
        **COMMON, rope_theta=10000.0, tie_word_embeddings=False,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                          high_freq_factor=4.0, original_max_position_embeddings=32)),
        LlamaForCausalLM, torch.float32, eos=[1, 4])
    make("qwen2", "qwen2", Qwen2Config(
        **COMMON, rope_theta=1000000.0, tie_word_embeddings=True),
        Qwen2ForCausalLM, torch.float32, eos=[2], factors=(8.0, 2.0))
    make("mistral", "mistral", MistralConfig(
        **COMMON, rope_theta=10000.0, sliding_window=8, tie_word_embeddings=False),
        MistralForCausalLM, torch.float16, eos=[2])
    make("gemma2", "gemma2", Gemma2Config(
        **COMMON, head_dim=16, query_pre_attn_scalar=24, sliding_window=8,
        attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
        hidden_activation="gelu_pytorch_tanh"),
        Gemma2ForCausalLM, torch.bfloat16, eos=[1, 5], norm_center=0.0, factors=(8.0, 2.0))


if __name__ == "__main__":
    main()
