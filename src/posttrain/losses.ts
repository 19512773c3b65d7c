// Post-training losses on the autograd engine. `sequenceLoss` is one fused op: per-token
// log-probs of the targets (fused cross-entropy), summed per row, a scalar loss of those sums
// computed in float64 (DPO sigmoid, IPO), and a backward that feeds d(loss)/d(row log-prob) to
// every scored token through the fused cross-entropy backward (the logits buffer is reused for
// d(logits), as in pretraining). Targets < 0 are not scored.
import type { FloatBuf } from "../backend/backend.js";
import type { Engine } from "../tensor/engine.js";
import type { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../errors.js";

/** Sum of target log-probs per row of B rows × T positions, and the number of scored tokens per row. */
export interface RowLogps {
  logps: Float64Array;
  counts: Int32Array;
}

/**
 * A scalar loss of per-row log-prob sums. `lossOf` gets the sums and counts and returns the loss
 * and d(loss)/d(sum) per row. Returns the loss tensor (tracked when logits are) and the sums.
 */
export function sequenceLoss<F extends FloatBuf>(
  e: Engine<F>, logits: Tensor<F>, targets: Int32Array, B: number, T: number,
  lossOf: (r: RowLogps) => { loss: number; dSum: Float64Array },
): { loss: Tensor<F>; rows: RowLogps } {
  const V = logits.shape[logits.shape.length - 1];
  const N = B * T;
  if (logits.size !== N * V || targets.length !== N) throw new ShapeError(`sequenceLoss: logits ${logits.shape} and ${targets.length} targets for B=${B} T=${T}`);
  const losses = e.arena.alloc(N);
  const lse = e.arena.alloc(N);
  e.be.crossEntropyForward(losses, lse, logits.data, targets, N, V);
  const rows = rowLogps(losses, targets, B, T);
  const { loss: value, dSum } = lossOf(rows);
  const loss = e.empty([1], e.tracks(logits));
  loss.data[0] = value;
  if (loss.requiresGrad) {
    e.record(loss, () => {
      const g = loss.grad![0];
      const dl = e.arena.alloc(N);
      // log p = -CE, so d(loss)/d(CE_t) = -d(loss)/d(sum of its row).
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) dl[b * T + t] = -dSum[b] * g;
      if (logits.grad) throw new ShapeError("sequenceLoss: logits already have a gradient; the fused backward needs to own them");
      e.be.crossEntropyBackward(logits.data, logits.data, lse, targets, dl, N, V);
      logits.grad = logits.data;
    });
  }
  return { loss, rows };
}

/** Row sums of -CE over scored targets. */
export function rowLogps(losses: ArrayLike<number>, targets: Int32Array, B: number, T: number): RowLogps {
  const logps = new Float64Array(B);
  const counts = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    let n = 0;
    for (let t = 0; t < T; t++) {
      if (targets[b * T + t] < 0) continue;
      s -= losses[b * T + t];
      n++;
    }
    logps[b] = s;
    counts[b] = n;
  }
  return { logps, counts };
}

export type DpoLossKind = "sigmoid" | "ipo";

/** Per-pair inputs: policy and reference log-prob sums of chosen and rejected completions, and their token counts. */
export interface DpoInputs {
  policyChosen: Float64Array;
  policyRejected: Float64Array;
  refChosen: Float64Array;
  refRejected: Float64Array;
  lenChosen: Int32Array;
  lenRejected: Int32Array;
}

export interface DpoResult {
  /** Mean loss over the pairs. */
  loss: number;
  dChosen: Float64Array;
  dRejected: Float64Array;
  /** TRL's metric names: rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected. */
  metrics: Record<string, number>;
}

const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * DPO (sigmoid: -log σ(β·((πc−rc)−(πr−rr)))) and IPO ((h − 1/(2β))², on log-probs averaged over
 * the completion's tokens, as TRL does) as the mean over P pairs, with gradients w.r.t. the policy
 * log-prob sums. Rewards are β·(policy − reference) of the log-probs the loss uses.
 */
export function dpoLoss(x: DpoInputs, beta: number, kind: DpoLossKind): DpoResult {
  const P = x.policyChosen.length;
  const dChosen = new Float64Array(P);
  const dRejected = new Float64Array(P);
  let loss = 0;
  const m = { rc: 0, rr: 0, acc: 0, margin: 0, lc: 0, lr: 0 };
  for (let i = 0; i < P; i++) {
    const nc = kind === "ipo" ? Math.max(1, x.lenChosen[i]) : 1;
    const nr = kind === "ipo" ? Math.max(1, x.lenRejected[i]) : 1;
    const pc = x.policyChosen[i] / nc, pr = x.policyRejected[i] / nr;
    const rc = x.refChosen[i] / nc, rr = x.refRejected[i] / nr;
    const h = pc - rc - (pr - rr);
    let dh: number;
    if (kind === "sigmoid") {
      loss += softplus(-beta * h);
      dh = -beta * sigmoid(-beta * h);
    } else {
      const d = h - 1 / (2 * beta);
      loss += d * d;
      dh = 2 * d;
    }
    dChosen[i] = dh / nc / P;
    dRejected[i] = -dh / nr / P;
    const rwc = beta * (pc - rc), rwr = beta * (pr - rr);
    m.rc += rwc;
    m.rr += rwr;
    m.acc += rwc > rwr ? 1 : 0;
    m.margin += rwc - rwr;
    m.lc += pc;
    m.lr += pr;
  }
  return {
    loss: loss / P, dChosen, dRejected,
    metrics: {
      "rewards/chosen": m.rc / P, "rewards/rejected": m.rr / P, "rewards/accuracies": m.acc / P, "rewards/margins": m.margin / P,
      "logps/chosen": m.lc / P, "logps/rejected": m.lr / P,
    },
  };
}
