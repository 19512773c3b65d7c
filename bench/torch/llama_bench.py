#!/usr/bin/env python3
"""PyTorch reference for `smol bench train|eval|generate`: the same Llama architecture, optimizer and
measurement in plain PyTorch (CPU), printing the same JSON fields, so bench/compare.mjs can put
both side by side. Benchmark-only: needs PyTorch (2.x preferred; Debian's python3-torch 1.13 works),
never used by tests or users.

Variants (issue 21): --precision fp32 (eager) | bf16 (the forward and loss under
torch.autocast("cpu", dtype=torch.bfloat16): bf16 matmuls with fp32 weights, as SmolLab's
--precision bf16), and --compile (torch.compile of the model, train and eval only; a compile
failure is reported as {"error": ...} with exit status 3, so bench/compare.mjs can say so).

Architecture (docs/references.md §1): pre-norm Llama, RMSNorm in fp32 (eps 1e-5), rotate-half RoPE
(theta 10000), grouped-query attention by repeating KV heads, SwiGLU MLP, tied embeddings, no biases.
Attention uses F.scaled_dot_product_attention(is_causal=True) when the installed torch has it
(>= 2.0), else the usual masked-softmax attention (Debian bookworm ships torch 1.13).
Optimizer as SmolLab's ADAMW_DEFAULTS: AdamW betas (0.9, 0.95), eps 1e-8, weight decay 0.01 on
matrices (not on norm weights), global-norm clipping at 1.0.
FLOPs: matmul + attention FLOPs per token, embedding gather excluded, train = 3 x forward — the same
formula as src/bench/model.ts computeFlopsPerToken (bench/compare.mjs cross-checks the numbers).

Usage: python3 bench/torch/llama_bench.py train|eval|generate --model PRESET|SHAPE
         [--seq 256] [--batch 16] [--steps N] [--warmup 2] [--threads N] [--peak 228] [--json]
       python3 bench/torch/llama_bench.py flops --model SHAPE --seq T   (FLOPs per token)
       python3 bench/torch/llama_bench.py check --weights FILE.json      (same-model check)
Example: python3 bench/torch/llama_bench.py train --model research-7m --threads 2 --json
"""
import argparse
import json
import math
import resource
import sys
import time

# Same presets and inline-shape keys as src/models/presets.ts and src/models/shape.ts.
PRESETS = {
    "debug": dict(vocab=256, d=64, layers=2, heads=4, kv=2, ffn=160),
    "research-2m": dict(vocab=8192, d=128, layers=4, heads=4, kv=2, ffn=384),
    "research-7m": dict(vocab=8192, d=256, layers=6, heads=8, kv=4, ffn=768),
    "research-19m": dict(vocab=16384, d=384, layers=8, heads=6, kv=2, ffn=1024),
    "smollm2-135m": dict(vocab=49152, d=576, layers=30, heads=9, kv=3, ffn=1536, init_std=1 / math.sqrt(576)),
    "smollm2-360m": dict(vocab=49152, d=960, layers=32, heads=15, kv=5, ffn=2560, init_std=1 / math.sqrt(960)),
    "smollm2-1.7b": dict(vocab=49152, d=2048, layers=24, heads=32, kv=32, ffn=8192),
}
SHAPE_KEYS = ("vocab", "d", "layers", "heads", "kv", "ffn", "theta", "seq")


class UsageError(Exception):
    pass


class CompileError(Exception):
    """torch.compile is missing or failed on this machine (reported, not fatal to bench/compare)."""


def parse_model(spec):
    """A preset name or an inline shape such as vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768."""
    if "=" not in spec:
        if spec not in PRESETS:
            raise UsageError(f'unknown model preset "{spec}" (known: {", ".join(PRESETS)})')
        cfg = dict(PRESETS[spec])
    else:
        cfg = {}
        for part in spec.split(","):
            k, _, v = (s.strip() for s in part.partition("="))
            if k not in SHAPE_KEYS:
                raise UsageError(f'bad model shape "{spec}": unknown key "{k}" (known: {", ".join(SHAPE_KEYS)})')
            if not v.isdigit() or int(v) < 1:
                raise UsageError(f'bad model shape "{spec}": {k}: expected a positive integer, got "{v}"')
            cfg[k] = int(v)
        for k in ("vocab", "d", "layers", "heads"):
            if k not in cfg:
                raise UsageError(f'bad model shape "{spec}": {k}: required')
        cfg.setdefault("kv", cfg["heads"])
        # JS Math.round (half up), as src/models/shape.ts.
        cfg.setdefault("ffn", math.floor(8 * cfg["d"] / 3 / 64 + 0.5) * 64)
    if cfg["d"] % cfg["heads"] or cfg["heads"] % cfg["kv"]:
        raise UsageError(f'bad model shape "{spec}": heads must divide d and kv must divide heads')
    cfg.setdefault("theta", 10000)
    cfg.setdefault("init_std", 0.02)
    cfg["head_dim"] = cfg["d"] // cfg["heads"]
    return cfg


def flops_per_token(c, seq):
    """Forward matmul + attention FLOPs per token (embedding gather excluded), as
    src/scaling/flops.ts flopsPerToken minus its embedding term; training = 3 x forward."""
    V, d, ffn, L, h, kv, hd, s = c["vocab"], c["d"], c["ffn"], c["layers"], c["heads"], c["kv"], c["head_dim"], seq
    qw, kvw = h * hd, kv * hd
    proj = 2 * s * d * qw + 2 * 2 * s * d * kvw + 2 * s * qw * d
    scores = 2 * s * s * qw + 3 * h * s * s + 2 * s * s * qw
    mlp = 2 * s * 3 * d * ffn
    logits = 2 * s * d * V
    forward = (L * proj) / s + (L * scores) / s + (L * mlp) / s + logits / s
    return {"forward": forward, "train": 3 * forward}


def build(torch, c, max_t):
    nn, F = torch.nn, torch.nn.functional
    has_sdpa = hasattr(F, "scaled_dot_product_attention")

    class RMSNorm(nn.Module):
        def __init__(self, dim, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            xf = x.float()
            return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight

    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            d, hd = c["d"], c["head_dim"]
            self.h, self.kv, self.hd = c["heads"], c["kv"], hd
            self.q_proj = nn.Linear(d, self.h * hd, bias=False)
            self.k_proj = nn.Linear(d, self.kv * hd, bias=False)
            self.v_proj = nn.Linear(d, self.kv * hd, bias=False)
            self.o_proj = nn.Linear(self.h * hd, d, bias=False)

        def forward(self, x, cos, sin, mask, cache, pos0):
            B, T, _ = x.shape
            q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
            k = self.k_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
            v = self.v_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:  # preallocated [B, kv, max_t, hd] buffers
                cache[0][:, :, pos0:pos0 + T] = k
                cache[1][:, :, pos0:pos0 + T] = v
                k, v = cache[0][:, :, :pos0 + T], cache[1][:, :, :pos0 + T]
            rep = self.h // self.kv
            if rep > 1:  # GQA: each KV head serves `rep` consecutive query heads (HF repeat_kv)
                k = k.repeat_interleave(rep, dim=1)
                v = v.repeat_interleave(rep, dim=1)
            Tk = k.shape[2]
            if has_sdpa and (T == Tk or T == 1):
                y = F.scaled_dot_product_attention(q, k, v, is_causal=(T == Tk and T > 1))
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
                if T > 1:
                    att = att.masked_fill(mask[pos0:pos0 + T, :Tk], float("-inf"))
                y = torch.softmax(att, dim=-1) @ v
            return self.o_proj(y.transpose(1, 2).reshape(B, T, self.h * self.hd))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj = nn.Linear(c["d"], c["ffn"], bias=False)
            self.up_proj = nn.Linear(c["d"], c["ffn"], bias=False)
            self.down_proj = nn.Linear(c["ffn"], c["d"], bias=False)

        def forward(self, x):
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm = RMSNorm(c["d"])
            self.self_attn = Attention()
            self.post_attention_layernorm = RMSNorm(c["d"])
            self.mlp = MLP()

        def forward(self, x, cos, sin, mask, cache, pos0):
            x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, pos0)
            return x + self.mlp(self.post_attention_layernorm(x))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(c["vocab"], c["d"])
            self.layers = nn.ModuleList(Block() for _ in range(c["layers"]))
            self.norm = RMSNorm(c["d"])
            hd = c["head_dim"]
            inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
            freqs = torch.outer(torch.arange(max_t, dtype=torch.float32), inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)
            self.register_buffer("cos", emb.cos(), persistent=False)
            self.register_buffer("sin", emb.sin(), persistent=False)
            self.register_buffer("mask", torch.ones(max_t, max_t, dtype=torch.bool).triu(1), persistent=False)
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    nn.init.normal_(p, std=c["init_std"])

        def forward(self, ids, caches=None, pos0=0):
            T = ids.shape[1]
            x = self.embed_tokens(ids)
            cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
            for i, layer in enumerate(self.layers):
                x = layer(x, cos, sin, self.mask, caches[i] if caches is not None else None, pos0)
            return F.linear(self.norm(x), self.embed_tokens.weight)  # tied LM head

    return Llama(), ("sdpa" if has_sdpa else "manual-softmax")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]  # upper median, as src/bench/model.ts


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(a):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    clock = time.process_time if a.cpu_time else time.perf_counter  # train/eval steps only
    c = parse_model(a.model)
    mode = a.mode
    steps = a.steps if a.steps is not None else (64 if mode == "generate" else 5)
    max_t = a.seq + steps + 1 if mode == "generate" else a.seq
    model, attention = build(torch, c, max_t)
    params = sum(p.numel() for p in model.parameters())
    fpt = flops_per_token(c, a.seq)
    import contextlib
    bf16 = a.precision == "bf16"
    if bf16 and not hasattr(torch, "autocast"):
        raise UsageError(f"--precision bf16 needs torch.autocast (torch >= 1.10), this is torch {torch.__version__}")

    def amp():
        return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    fwd = model
    if a.compile:
        if mode == "generate":
            raise UsageError("--compile: train and eval only (decoding changes shapes every token)")
        if not hasattr(torch, "compile"):
            raise CompileError(f"torch {torch.__version__} has no torch.compile")
        fwd = torch.compile(model)
    g = torch.Generator().manual_seed(1)
    times = []

    if mode == "train":
        model.train()
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
        N = a.batch * a.seq
        for s in range(a.warmup + steps):
            ids = torch.randint(0, c["vocab"], (a.batch, a.seq + 1), generator=g)
            t0 = clock()
            opt.zero_grad(set_to_none=True)
            with amp():
                logits = fwd(ids[:, :-1])
                loss = F.cross_entropy(logits.view(-1, c["vocab"]), ids[:, 1:].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if s >= a.warmup:
                times.append(clock() - t0)
        step, tokens, flops, batch = median(times), N, N * fpt["train"], a.batch
    elif mode == "eval":
        model.eval()
        N = a.batch * a.seq
        with torch.no_grad(), amp():
            for s in range(a.warmup + steps):
                ids = torch.randint(0, c["vocab"], (a.batch, a.seq), generator=g)
                t0 = clock()
                fwd(ids)
                if s >= a.warmup:
                    times.append(clock() - t0)
        step, tokens, flops, batch = median(times), N, N * fpt["forward"], a.batch
    else:  # generate: batch 1, KV cache, greedy; per-token time of the decode loop after a prefill
        model.eval()
        prompt = torch.randint(0, c["vocab"], (1, a.seq), generator=g)

        def decode(p, n):
            caches = [(torch.zeros(1, c["kv"], max_t, c["head_dim"]), torch.zeros(1, c["kv"], max_t, c["head_dim"]))
                      for _ in range(c["layers"])]
            row = model(p, caches, 0)[0, -1]
            pos, t0 = p.shape[1], time.perf_counter()
            for _ in range(n):
                nxt = int(torch.argmax(row))
                row = model(torch.tensor([[nxt]]), caches, pos)[0, -1]
                pos += 1
            return time.perf_counter() - t0

        with torch.no_grad(), amp():
            decode(prompt[:, :8], min(4, steps))  # warm-up, as benchGenerate
            per = decode(prompt, steps) / steps
        step, tokens, flops, batch = per, 1, fpt["forward"], 1

    gflops = flops / step / 1e9
    return {
        "model": a.model, "backend": "torch", "precision": a.precision, "compile": bool(a.compile), "mode": mode, "params": params,
        "threads": torch.get_num_threads(), "seq": a.seq, "batch": batch, "tokensPerS": tokens / step,
        "stepSeconds": step, "gflops": gflops, "mfu": gflops / a.peak, "peakRssMiB": peak_rss_mib(),
        "nativeMiB": None, "torchVersion": torch.__version__, "attention": attention,
    }


def check(path):
    """Same-model check: load SmolLab's weights (HF names), recompute its loss on its tokens, and
    compare KV-cached decoding with a full forward. FILE.json: {model, weights: {name: [floats]},
    ids, batch, seq, loss}, written by bench/compare.mjs from a SmolLab model."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    d = json.load(open(path))
    c = parse_model(d["model"])
    B, T = d["batch"], d["seq"]
    model, attention = build(torch, c, T)
    params = dict(model.named_parameters())
    sd = {}
    for name, values in d["weights"].items():
        key = name[len("model."):] if name.startswith("model.") else name
        if key not in params:
            raise UsageError(f"check: SmolLab parameter {name} has no PyTorch counterpart")
        sd[key] = torch.tensor(values, dtype=torch.float32).view_as(params[key])
    model.load_state_dict(sd, strict=True)
    ids = torch.tensor(d["ids"], dtype=torch.long)
    x, y = ids[:B * T].view(B, T), ids[1:B * T + 1].view(B, T)
    with torch.no_grad():
        full = model(x)
        loss = F.cross_entropy(full.view(-1, c["vocab"]), y.reshape(-1)).item()
        caches = [(torch.zeros(1, c["kv"], T, c["head_dim"]), torch.zeros(1, c["kv"], T, c["head_dim"])) for _ in range(c["layers"])]
        half = T // 2
        parts = [model(x[:1, :half], caches, 0)] + [model(x[:1, i:i + 1], caches, i) for i in range(half, T)]
        cache_diff = (torch.cat(parts, dim=1) - full[:1]).abs().max().item()
    return {"model": d["model"], "attention": attention, "torchLoss": loss, "smolLoss": d["loss"],
            "lossAbsDiff": abs(loss - d["loss"]), "kvCacheMaxAbsDiff": cache_diff}


def main(argv):
    ap = argparse.ArgumentParser(prog="llama_bench.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Examples:\n  python3 bench/torch/llama_bench.py train --model research-7m --threads 2 --json\n"
                                        "  python3 bench/torch/llama_bench.py generate --model research-2m --seq 256 --steps 64")
    ap.add_argument("mode", choices=["train", "eval", "generate", "flops", "check"])
    ap.add_argument("--weights", help="check: a JSON file of SmolLab weights, tokens and loss")
    ap.add_argument("--model", help="preset name or inline shape, e.g. vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768")
    ap.add_argument("--seq", type=int, default=256, help="sequence length (generate: prompt length), default 256")
    ap.add_argument("--batch", type=int, default=16, help="batch size, default 16 (generate: always 1)")
    ap.add_argument("--steps", type=int, default=None, help="measured steps, default 5 (generate: new tokens, 64)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up steps excluded from timing, default 2")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads, default 2")
    ap.add_argument("--peak", type=float, default=228.0, help="machine peak GFLOP/s for MFU, default 228")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="fp32 (default) or bf16 autocast (torch.autocast('cpu', dtype=torch.bfloat16))")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (train, eval)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="train/eval with --threads 1: time steps by process CPU time (time.process_time)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    if a.mode == "check":
        if not a.weights:
            raise UsageError("check needs --weights FILE.json")
        print(json.dumps(check(a.weights)))
        return 0
    if not a.model:
        raise UsageError("--model PRESET|SHAPE is required, e.g. --model research-7m")
    for k in ("seq", "batch", "threads"):
        if getattr(a, k) < 1:
            raise UsageError(f"--{k} must be a positive integer, got {getattr(a, k)}")
    if a.steps is not None and a.steps < 1:
        raise UsageError(f"--steps must be a positive integer, got {a.steps}")
    if a.warmup < 0:
        raise UsageError(f"--warmup must be >= 0, got {a.warmup}")
    if a.cpu_time and (a.mode not in ("train", "eval") or a.threads != 1):
        raise UsageError("--cpu-time needs train or eval with --threads 1 (process CPU time is a step's time only on one thread)")
    if a.mode == "flops":
        print(json.dumps({"model": a.model, "seq": a.seq, **flops_per_token(parse_model(a.model), a.seq)}))
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("PyTorch is not installed for this python: pip install torch (2.x), or apt-get install -y python3-torch and use /usr/bin/python3")
    try:
        r = run(a)
    except CompileError as e:
        raise
    except Exception as e:  # torch.compile fails late (inductor, C++ compiler): say so, not a traceback
        if not a.compile:
            raise
        raise CompileError(f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300])
    if a.json:
        print(json.dumps(r))
    else:
        print(f"torch {r['torchVersion']} {r['mode']} {a.model}: {r['tokensPerS']:.1f} tok/s, step {r['stepSeconds'] * 1e3:.1f} ms, "
              f"{r['gflops']:.1f} GFLOP/s (MFU {r['mfu'] * 100:.1f}%), peak RSS {r['peakRssMiB']:.0f} MiB, "
              f"{r['threads']} threads, attention {r['attention']}, {r['precision']}{' compiled' if r['compile'] else ''}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"llama_bench.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except CompileError as e:
        print(json.dumps({"error": f"torch.compile failed: {e}"}))
        print(f"llama_bench.py: torch.compile failed: {e}", file=sys.stderr)
        sys.exit(3)
