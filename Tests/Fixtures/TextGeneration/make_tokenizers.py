#!/usr/bin/env python3
"""Trains small BPE tokenizers in the style of each decoder-model family and records what the
`tokenizers` package makes of a set of test strings.

Run with a Python that has `tokenizers` (kept outside the repository):

    python3 -m venv /root/tokvenv && /root/tokvenv/bin/pip install tokenizers
    /root/tokvenv/bin/python Tests/Fixtures/TextGeneration/make_tokenizers.py

For each style it writes `<style>/tokenizer.json` (the file the Swift tokenizer reads),
`<style>/tokenizer_config.json` (the BOS and EOS names, as transformers saves them) and
`<style>/expected.json`: for every test string, the ids `tokenizers` gives with and without
special tokens, its tokens, and its decoding with and without skipping special tokens.

The training corpus is `corpus.txt` beside this script. Training is deterministic, so a re-run
writes the same files; the tests only need the committed outputs.
"""

import json
import os
import sys

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
# Paragraphs (blank-line separated) keep their inner newlines, so newline pieces are learnt.
CORPUS = open(os.path.join(HERE, "corpus.txt"), encoding="utf-8").read().split("\n\n")

# The split patterns the families ship (copied from their tokenizer.json files).
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]

# Strings every style encodes: English, contractions, digits, punctuation, accents (composed and
# decomposed), CJK, emoji (with modifiers, ZWJ sequences, flags), whitespace runs at the start,
# middle and end, newlines, tabs, the Unicode spaces and controls, and text that looks like a
# special token but is not one.
COMMON_STRINGS = [
    "",
    " ",
    "   ",
    "Hello world",
    " Hello world",
    "Hello world ",
    "Hello   world",
    "  leading and trailing  ",
    "\n",
    "line one\nline two\n\nline four",
    "\r\nwindows line\r\nends\r\n",
    "\ttabs\tand\t\ttabs ",
    "It's what we'd've done; I'll say they're here, you've seen I'm right.",
    "IT'S LOUD AND WE'LL SHOUT",
    "numbers 1234567 and 3.14159 and 1,000,000 and 42",
    "café naïve résumé façade",
    "cafe\u0301 and nai\u0308ve (decomposed)",
    "東京タワーは日本にあります。",
    "你好，世界！这是一个测试。",
    "한국어 텍스트 입니다",
    "emoji 😀👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷",
    "ΑΒΓ αβγ Привет мир",
    "mixed123abc456DEF",
    "x^2 + y_2 = z**2 // comment #hash",
    "def f(x):\n    return x * 2\n",
    "<html><body>not special</body></html>",
    "<s>",
    "$100 & 50% off!!! (really?) [yes] {no}",
    "...",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "supercalifragilisticexpialidocious",
    "\u000bvertical tab\u000cform feed",
    "\u0085next line",
    "nbsp\u00a0here and ideographic\u3000space",
    "zero\u200bwidth joiner",
    "rare ☃ ⚡ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ",
    "control \u0001\u007f chars",
    "curly ’s quotes “like this” — dash",
    "the tokenizer tokenizes tokens",
    "  \n  \n",
    "end with newline\n",
    "trailing spaces   ",
    "a\u0301\u0302 stacked marks",
    "Ÿ ſ ﬁ ligature 'ſ",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "עברית ועוד",
    "العربية",
    "हिन्दी शब्द",
    "The quick brown fox jumps over the lazy dog.",
    "\n\n\nthree newlines then text",
    "word\n\n  indented after blank line",
    "ciao ciaone ciao.",
]

# Pieces of the tokenizers' pipelines that the styles share.
def bytelevel_trained(pre_tokenizer, normalizer, special_tokens, vocab_size=700):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    return tok


def sentencepiece_vocab(normalizer, pre_tokenizer, specials, vocab_size=700):
    """Trains pieces, then lays the vocabulary out as SentencePiece conversions do: the special
    tokens first, then `<0x00>`…`<0xFF>` (for byte fallback), then the trained pieces."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=specials,
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = {}
    for token in specials + BYTE_TOKENS:
        vocab[token] = len(vocab)
    for token, _ in sorted(model["vocab"].items(), key=lambda item: item[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return vocab, merges


def template(bos):
    return processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1", special_tokens=[(bos, 0)]
    )


def fix_template_ids(tok, bos):
    """TemplateProcessing needs the id at construction; set it once the vocabulary exists."""
    bos_id = tok.token_to_id(bos)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1", special_tokens=[(bos, bos_id)]
    )


def special(content, **flags):
    return AddedToken(content, special=True, normalized=False, **flags)


def added(content, **flags):
    return AddedToken(content, special=False, normalized=True, **flags)


# The styles. Each returns (tokenizer, strings with special or added tokens, bos, eos).
def gpt2():
    tok = bytelevel_trained(
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), None, ["<|endoftext|>"]
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    # `<mask>` strips the spaces on its left as RoBERTa's does; `ciao` only matches a whole word.
    tok.add_special_tokens([special("<mask>", lstrip=True)])
    tok.add_tokens([added("<custom>"), added("ciao", single_word=True)])
    extra = [
        "<|endoftext|>",
        "Hello<|endoftext|>world",
        "first document<|endoftext|> second<|endoftext|><|endoftext|>",
        "a sentence with a   <mask> in it",
        "<mask>start and end <mask>",
        "text <custom> added token<custom>glued",
        "ciao bella, ciaone no, (ciao)",
    ]
    return tok, extra, None, "<|endoftext|>"


def gpt2_prefix_space():
    tok, extra, bos, eos = gpt2()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    return tok, extra, bos, eos


LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]


def llama3():
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    trained = bytelevel_trained(pre, None, LLAMA3_SPECIALS)
    data = json.loads(trained.to_str())
    # Llama 3's vocabulary holds whole words that its merges never build; `ignore_merges` makes
    # such a word one token. Add two (ids after the trained ones) so the fixtures exercise it.
    vocab = data["model"]["vocab"]
    for word in ["Ġtokenizes", "Ġsupercalifragilisticexpialidocious"]:
        if word not in vocab:
            vocab[word] = len(vocab)
    model = models.BPE(
        vocab=vocab,
        merges=[tuple(m) for m in data["model"]["merges"]],
        ignore_merges=True,
    )
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([special(t) for t in LLAMA3_SPECIALS])
    # A reserved token that strips the spaces after it.
    tok.add_special_tokens([special("<|reserved_special_token_0|>", rstrip=True)])
    bos_id = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
            special_tokens=[("<|begin_of_text|>", bos_id)],
        ),
    ])
    extra = [
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "answer<|eot_id|><|end_of_text|>",
        "reserved<|reserved_special_token_0|>   spaces eaten",
        " the tokenizer tokenizes supercalifragilisticexpialidocious",
    ]
    return tok, extra, "<|begin_of_text|>", "<|eot_id|>"


QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def qwen2():
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok = bytelevel_trained(pre, normalizers.NFC(), QWEN2_SPECIALS)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([special(t) for t in QWEN2_SPECIALS])
    tok.add_tokens([added("<think>")])
    extra = [
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
        "<|im_start|>assistant\n<think>\nhmm\n</think>\n\nAnswer<|im_end|><|endoftext|>",
        "digits 2024 split one by one: 1234567890",
    ]
    return tok, extra, None, "<|im_end|>"


def sentencepiece_tokenizer(vocab, merges, unk="<unk>", byte_fallback=True):
    return Tokenizer(
        models.BPE(
            vocab=vocab, merges=merges, unk_token=unk, byte_fallback=byte_fallback, fuse_unk=True
        )
    )


def mistral_vocab():
    normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    pre = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    return sentencepiece_vocab(normalizer, pre, ["<unk>", "<s>", "</s>"])


MISTRAL_EXTRA = [
    "<s>[INST] What is 2+2? [/INST] Four.</s>",
    "[INST]no spaces[/INST]",
    "before<s>after</s>",
    "a <custom> added token and<custom>glued",
    "<unk> is written out",
]


def mistral_like(byte_fallback=True):
    vocab, merges = mistral_vocab()
    tok = sentencepiece_tokenizer(vocab, merges, byte_fallback=byte_fallback)
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([
        decoders.Replace("▁", " "),
        decoders.ByteFallback(),
        decoders.Fuse(),
        decoders.Strip(content=" ", left=1, right=0),
    ])
    tok.add_special_tokens([special("<unk>"), special("<s>"), special("</s>")])
    tok.add_special_tokens([special("[INST]"), special("[/INST]")])
    tok.add_tokens([added("<custom>")])
    fix_template_ids(tok, "<s>")
    return tok, MISTRAL_EXTRA, "<s>", "</s>"


def mistral():
    return mistral_like()


def sentencepiece_unk():
    """A SentencePiece-style BPE without byte fallback: unknown characters become `<unk>`,
    runs of them fused into one."""
    return mistral_like(byte_fallback=False)


def llama2_metaspace():
    """Llama 2 as transformers converts it with `legacy=False`: no normalizer, a Metaspace
    pre-tokenizer that prepends `▁` to the first piece only, and a Metaspace decoder."""
    vocab, merges = mistral_vocab()
    tok = sentencepiece_tokenizer(vocab, merges)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="first", split=False
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.add_special_tokens([special("<unk>"), special("<s>"), special("</s>")])
    tok.add_tokens([added("<custom>")])
    fix_template_ids(tok, "<s>")
    return tok, MISTRAL_EXTRA, "<s>", "</s>"


GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]


def gemma2():
    # Gemma's pieces cross word boundaries and include runs of `▁`: train on whole lines.
    vocab, merges = sentencepiece_vocab(
        normalizers.Replace(" ", "▁"), None, GEMMA_SPECIALS, vocab_size=900
    )
    tok = sentencepiece_tokenizer(vocab, merges)
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence([
        decoders.Replace("▁", " "),
        decoders.ByteFallback(),
        decoders.Fuse(),
    ])
    tok.add_special_tokens([special(t) for t in GEMMA_SPECIALS])
    fix_template_ids(tok, "<bos>")
    extra = [
        "<start_of_turn>user\nWrite a poem<end_of_turn>\n<start_of_turn>model\n",
        "<bos><start_of_turn>user\n  two spaces<end_of_turn>",
        "ends with eos<eos>",
    ]
    return tok, extra, "<bos>", "<end_of_turn>"


STYLES = {
    "gpt2": gpt2,
    "gpt2-prefix-space": gpt2_prefix_space,
    "llama3": llama3,
    "qwen2": qwen2,
    "mistral": mistral,
    "llama2-metaspace": llama2_metaspace,
    "sentencepiece-unk": sentencepiece_unk,
    "gemma2": gemma2,
}


# Variants: the GPT-2 vocabulary under other normalizers and pre-tokenizers, for the split
# behaviors, inversion, Metaspace splitting and Unicode normalizers no family above uses.
def variant(pre_tokenizer=None, normalizer=None, json_pre_tokenizer=None):
    def make():
        tok, _, _, eos = gpt2()
        if pre_tokenizer is not None:
            tok.pre_tokenizer = pre_tokenizer
        tok.normalizer = normalizer
        if json_pre_tokenizer is not None:
            # A form only older files have; tokenizers still reads it.
            data = json.loads(tok.to_str())
            data["pre_tokenizer"] = json_pre_tokenizer
            tok = Tokenizer.from_str(json.dumps(data))
        return tok, [], None, eos

    return make


def then_bytes(pre_tokenizer):
    return pre_tokenizers.Sequence([
        pre_tokenizer, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    ])


VARIANTS = {
    "split-removed": variant(then_bytes(pre_tokenizers.Split(" ", behavior="removed"))),
    "split-merged-with-previous": variant(
        then_bytes(pre_tokenizers.Split(" ", behavior="merged_with_previous"))
    ),
    "split-merged-with-next": variant(
        then_bytes(pre_tokenizers.Split(" ", behavior="merged_with_next"))
    ),
    "split-contiguous": variant(
        then_bytes(pre_tokenizers.Split(Regex(r"\p{P}"), behavior="contiguous"))
    ),
    "split-inverted": variant(
        then_bytes(pre_tokenizers.Split(Regex(r"\p{L}+|\p{N}+"), behavior="removed", invert=True))
    ),
    "metaspace-split": variant(
        then_bytes(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True))
    ),
    "metaspace-legacy-field": variant(
        json_pre_tokenizer={
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False},
            ],
        }
    ),
    "bytelevel-without-regex": variant(
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    ),
    "nfkc-regex-replace": variant(
        normalizer=normalizers.Sequence([
            normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")
        ])
    ),
    "nfd": variant(normalizer=normalizers.NFD()),
}


def unk_not_fused():
    """SentencePiece-style without byte fallback, each unknown character its own `<unk>`."""
    tok, _, bos, eos = mistral_like(byte_fallback=False)
    data = json.loads(tok.to_str())
    data["model"]["fuse_unk"] = False
    return Tokenizer.from_str(json.dumps(data)), [], bos, eos


def subword_affixes():
    """A BPE whose pieces carry a continuing-subword prefix and an end-of-word suffix, with no
    decoder (tokens are then joined with spaces) and an unknown token."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\w+|[^\w\s]+"), behavior="isolated")
    trainer = trainers.BpeTrainer(
        vocab_size=600, min_frequency=1, special_tokens=["[UNK]"],
        continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    return tok, [], None, None


VARIANTS["unk-not-fused"] = unk_not_fused
VARIANTS["subword-affixes"] = subword_affixes


def string_merges(path):
    """Rewrites the merges in the older `"a b"` form that GPT-2's own file uses."""
    data = json.load(open(path, encoding="utf-8"))
    data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False, separators=(",", ":"))


def write_json(path, data):
    """Writes `data` with each element of a top-level list on a line of its own: small, and a
    re-run that changes one case changes one line."""
    with open(path, "w", encoding="utf-8") as file:
        if not isinstance(data, dict):
            json.dump(data, file, ensure_ascii=False)
        else:
            file.write("{\n")
            for index, (key, value) in enumerate(data.items()):
                file.write(json.dumps(key) + ": ")
                if isinstance(value, list) and value:
                    lines = [json.dumps(item, ensure_ascii=False) for item in value]
                    file.write("[\n  " + ",\n  ".join(lines) + "\n]")
                else:
                    file.write(json.dumps(value, ensure_ascii=False))
                file.write(",\n" if index < len(data) - 1 else "\n")
            file.write("}")
        file.write("\n")


def record(folder, name, make, full):
    """Saves a style's tokenizer and what tokenizers makes of the test strings. (Python's
    `decode` skips special tokens unless told not to: every call says which it wants.)"""
    tok, extra, bos, eos = make()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path, pretty=False)
    if name == "gpt2":
        string_merges(path)
    # Reload what was written, so the expectations come from the file itself.
    tok = Tokenizer.from_file(path)
    if full:
        write_json(os.path.join(folder, "tokenizer_config.json"), {"bos_token": bos, "eos_token": eos})
    cases = []
    for text in COMMON_STRINGS + extra:
        with_special = tok.encode(text, add_special_tokens=True)
        without = tok.encode(text, add_special_tokens=False)
        case = {
            "text": text,
            "ids": with_special.ids,
            "tokens": with_special.tokens,
            "idsWithoutSpecialTokens": without.ids,
            "decoded": tok.decode(with_special.ids, skip_special_tokens=False),
            "decodedSkippingSpecialTokens": tok.decode(with_special.ids, skip_special_tokens=True),
        }
        # Decoding every prefix of a non-ASCII text shows how characters cut between tokens
        # come out (U+FFFD), which streaming decoding relies on.
        if full and any(ord(c) > 127 for c in text):
            case["prefixDecodings"] = [
                tok.decode(without.ids[:k], skip_special_tokens=False)
                for k in range(1, len(without.ids) + 1)
            ]
        cases.append(case)
    expected = {"tokenizers": tokenizers.__version__, "style": name, "cases": cases}
    expected["decodings"] = decodings(tok, cases) if full else []
    write_json(os.path.join(folder, "expected.json"), expected)
    size = os.path.getsize(path)
    print(f"{name}: {tok.get_vocab_size()} tokens, {size} bytes, {len(cases)} cases")
    assert size < 200_000, f"{path} is {size} bytes"


def main():
    for name, make in STYLES.items():
        record(os.path.join(HERE, name), name, make, full=True)
    for name, make in VARIANTS.items():
        record(os.path.join(HERE, "variants", name), name, make, full=False)
    check_coverage()


def decodings(tok, cases):
    """Id sequences no encoding gives: every id in turn (byte tokens and special tokens among
    them), ids in reverse, and an id outside the vocabulary (skipped)."""
    size = tok.get_vocab_size(with_added_tokens=True)
    sequences = [
        list(range(size)),
        list(range(size - 1, -1, -1)),
        [size + 5, 0, size + 100],
        list(reversed(cases[20]["idsWithoutSpecialTokens"])),
    ]
    return [
        {
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decodedSkippingSpecialTokens": tok.decode(ids, skip_special_tokens=True),
        }
        for ids in sequences
    ]


def check_coverage():
    """Fails if a style's fixtures stop exercising the feature they are there for."""
    def tokens(name):
        data = json.load(open(os.path.join(HERE, name, "expected.json"), encoding="utf-8"))
        return [t for case in data["cases"] for t in case["tokens"]]

    assert any(t.startswith("<0x") for t in tokens("mistral")), "mistral: no byte fallback"
    assert any(t.startswith("<0x") for t in tokens("gemma2")), "gemma2: no byte fallback"
    assert "<unk>" in tokens("sentencepiece-unk"), "sentencepiece-unk: no <unk>"
    llama = Tokenizer.from_file(os.path.join(HERE, "llama3", "tokenizer.json"))
    data = json.loads(llama.to_str())
    data["model"]["ignore_merges"] = False
    merged = Tokenizer.from_str(json.dumps(data))
    texts = COMMON_STRINGS + llama3()[1]
    assert any(llama.encode(t).ids != merged.encode(t).ids for t in texts), \
        "llama3: ignore_merges changes nothing"
    # Every variant must tokenize differently from the others somewhere, except the older
    # spelling of Metaspace's options, which must mean what the newer one does.
    def variant_ids(name):
        path = os.path.join(HERE, "variants", name, "expected.json")
        return json.dumps([c["ids"] for c in json.load(open(path, encoding="utf-8"))["cases"]])

    assert variant_ids("metaspace-legacy-field") == variant_ids("metaspace-split")
    seen = {}
    for name in VARIANTS:
        if name == "metaspace-legacy-field":
            continue
        ids = variant_ids(name)
        assert ids not in seen, f"{name} tokenizes as {seen.get(ids)} does"
        seen[ids] = name


if __name__ == "__main__":
    sys.exit(main())
