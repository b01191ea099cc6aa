#!/usr/bin/env python3
"""Writes bench_mixed_lengths.txt: 1,000 synthetic texts of mixed lengths for `make bench-model`.

The mix sentence-embedding inputs come in — mostly short, a tail of long ones: about 55 % are
titles, queries and short sentences (2–12 words), 25 % one to three sentences (13–40 words),
13 % paragraphs (41–110 words) and 7 % long passages (111–230 words, which reach or pass the
256-word-piece limit all-MiniLM-L6-v2 truncates to). Words come from a fixed vocabulary (common
English plus some rarer words that split into several word pieces, numbers and punctuation),
drawn with Python's seeded `random.Random`, so the file is the same on every machine; nothing is
downloaded.

With --check MODEL_DIR and the `tokenizers` package it prints the word-piece count distribution.
"""

import argparse
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

COMMON = """the a an of to and in is was for on that with as by at from it this be are or
have has had not but which one all were they we when there can their more been if will would
about some other into time only could new these two may first then do any like my now over such
our man me even most made after also did many before must through back years where much your
way well down should because each just those people how too little state good very make world
still own see men work long get here between both life being under never day same another know
while last might us great old year off come since against go came right used take three small
house large number water city report river morning evening garden bridge market station school
village window road letter table paper music light night street country family question answer
study doctor teacher student train winter summer autumn spring weather rain wind sun hill field
forest island harbour ship boat engine machine system result data model method paper figure
table test value price cost order plan team game player season match goal street kitchen coffee
bread apple orange dinner lunch breakfast friend mother father sister brother child children
quickly slowly quietly carefully suddenly almost always often never sometimes perhaps really
open close read write speak listen walk run build find keep begin carry follow hold bring leave
red blue green yellow white black bright dark warm cold early late young old small large quiet
""".split()

RARE = """photosynthesis thermodynamics archipelago chrysanthemum kaleidoscope bureaucracy
cartographer metamorphosis anthropology quintessential serendipity idiosyncratic juxtaposition
onomatopoeia perpendicular hydroelectric macroeconomic neurotransmitter electromagnetism
counterintuitive biodiversity cryptocurrency decentralisation interoperability
photolithography spectrophotometer paleontologist xylophonist zeitgeist labyrinthine
""".split()

PUNCTUATION = [",", ",", ".", ";", ":", "!", "?", " -"]

BANDS = [  # (share, fewest words, most words)
    (0.55, 2, 12),
    (0.25, 13, 40),
    (0.13, 41, 110),
    (0.07, 111, 230),
]


def word(rng):
    draw = rng.random()
    if draw < 0.06:
        return rng.choice(RARE)
    if draw < 0.09:
        return str(rng.randint(1, 99999))
    return rng.choice(COMMON)


def text(rng, words):
    parts = []
    capital = True
    for index in range(words):
        piece = word(rng)
        if capital:
            piece = piece[:1].upper() + piece[1:]
            capital = False
        parts.append(piece)
        if index < words - 1 and rng.random() < 0.08:
            mark = rng.choice(PUNCTUATION)
            parts[-1] += mark
            capital = mark in (".", "!", "?")
    return " ".join(parts) + rng.choice([".", ".", ".", "?", "!"])


def texts(count=1000, seed=8):
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        draw, total = rng.random(), 0.0
        for share, low, high in BANDS:
            total += share
            if draw < total:
                break
        result.append(text(rng, rng.randint(low, high)))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "bench_mixed_lengths.txt")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--check", type=Path, help="model folder with tokenizer.json")
    arguments = parser.parse_args()
    lines = texts(arguments.count)
    arguments.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} texts to {arguments.output}")
    if arguments.check:
        from tokenizers import Tokenizer
        tokenizer = Tokenizer.from_file(str(arguments.check / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        counts = sorted(len(tokenizer.encode(line).ids) for line in lines)
        buckets = [(0, 16), (17, 32), (33, 64), (65, 128), (129, 256), (257, 10**9)]
        for low, high in buckets:
            share = sum(low <= c <= high for c in counts) / len(counts)
            print(f"word pieces {low}-{high if high < 10**9 else 'more'}: {100 * share:.1f} %")
        print(f"median {counts[len(counts) // 2]}, max {counts[-1]}, total {sum(counts)}")


if __name__ == "__main__":
    main()
