#!/usr/bin/env python3
"""`make bench-generate`: `attention generate` against transformers' `generate` on a
SmolLM2-135M-shaped Llama with random weights, in the same run.

The model (made once, with torch and transformers, into --model-dir): LlamaForCausalLM with
hidden 576, 30 layers, 9 attention heads / 3 key-value heads (head dimension 64), intermediate
1536, vocabulary 49,152, tied embeddings, rope_theta 100000, rms_norm_eps 1e-5,
max_position_embeddings 2048; float32 weights from torch.manual_seed(SEED) and transformers'
default init (std 0.02), saved with save_pretrained(safe_serialization=True); the tokenizer.json
of Tests/Fixtures/TextGeneration/llama3 (its 703 ids are a subset of the 49,152 rows). The folder
also holds bench_prompt_ids.json: the fixture corpus tokenized (repeated), the prompts' source.

Both sides decode the same prompt ids (the first --prompt-tokens of bench_prompt_ids.json),
greedily, --new-tokens tokens with EOS ignored:

- library: the `attention generate --prompt-ids … --ignore-eos --timings-output` process, once
  per round. Load = tokenizer and weights; prefill = the prompt in one pass up to the first
  token chosen; each later token's time = one decode step through the cache (stdout discarded).
- transformers: the model loaded once (float32, --attention eager or sdpa), torch threads
  --threads. Prefill = one forward over the prompt with use_cache=True and logits_to_keep=1
  (what `generate` does for its first step); decode = `generate(max_new_tokens=T,
  min_new_tokens=T, do_sample=False)` with a streamer timing each token as it is put (the first
  token comes from generate's own prefill, so the per-token figures are T − 1 decode steps).

The sides alternate for --rounds rounds after one warm-up of each. Each figure is the median
over rounds (min–max beside it); the decode figure of a round is the median of its steps.

Weight-streaming bound: a decode step reads every weight once (the tied embedding as the output
projection; the embedding lookup reads one row), so it cannot take less than weight bytes ÷
memory read bandwidth. The bandwidth: torch's sum over 256 MiB of initialised float32 with
--threads threads, the fastest of 9 runs, measured before and after the rounds, the larger kept
(the method of NOTES' "25–31 GiB/s"); the key/value cache (< 10 MB at these lengths) is left out.

Without torch/transformers: with the model folder present, the library's figures alone (and no
bound: numpy's single-threaded sum would understate the bandwidth); without it, a message and
exit 0. Writes Markdown (--markdown) and JSON (--output).
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
SEED = 135
TOKENIZER_STYLE = "llama3"
PROMPT_POOL = 1024

CONFIG = dict(
    hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
    intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True, rope_theta=100000.0,
    rms_norm_eps=1e-5, max_position_embeddings=2048, bos_token_id=0, eos_token_id=0,
    hidden_act="silu",
)


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def cpu_name():
    """lscpu's model name with family and model (e.g. `AMD EPYC (family 25, model 1)`)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    name = fields.get("Model name", "?").strip()
    family, model = fields.get("CPU family", "?").strip(), fields.get("Model", "?").strip()
    return f"{name} (family {family}, model {model})"


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def make_model(folder):
    """Creates the random SmolLM2-135M-shaped Llama in `folder` (needs torch, transformers,
    tokenizers)."""
    import torch
    from tokenizers import Tokenizer
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    torch.manual_seed(SEED)
    config = LlamaConfig(**CONFIG)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=0, eos_token_id=0, do_sample=False)
    model.to(torch.float32).save_pretrained(partial, safe_serialization=True)
    source = HERE / TOKENIZER_STYLE / "tokenizer.json"
    shutil.copy(source, partial / "tokenizer.json")
    tokenizer = Tokenizer.from_file(str(source))
    assert tokenizer.get_vocab_size(with_added_tokens=True) <= CONFIG["vocab_size"]
    corpus = (HERE / "corpus.txt").read_text(encoding="utf-8")
    ids = []
    while len(ids) < PROMPT_POOL:
        ids += tokenizer.encode(corpus, add_special_tokens=False).ids
    (partial / "bench_prompt_ids.json").write_text(json.dumps(ids[:PROMPT_POOL]) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"model: made {folder} ({size / 1e6:.0f} MB, seed {SEED}, tokenizer {source})")


def weight_bytes(folder):
    """The bytes of the tensors in model.safetensors (from its header)."""
    with open(folder / "model.safetensors", "rb") as file:
        length = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(length))
    return sum(entry["data_offsets"][1] - entry["data_offsets"][0]
               for name, entry in header.items() if name != "__metadata__")


def read_bandwidth(torch, threads):
    """Bytes per second torch's sum reads over 256 MiB of initialised float32, at the fastest
    of 9 runs (the least the memory can do is what bounds a decode step from below)."""
    torch.set_num_threads(threads)
    data = torch.arange(64 << 20, dtype=torch.float32).remainder_(1024)
    data.sum()
    times = []
    for _ in range(9):
        start = time.perf_counter()
        data.sum()
        times.append(time.perf_counter() - start)
    return data.numel() * 4 / min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path,
                        default=ROOT / ".model-cache" / "bench-smollm2-random")
    parser.add_argument("--swift-binary", type=Path, required=True,
                        help="the built `attention` executable")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa",
                        help="transformers' attention implementation")
    parser.add_argument("--output", type=Path, help="write the figures here as JSON")
    parser.add_argument("--markdown", type=Path, help="write the table here as Markdown")
    arguments = parser.parse_args()
    if arguments.new_tokens < 2:
        sys.exit("error: --new-tokens must be at least 2 (one prefill token, then decode steps)")

    try:
        import torch
        import transformers
        from transformers import LlamaForCausalLM
        missing = None
    except ImportError as error:
        missing = str(error)

    folder = arguments.model_dir
    if not (folder / "model.safetensors").exists():
        if missing is not None:
            print(f"bench-generate: skipped: the model {folder} is not there and making it needs "
                  f"torch and transformers ({missing}); pip install torch transformers "
                  "tokenizers, or set ATTENTION_PEERS_PYTHON")
            return
        make_model(folder)
    else:
        print(f"model: {folder} present")

    pool = json.loads((folder / "bench_prompt_ids.json").read_text())
    if arguments.prompt_tokens > len(pool):
        sys.exit(f"error: --prompt-tokens {arguments.prompt_tokens} exceeds the "
                 f"{len(pool)} ids of {folder / 'bench_prompt_ids.json'}")
    prompt = pool[:arguments.prompt_tokens]
    T = arguments.new_tokens
    cpu, load_before = cpu_name(), load_average()
    print(f"CPU: {cpu}; load average {load_before}; prompt {len(prompt)} tokens, "
          f"{T} new tokens, {arguments.rounds} rounds")

    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    command = [str(arguments.swift_binary), "generate", "--model", str(folder),
               "--prompt-ids", ",".join(map(str, prompt)), "--max-new-tokens", str(T),
               "--ignore-eos", "--token-ids-output", str(work / "ids.json"),
               "--timings-output", str(work / "timings.json")]
    print("library: " + " ".join(command[:4]) + f" --prompt-ids <{len(prompt)} ids> "
          + " ".join(command[6:]))

    def run_library():
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        process = time.perf_counter() - start
        timings = json.loads((work / "timings.json").read_text())
        ids = json.loads((work / "ids.json").read_text())
        assert ids["prompt"] == prompt, "the library decoded a different prompt"
        return process, timings, ids["generated"]

    peer = None
    if missing is None:
        torch.set_num_threads(arguments.threads)
        start = time.perf_counter()
        model = LlamaForCausalLM.from_pretrained(
            folder, dtype=torch.float32, attn_implementation=arguments.attention).eval()
        peer_load = time.perf_counter() - start
        input_ids = torch.tensor([prompt])

        class Stamps:
            """A `generate` streamer noting when each token is put (the prompt first)."""

            def __init__(self):
                self.times = []

            def put(self, value):
                self.times.append(time.perf_counter())

            def end(self):
                pass

        def run_peer():
            with torch.inference_mode():
                start = time.perf_counter()
                model(input_ids, use_cache=True, logits_to_keep=1)
                prefill = time.perf_counter() - start
                stamps = Stamps()
                start = time.perf_counter()
                output = model.generate(
                    input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=T,
                    min_new_tokens=T, do_sample=False, streamer=stamps, pad_token_id=0)
                total = time.perf_counter() - start
            steps = [b - a for a, b in zip(stamps.times[1:], stamps.times[2:])]
            return prefill, steps, total, output[0, len(prompt):].tolist()

        peer = run_peer
    else:
        print(f"transformers: not installed ({missing}); timing the library alone "
              "(pip install torch transformers, or set ATTENTION_PEERS_PYTHON)")

    run_library()  # warm-up: the page cache for the binary and the weights
    bandwidths = []
    if peer:
        peer()
        bandwidths.append(read_bandwidth(torch, arguments.threads))
    library_rounds, peer_rounds = [], []
    for round_index in range(max(1, arguments.rounds)):
        library_rounds.append(run_library())
        if peer:
            peer_rounds.append(peer())
        print(f"round {round_index + 1}: library decode "
              f"{statistics.median(library_rounds[-1][1]['decode_ms']):.2f} ms/token"
              + (f", transformers {1e3 * statistics.median(peer_rounds[-1][1]):.2f} ms/token"
                 if peer else ""))

    library = {
        "load_ms": summary([r[1]["load_ms"] for r in library_rounds]),
        "process_s": summary([r[0] for r in library_rounds]),
        "prefill_ms": summary([r[1]["prefill_ms"] for r in library_rounds]),
        "decode_ms_per_token": summary(
            [statistics.median(r[1]["decode_ms"]) for r in library_rounds]),
        "decode_steps": len(library_rounds[0][1]["decode_ms"]),
        "openblas_core": library_rounds[0][1]["openblas_core"],
        "openblas_threads": library_rounds[0][1]["openblas_threads"],
        "generated": library_rounds[-1][2],
    }
    figures = {
        "cpu": cpu, "load_average_before": load_before, "prompt_tokens": len(prompt),
        "new_tokens": T, "rounds": len(library_rounds), "threads": arguments.threads,
        "model": dict(CONFIG, dtype="float32", seed=SEED), "library": library,
    }
    bound = None
    if peer:
        generated = peer_rounds[-1][3]
        agree = next((i for i, (a, b) in enumerate(zip(library["generated"], generated))
                      if a != b), min(len(generated), len(library["generated"])))
        bandwidths.append(read_bandwidth(torch, arguments.threads))
        bandwidth = max(bandwidths)
        weights = weight_bytes(folder)
        bound = {"weight_bytes": weights, "read_bandwidth_bytes_per_s": bandwidth,
                 "read_bandwidths_before_after": bandwidths,
                 "method": f"torch.sum over 256 MiB float32, {arguments.threads} threads, "
                 "fastest of 9, before and after the rounds",
                 "min_ms_per_token": weights / bandwidth * 1e3}
        figures["transformers"] = {
            "transformers": transformers.__version__, "torch": torch.__version__,
            "attention": arguments.attention, "load_s": peer_load,
            "prefill_ms": summary([1e3 * r[0] for r in peer_rounds]),
            "decode_ms_per_token": summary([1e3 * statistics.median(r[1]) for r in peer_rounds]),
            "generate_s": summary([r[2] for r in peer_rounds]),
            "generated": generated,
            "leading_ids_agreeing": agree,
            "ids_agreeing": sum(a == b for a, b in zip(library["generated"], generated)),
        }
        figures["bound"] = bound
    figures["load_average_after"] = load_average()

    table = report(figures)
    print()
    print(table)
    if arguments.markdown:
        arguments.markdown.parent.mkdir(parents=True, exist_ok=True)
        arguments.markdown.write_text(table + "\n")
    if arguments.output:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(json.dumps(figures, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def report(figures):
    """The Markdown table and the notes under it."""
    P, T = figures["prompt_tokens"], figures["new_tokens"]
    library, peer, bound = figures["library"], figures.get("transformers"), figures.get("bound")

    def span(entry, digits=1):
        return f"{entry['median']:.{digits}f} ({entry['min']:.{digits}f}–{entry['max']:.{digits}f})"

    def rate(count, entry):
        return f"{count / entry['median'] * 1e3:.1f}"

    lines = [
        f"### Text generation: SmolLM2-135M-shaped Llama, random float32 weights, "
        f"prompt {P} tokens, {T} new tokens (greedy)",
        "",
        "| | library | transformers | transformers ÷ library (time) | goal |",
        "|---|---|---|---|---|",
    ]
    prefill, decode = library["prefill_ms"], library["decode_ms_per_token"]
    if peer:
        ratio_prefill = peer["prefill_ms"]["median"] / prefill["median"]
        ratio_decode = peer["decode_ms_per_token"]["median"] / decode["median"]
        lines += [
            f"| prefill, ms | {span(prefill)} | {span(peer['prefill_ms'])} | "
            f"{ratio_prefill:.2f}× | ≥ 1.2× |",
            f"| prefill, tokens/s | {rate(P, prefill)} | {rate(P, peer['prefill_ms'])} | | |",
            f"| decode, ms/token | {span(decode, 2)} | {span(peer['decode_ms_per_token'], 2)} | "
            f"{ratio_decode:.2f}× | ≥ 2.5× |",
            f"| decode, tokens/s | {rate(1, decode)} | {rate(1, peer['decode_ms_per_token'])} "
            f"| | |",
        ]
    else:
        lines += [
            f"| prefill, ms | {span(prefill)} | – | – | ≥ 1.2× |",
            f"| prefill, tokens/s | {rate(P, prefill)} | – | | |",
            f"| decode, ms/token | {span(decode, 2)} | – | – | ≥ 2.5× |",
            f"| decode, tokens/s | {rate(1, decode)} | – | | |",
        ]
    if bound:
        share = bound["min_ms_per_token"] / decode["median"] * 100
        lines.append(
            f"| weight-streaming bound, ms/token | {bound['min_ms_per_token']:.2f} "
            f"(library at {share:.0f} % of it) | | | |")
    lines += [
        "",
        f"- CPU: {figures['cpu']}; load average {figures['load_average_before']} before, "
        f"{figures['load_average_after']} after; {figures['rounds']} alternating rounds, "
        "medians (min–max).",
        f"- library: `attention generate --timings-output`, OpenBLAS core "
        f"{library['openblas_core']}, {library['openblas_threads']} threads; load "
        f"{library['load_ms']['median']:.0f} ms, whole process {span(library['process_s'], 2)} s; "
        f"decode = median of the {library['decode_steps']} steps after the first token.",
    ]
    if peer:
        lines += [
            f"- transformers {peer['transformers']} (torch {peer['torch']}, "
            f"{figures['threads']} threads, attn_implementation=\"{peer['attention']}\"): prefill "
            "= one forward with logits_to_keep=1; decode = median step of `generate` "
            f"(min_new_tokens={T}, greedy), timed by a streamer; whole generate "
            f"{span(peer['generate_s'], 2)} s.",
            f"- greedy ids: {peer['ids_agreeing']} of {T} agree "
            f"(the first {peer['leading_ids_agreeing']} in a row); random weights can tie.",
            f"- weight-streaming bound: {bound['weight_bytes'] / 1e6:.0f} MB of weights read "
            f"once per token ÷ {bound['read_bandwidth_bytes_per_s'] / 2**30:.1f} GiB/s read "
            f"bandwidth ({bound['method']}) = {bound['min_ms_per_token']:.2f} ms/token, "
            f"{1e3 / bound['min_ms_per_token']:.0f} tokens/s at most.",
        ]
    else:
        lines.append("- transformers: not installed; the library's figures alone, no bound.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
