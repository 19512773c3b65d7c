#!/usr/bin/env python3
"""Plain Python/numpy implementations of SmolLab's curation algorithms, for speed comparison
(bench/curate/run.mjs) and a cross-check of MinHash band keys. Not used by SmolLab or its tests.

Same algorithms as src/curate/: words are runs of letters/digits, lower-cased; word hashes are
32-bit (crc32 for speed; FNV-1a over UTF-16 units with --fnv, the exact SmolLab hash); 5-word
shingles by a polynomial rolling hash + murmur3 finaliser; 112 hash functions (xor, odd multiply,
xorshift) as numpy uint32 vector ops, minimum per row; band keys folded with the finaliser;
buckets in a dict, clusters by union-find. Filters: the Gopher quality/repetition, C4 and
FineWeb rules with the same defaults, in pure Python (as datatrove does). Classifier scoring:
hashed unigram+bigram features and a dot product with numpy.

Usage: reference.py TASK FILE.jsonl [--repeat N] [--fnv]   TASK: minhash | dedup | filters | classify | keys
Prints one JSON line: {"task", "docs", "bytes", "cpu_s", "wall_s", ...}.
"""
import json
import re
import sys
import time
import zlib

import numpy as np

M32 = 0xFFFFFFFF
WORD = re.compile(r"[^\W_]+")


def fmix32(h):
    h = np.asarray(h, dtype=np.uint32)
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    return h


def fnv_word(w):
    h = 0x811C9DC5
    b = w.encode("utf-16-le")
    for i in range(0, len(b), 2):
        h = ((h ^ (b[i] | (b[i + 1] << 8))) * 0x01000193) & M32
    return h


def word_hashes(text, fnv=False):
    words = WORD.findall(text.lower())
    if fnv:
        return np.array([fnv_word(w) for w in words], dtype=np.uint32)
    return np.array([zlib.crc32(w.encode()) for w in words], dtype=np.uint32)


BASE1 = 0x01000193


def shingles(w, n=5):
    if len(w) == 0:
        return w
    m = min(n, len(w))
    count = len(w) - m + 1
    h = np.zeros(count, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for k in range(m):
            h = h * np.uint32(BASE1) + w[k : k + count]
    return fmix32(h)


class Family:
    """The bands*rows hash functions, drawn from SmolLab's seeded generator (xoshiro128**)."""

    def __init__(self, xor, mul, bands, rows):
        self.xor = np.asarray(xor, dtype=np.uint32)
        self.mul = np.asarray(mul, dtype=np.uint32)
        self.bands, self.rows = bands, rows


def signature(x, fam):
    with np.errstate(over="ignore"):
        v = (x[:, None] ^ fam.xor[None, :]) * fam.mul[None, :]
        v = v ^ (v >> np.uint32(15))
    return v.view(np.int32).min(axis=0)


def band_keys(sig, fam):
    """Fold each band's rows into two 32-bit keys, all bands at once (vectorised over bands)."""
    b = np.arange(fam.bands, dtype=np.uint32)
    rows = sig.view(np.uint32).reshape(fam.bands, fam.rows)
    with np.errstate(over="ignore"):
        h1 = np.uint32(0x9747B28C) ^ b
        h2 = np.uint32(0x5BD1E995) ^ (b * np.uint32(0x27D4EB2D))
        for r in range(fam.rows):
            v = rows[:, r]
            h1 = fmix32((h1 ^ v) + np.uint32(0x7F4A7C15))
            h2 = fmix32((h2 ^ v) * np.uint32(0x165667B1) + np.uint32(0x3C6EF372))
    return [(int(x), int(y)) for x, y in zip(h1, h2)]


def read_docs(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def task_minhash(docs, fam, fnv):
    n = 0
    for t in docs:
        x = shingles(word_hashes(t, fnv))
        if len(x):
            band_keys(signature(x, fam), fam)
            n += 1
    return {"hashed": n}


def task_dedup(docs, fam, fnv):
    buckets = [dict() for _ in range(fam.bands)]
    parent = list(range(len(docs)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, t in enumerate(docs):
        x = shingles(word_hashes(t, fnv))
        if not len(x):
            continue
        for b, k in enumerate(band_keys(signature(x, fam), fam)):
            j = buckets[b].setdefault(k, i)
            if j != i:
                ra, rb = find(i), find(j)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    removed = sum(1 for i in range(len(docs)) if find(i) != i)
    return {"removed": removed}


# ---- heuristic filters (same rules and defaults as src/curate/steps/heuristics.ts) ----

TERMINAL = (".", "!", "?", '"', "'", "\u201d", "\u2019", "\u2026", "\u3002", "\uff01", "\uff1f")
STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
PUNCT_ONLY = re.compile(r"^[^\w\s]+$")
ALPHA = re.compile(r"[^\W\d_]")
CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.I)


def gopher_quality(text):
    allw = text.split()
    ws = [w for w in allw if not PUNCT_ONLY.match(w)]
    n = len(ws)
    if n < 50 or n > 100000:
        return "words"
    avg = sum(len(w) for w in ws) / n
    if avg < 3 or avg > 10:
        return "avg"
    if (text.count("#") + text.count("...") + text.count("\u2026")) / n > 0.1:
        return "symbols"
    lines = text.split("\n")
    if sum(1 for l in lines if re.match(r"^\s*[\u2022\u2023\u2043\u25e6\u2219\-*]", l)) / len(lines) > 0.9:
        return "bullets"
    if sum(1 for l in lines if re.search(r"(\.\.\.|\u2026)\s*$", l)) / len(lines) > 0.3:
        return "ellipsis"
    if sum(1 for w in allw if ALPHA.search(w)) / max(1, len(allw)) < 0.8:
        return "alpha"
    if sum(1 for w in allw if w.lower() in STOP) < 2:
        return "stop"
    return None


def find_dup(items):
    seen, c, ch = set(), 0, 0
    for x in items:
        if x in seen:
            c += 1
            ch += len(x)
        else:
            seen.add(x)
    return c, ch


def gopher_repetition(text):
    L = max(1, len(text))
    paras = re.split(r"\n{2,}", text.strip())
    d, c = find_dup(paras)
    if d / len(paras) > 0.3 or c / L > 0.2:
        return "para"
    lines = re.split(r"\n+", text)
    d, c = find_dup(lines)
    if d / len(lines) > 0.3 or c / L > 0.2:
        return "line"
    ws = text.split()
    for n, thr in ((2, 0.2), (3, 0.18), (4, 0.16)):
        counts = {}
        for i in range(len(ws) - n + 1):
            g = " ".join(ws[i : i + n])
            counts[g] = counts.get(g, 0) + 1
        if counts:
            g, c = max(counts.items(), key=lambda kv: kv[1])
            if c > 1 and len(g) * c / L > thr:
                return "top"
    for n, thr in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.1)):
        seen, ch, i = set(), 0, 0
        while i + n <= len(ws):
            g = " ".join(ws[i : i + n])
            if g in seen:
                ch += len(g)
                i += n
            else:
                seen.add(g)
                i += 1
        if ch / L > thr:
            return "dup"
    return None


def c4(text):
    low = text.lower()
    if "lorem ipsum" in low or "{" in text:
        return "doc"
    kept, sentences = [], 0
    for line in text.split("\n"):
        line = CITATION.sub("", line.strip())
        if not line:
            continue
        ws = line.split()
        if any(len(w) > 1000 for w in ws) or not line.endswith(TERMINAL) or line.endswith("...") or len(ws) < 3:
            continue
        ll = line.lower()
        if "javascript" in ll or any(p in ll for p in ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")):
            continue
        sentences += len([s for s in re.split(r"[.!?]+(?:\s|$)", line) if s.strip()])
        kept.append(line)
    if not kept or sentences < 5:
        return "few"
    return None


def fineweb(text):
    lines = [l for l in text.split("\n") if l.strip()]
    if not lines:
        return "empty"
    if sum(1 for l in lines if l.endswith(TERMINAL)) / len(lines) < 0.12:
        return "punct"
    if sum(1 for l in lines if len(l) <= 30) / len(lines) > 0.67:
        return "short"
    if find_dup(lines)[1] / max(1, len(text)) > 0.01:
        return "dup"
    nw = len(text.split())
    if nw and text.count("\n") / nw > 0.3:
        return "list"
    return None


def task_filters(docs, fam, fnv):
    removed = 0
    for t in docs:
        if gopher_quality(t) or gopher_repetition(t) or c4(t) or fineweb(t):
            removed += 1
    return {"removed": removed}


def task_classify(docs, fam, fnv, bits=18):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal(1 << bits).astype(np.float32)
    mask = (1 << bits) - 1
    total = 0.0
    with np.errstate(over="ignore"):
        for t in docs:
            w = word_hashes(t, fnv)
            uni = fmix32(w)
            bi = fmix32(fmix32(w[:-1] * np.uint32(0x01000193) ^ w[1:]) ^ np.uint32(0x9E3779B9))
            h = np.concatenate([uni, bi])
            idx = h & np.uint32(mask)
            sign = np.where(h & np.uint32(0x80000000), -1.0, 1.0)
            u, inv = np.unique(idx, return_inverse=True)
            cnt = np.zeros(len(u))
            np.add.at(cnt, inv, sign)
            v = np.sign(cnt) * np.log1p(np.abs(cnt))
            v /= np.linalg.norm(v) or 1.0
            total += float(weight[u] @ v)
    return {"checksum": total}


def main():
    task, path = sys.argv[1], sys.argv[2]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    fnv = "--fnv" in sys.argv
    fam_file = sys.argv[sys.argv.index("--family") + 1] if "--family" in sys.argv else None
    docs = read_docs(path)
    if fam_file:
        f = json.load(open(fam_file))
        fam = Family(f["xor"], f["mul"], f["bands"], f["rows"])
    else:
        r = np.random.default_rng(1)
        fam = Family(r.integers(0, 2**32, 112, dtype=np.uint64), r.integers(0, 2**32, 112, dtype=np.uint64) | 1, 14, 8)
    if task == "keys":
        out = []
        for t in docs:
            x = shingles(word_hashes(t, True))
            out.append(band_keys(signature(x, fam), fam) if len(x) else None)
        print(json.dumps({"task": "keys", "keys": out}))
        return
    fn = {"minhash": task_minhash, "dedup": task_dedup, "filters": task_filters, "classify": task_classify}[task]
    best = None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        res = fn(docs, fam, fnv)
        c, w = time.process_time() - c0, time.perf_counter() - w0
        if best is None or c < best[0]:
            best = (c, w, res)
    nbytes = sum(len(t.encode()) for t in docs)
    print(json.dumps({"task": task, "docs": len(docs), "bytes": nbytes, "cpu_s": best[0], "wall_s": best[1], **best[2]}))


if __name__ == "__main__":
    main()
