#!/usr/bin/env python3
"""The comparison half of `make bench-model`: the whole `attention embed` process against
sentence-transformers' `encode`, on the same texts, in the same run.

Swift side: the wall time of the complete process `attention embed --model M --input F
--batch-size B --output e.npy` — start-up, model loading, tokenising, encoder, pooling, writing
the file — as a user running the command pays it.

Python side: `SentenceTransformer(M, device="cpu").encode(texts, batch_size=B,
normalize_embeddings=True)` with torch.set_num_threads(--threads), after loading the model and
one warm-up batch: the encode call alone (a long-lived Python service's cost), so the ratio is
conservative for the Swift side. The model loading time is printed beside it.

The two sides alternate for --rounds rounds; each side's figure is its median. Throughput is
texts per second; the ratio is Swift's throughput over sentence-transformers'. Accuracy: the
cosine similarity between the two sides' embeddings of each text, and the smallest of them.

Exits 0 with a note when sentence-transformers (or numpy) is not installed: the Swift figures
stand alone then. With --output, writes the figures as JSON.
"""

import argparse
import json
import os
import platform
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


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / ".model-cache" / "all-MiniLM-L6-v2")
    parser.add_argument("--input", type=Path, default=HERE / "bench_mixed_lengths.txt")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--swift-binary", type=Path, required=True,
                        help="the built `attention` executable")
    parser.add_argument("--output", type=Path, help="write the figures here as JSON")
    arguments = parser.parse_args()

    texts = arguments.input.read_text(encoding="utf-8").split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    print(f"texts: {len(texts)} from {arguments.input}; batch size {arguments.batch_size}; "
          f"load average {load_average()}")

    try:
        import numpy as np
        import torch
        from sentence_transformers import SentenceTransformer
        import sentence_transformers
        missing = None
    except ImportError as error:
        missing = str(error)

    work = Path(tempfile.mkdtemp(prefix="bench-model-"))
    swift_output = work / "swift.npy"
    command = [str(arguments.swift_binary), "embed", "--model", str(arguments.model),
               "--input", str(arguments.input), "--batch-size", str(arguments.batch_size),
               "--output", str(swift_output)]
    print("swift: " + " ".join(command))

    def run_swift():
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    run_swift()  # warm the page cache for the binary and the model file
    model = None
    if missing is None:
        torch.set_num_threads(arguments.threads)
        start = time.perf_counter()
        model = SentenceTransformer(str(arguments.model), device="cpu")
        load_seconds = time.perf_counter() - start

        def run_python():
            start = time.perf_counter()
            result = model.encode(texts, batch_size=arguments.batch_size,
                                  normalize_embeddings=True, convert_to_numpy=True)
            return time.perf_counter() - start, result

        model.encode(texts[:arguments.batch_size], batch_size=arguments.batch_size)
    else:
        print(f"sentence-transformers: not installed ({missing}); timing the Swift process alone "
              "(pip install sentence-transformers, or set ATTENTION_PEERS_PYTHON)")

    swift_times, python_times, python_embeddings = [], [], None
    for _ in range(max(1, arguments.rounds)):
        swift_times.append(run_swift())
        if model is not None:
            seconds, python_embeddings = run_python()
            python_times.append(seconds)

    swift_seconds = statistics.median(swift_times)
    figures = {
        "texts": len(texts), "batch_size": arguments.batch_size, "threads": arguments.threads,
        "load_average": load_average(), "machine": platform.processor() or platform.machine(),
        "swift_process_seconds": swift_times,
        "swift_texts_per_second": len(texts) / swift_seconds,
    }
    print(f"swift `attention embed` process (model loading included): median "
          f"{swift_seconds:.3f} s ({min(swift_times):.3f}–{max(swift_times):.3f}), "
          f"{len(texts) / swift_seconds:.1f} texts/s")
    if model is not None:
        python_seconds = statistics.median(python_times)
        ratio = python_seconds / swift_seconds
        swift = np.load(swift_output).astype(np.float64)
        reference = python_embeddings.astype(np.float64)
        if swift.shape != reference.shape:
            sys.exit(f"error: the Swift embeddings have shape {swift.shape}, "
                     f"sentence-transformers' {reference.shape}")
        cosines = (swift * reference).sum(1) / (
            np.linalg.norm(swift, axis=1) * np.linalg.norm(reference, axis=1))
        worst = int(cosines.argmin())
        print(f"sentence-transformers {sentence_transformers.__version__} encode "
              f"(torch {torch.__version__}, {torch.get_num_threads()} threads, model loaded "
              f"beforehand in {load_seconds:.2f} s): median {python_seconds:.3f} s "
              f"({min(python_times):.3f}–{max(python_times):.3f}), "
              f"{len(texts) / python_seconds:.1f} texts/s")
        print(f"throughput ratio swift / sentence-transformers: {ratio:.2f}x "
              f"(goal: at least 1.5x)")
        print(f"cosine per text: min {cosines.min():.9f} (text {worst}, 1 - cosine "
              f"{1 - cosines.min():.1e}), {int((cosines < 0.99999).sum())} of {len(cosines)} "
              f"below 0.99999; max abs difference {np.abs(swift - reference).max():.1e}")
        figures.update({
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
            "python_encode_seconds": python_times,
            "python_model_load_seconds": load_seconds,
            "python_texts_per_second": len(texts) / python_seconds,
            "throughput_ratio": ratio,
            "min_cosine": float(cosines.min()),
            "max_abs_difference": float(np.abs(swift - reference).max()),
            "texts_below_0_99999": int((cosines < 0.99999).sum()),
        })
    else:
        figures["sentence_transformers"] = None
        figures["missing"] = missing
    if arguments.output:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {arguments.output}")
    swift_output.unlink(missing_ok=True)
    work.rmdir()


if __name__ == "__main__":
    main()
