#!/usr/bin/env python3
"""The PyTorch side of `make bench-model`: all-MiniLM-L6-v2 sentences per second with
transformers' BertModel, timed the way `attention embed --benchmark` times the Swift engine.

Both sides run the same pipeline on the same sentences: tokenise (the model's own tokenizer,
truncation to 256), sort by token count, run batches of --batch-size through the encoder in
float32, mean-pool over real tokens, L2-normalise. Each side embeds one batch to warm up, then
times one pass over every sentence. PyTorch uses its default thread count (one per core).

With --compare e.npy (the Swift embeddings of the same sentences) it also prints the smallest
cosine similarity between the two sides' embeddings.

Exits 0 with a note when torch or transformers is not installed (the Swift figures stand alone).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / ".model-cache" / "all-MiniLM-L6-v2")
    parser.add_argument("--input", type=Path, default=HERE / "bench_sentences.txt")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--compare", type=Path, help="Swift embeddings (.npy) to compare with")
    arguments = parser.parse_args()
    try:
        import numpy as np
        import torch
        from transformers import AutoTokenizer, BertModel
    except ImportError as error:
        print(f"reference: skipped, PyTorch reference unavailable ({error}); "
              "install it with: pip install torch==2.13.0 transformers")
        return

    sentences = arguments.input.read_text(encoding="utf-8").split("\n")
    if sentences and sentences[-1] == "":
        sentences.pop()
    tokenizer = AutoTokenizer.from_pretrained(str(arguments.model))
    model = BertModel.from_pretrained(str(arguments.model)).eval()

    def embed(texts):
        lengths = [len(tokenizer(t, truncation=True, max_length=256)["input_ids"]) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        result = torch.empty(len(texts), model.config.hidden_size)
        with torch.inference_mode():
            for start in range(0, len(order), arguments.batch_size):
                indices = order[start:start + arguments.batch_size]
                batch = tokenizer([texts[i] for i in indices], padding=True, truncation=True,
                                  max_length=256, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                result[indices] = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return result

    embed(sentences[:arguments.batch_size])
    start = time.perf_counter()
    embeddings = embed(sentences)
    seconds = time.perf_counter() - start
    print(f"pytorch {torch.__version__} ({torch.get_num_threads()} threads): {seconds:.3f} s, "
          f"{len(sentences) / seconds:.1f} sentences/s")
    if arguments.compare:
        swift = np.load(arguments.compare).astype(np.float64)
        reference = embeddings.double().numpy()
        if swift.shape != reference.shape:
            sys.exit(f"error: {arguments.compare} has shape {swift.shape}, "
                     f"expected {reference.shape}")
        cosines = (swift * reference).sum(1) / (
            np.linalg.norm(swift, axis=1) * np.linalg.norm(reference, axis=1))
        print(f"swift vs pytorch: min cosine {cosines.min():.9f} over {len(cosines)} sentences, "
              f"max abs difference {np.abs(swift - reference).max():.2e}")


if __name__ == "__main__":
    main()
