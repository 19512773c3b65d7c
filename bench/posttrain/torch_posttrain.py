"""PyTorch reference for bench/posttrain/compare.mjs: one SFT or DPO training step of a Llama model
with transformers' LlamaForCausalLM (fp32, CPU, its default SDPA attention) — forward, masked
cross-entropy (SFT) or the DPO sigmoid loss against fixed reference log-probs (DPO, as TRL with
precomputed reference log-probs), backward, clipping at 1.0, AdamW — timed after warm-up.
Benchmark-only (pip install torch transformers); never used by SmolLab or its tests.

Usage: python3 bench/posttrain/torch_posttrain.py --model DIR --mode sft|dpo --batch B --seq T
         [--steps 4] [--warmup 2] [--threads 2]
Prints one JSON line: {"mode", "tokens_per_s", "step_s", "loss"}.
"""
import argparse, json, time
import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--mode", choices=["sft", "dpo"], required=True)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--seq", type=int, default=256)
ap.add_argument("--steps", type=int, default=4)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = LlamaForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
V = model.config.vocab_size
rows = a.batch * (2 if a.mode == "dpo" else 1)
ids = torch.randint(0, V, (rows, a.seq + 1))
inp, tgt = ids[:, :-1], ids[:, 1:].clone()
tgt[:, : a.seq // 2] = -100  # the prompt half carries no loss
ref = torch.randn(rows) - 100.0
beta = 0.5

def step():
    opt.zero_grad(set_to_none=True)
    logits = model(inp).logits
    if a.mode == "sft":
        loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=-100)
    else:
        lp = torch.gather(logits.log_softmax(-1), 2, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        lp = (lp * (tgt != -100)).sum(-1)
        P = a.batch
        h = (lp[:P] - ref[:P]) - (lp[P:] - ref[P:])
        loss = -F.logsigmoid(beta * h).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()

for _ in range(a.warmup):
    step()
times = []
for _ in range(a.steps):
    t0 = time.perf_counter()
    loss = step()
    times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
print(json.dumps({"mode": a.mode, "tokens_per_s": rows * a.seq / med, "step_s": med, "loss": loss, "torch": torch.__version__}))
