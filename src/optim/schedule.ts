// Learning-rate schedules as pure functions of the step (docs/references.md §6): constant, cosine and
// warmup-stable-decay (WSD) with six cooldown shapes, their validation by dotted path, and the
// cooldown-branch helper of Hägele et al. Resuming a run needs only the step. Edge semantics:
//
//   warmup   (n < W):      lr = η·(s + (1 − s)·n/(W − 1)), linear from s·η at n = 0 to η at n = W − 1
//                          (the last warmup step already has the peak). The default s = 1/W gives
//                          lr(n) = η·(n + 1)/W, so no step is wasted at lr 0; W = 1 gives lr(0) = η.
//                          Hägele's reference code starts at η/100: set warmupStartFactor 0.01.
//   stable   (W ≤ n < N−C): lr = η (WSD, constant).
//   cooldown (n ≥ N − C):  x = (n − (N − C))/C exactly as docs/references.md §6, lr = η_min + (η − η_min)·f(x).
//                          The first cooldown step has x = 0, so lr = η (same as the stable phase);
//                          the last step n = N − 1 has x = (C − 1)/C, so it does NOT reach η_min: η_min
//                          is the value at n = N, i.e. the LR "after" the last update (linear: the last
//                          step is η_min + (η − η_min)/C). Steps ≥ N return the x = 1 value.
//   cosine:                after warmup p = (n − W)/(N − W), lr = η_f + (η − η_f)·½(1 + cos πp), with
//                          η_f = finalFraction·η (default 0.1); the same endpoint convention (p = 1 at n = N).
// C = decaySteps, or round(decayFraction·N) (default fraction 0.2). Default shape "1-sqrt" (the paper's best).
// lr(step) accepts any finite step ≥ 0 (fractional steps follow the same formulas, for plots).
import { ConfigError } from "../errors.js";

export type ScheduleKind = "constant" | "cosine" | "wsd";
export type DecayShape = "linear" | "1-sqrt" | "cosine" | "mirror-cosine" | "square" | "power";
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ["constant", "cosine", "wsd"];
export const DECAY_SHAPES: readonly DecayShape[] = ["linear", "1-sqrt", "cosine", "mirror-cosine", "square", "power"];

export interface ScheduleConfig {
  kind: ScheduleKind;
  /** Peak learning rate η. */
  lr: number;
  /** Total steps N of the run. */
  steps: number;
  /** Warmup steps W (default 0). */
  warmup?: number;
  /** Warmup starts at this fraction of η (default 1/W: lr(n) = η·(n+1)/W). In [0, 1]. */
  warmupStartFactor?: number;
  /** Cosine: final LR as a fraction of η (default 0.1). */
  finalFraction?: number;
  /** WSD: cooldown length C in steps (takes precedence over decayFraction). */
  decaySteps?: number;
  /** WSD: cooldown length as a fraction of N, in (0, 1] (default 0.2). */
  decayFraction?: number;
  /** WSD: cooldown shape (default "1-sqrt"). */
  shape?: DecayShape;
  /** WSD, shape "power": exponent a of f = 1 − x^a (required for that shape, > 0). */
  power?: number;
  /** WSD: η_min, the LR the cooldown tends to (default 0). */
  finalLr?: number;
}

/** The snake_case key under which each field appears in config files and in problem paths. */
export const SCHEDULE_KEYS: Readonly<Record<keyof ScheduleConfig, string>> = {
  kind: "kind", lr: "lr", steps: "steps", warmup: "warmup", warmupStartFactor: "warmup_start_factor",
  finalFraction: "final_fraction", decaySteps: "decay_steps", decayFraction: "decay_fraction",
  shape: "shape", power: "power", finalLr: "final_lr",
};

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Every problem with the config, each prefixed by its dotted path (e.g. "schedule.decay_fraction: …"). */
export function validateSchedule(cfg: ScheduleConfig, path = "schedule"): string[] {
  const p: string[] = [];
  const at = (k: keyof ScheduleConfig, msg: string) => p.push(`${path}.${SCHEDULE_KEYS[k]}: ${msg}`);
  const kindOk = SCHEDULE_KINDS.includes(cfg.kind);
  if (!kindOk) at("kind", `must be one of ${SCHEDULE_KINDS.join(", ")}, got ${JSON.stringify(cfg.kind)}`);
  if (!isNum(cfg.lr) || cfg.lr <= 0) at("lr", `must be a number > 0, got ${String(cfg.lr)}`);
  const stepsOk = isInt(cfg.steps) && cfg.steps >= 1;
  if (!stepsOk) at("steps", `must be an integer >= 1, got ${String(cfg.steps)}`);
  const W = cfg.warmup ?? 0;
  if (!isInt(W) || W < 0) at("warmup", `must be an integer >= 0, got ${String(cfg.warmup)}`);
  else if (stepsOk && W > cfg.steps) at("warmup", `must be <= steps (${cfg.steps}), got ${W}`);
  if (cfg.warmupStartFactor !== undefined && (!isNum(cfg.warmupStartFactor) || cfg.warmupStartFactor < 0 || cfg.warmupStartFactor > 1)) {
    at("warmupStartFactor", `must be in [0, 1], got ${String(cfg.warmupStartFactor)}`);
  }
  if (!kindOk) return p; // kind-specific keys cannot be judged without a kind
  if (cfg.kind === "cosine") {
    if (cfg.finalFraction !== undefined && (!isNum(cfg.finalFraction) || cfg.finalFraction < 0 || cfg.finalFraction > 1)) {
      at("finalFraction", `must be in [0, 1], got ${String(cfg.finalFraction)}`);
    }
    if (stepsOk && isInt(W) && W >= cfg.steps && cfg.steps > 0) at("warmup", `must be < steps (${cfg.steps}) for a cosine schedule, got ${W}`);
  }
  if (cfg.kind !== "wsd") {
    for (const k of ["decaySteps", "decayFraction", "shape", "power", "finalLr"] as const) {
      if (cfg[k] !== undefined) at(k, `only applies to kind wsd (this schedule is ${cfg.kind})`);
    }
  }
  if (cfg.kind !== "cosine" && cfg.finalFraction !== undefined) at("finalFraction", `only applies to kind cosine (this schedule is ${cfg.kind})`);
  if (cfg.kind === "wsd") {
    if (cfg.decaySteps !== undefined && cfg.decayFraction !== undefined) {
      at("decaySteps", "give decay_steps or decay_fraction, not both");
    }
    if (cfg.decaySteps !== undefined && (!isInt(cfg.decaySteps) || cfg.decaySteps < 1)) {
      at("decaySteps", `must be an integer >= 1, got ${String(cfg.decaySteps)}`);
    }
    if (cfg.decayFraction !== undefined && (!isNum(cfg.decayFraction) || cfg.decayFraction <= 0 || cfg.decayFraction > 1)) {
      at("decayFraction", `must be in (0, 1], got ${String(cfg.decayFraction)}`);
    }
    if (p.length === 0) {
      const C = cooldownSteps(cfg);
      if (C < 1) at("decayFraction", `gives ${C} cooldown steps for ${cfg.steps} steps; use a larger fraction or decay_steps`);
      else if (W + C > cfg.steps) at(cfg.decaySteps !== undefined ? "decaySteps" : "decayFraction", `warmup (${W}) + cooldown (${C}) exceed steps (${cfg.steps})`);
    }
    const shape = cfg.shape ?? "1-sqrt";
    if (!DECAY_SHAPES.includes(shape)) at("shape", `must be one of ${DECAY_SHAPES.join(", ")}, got ${JSON.stringify(shape)}`);
    if (shape === "power") {
      if (cfg.power === undefined) at("power", "required when shape is power (f = 1 − x^a)");
      else if (!isNum(cfg.power) || cfg.power <= 0) at("power", `must be a number > 0, got ${String(cfg.power)}`);
    } else if (cfg.power !== undefined) at("power", `only applies to shape power (shape is ${shape})`);
    const fl = cfg.finalLr ?? 0;
    if (!isNum(fl) || fl < 0) at("finalLr", `must be a number >= 0, got ${String(cfg.finalLr)}`);
    else if (isNum(cfg.lr) && fl > cfg.lr) at("finalLr", `must be <= lr (${cfg.lr}), got ${fl}`);
  }
  return p;
}

/** Throw a ConfigError listing every problem, or return the config unchanged. */
export function checkSchedule(cfg: ScheduleConfig, path = "schedule"): ScheduleConfig {
  const problems = validateSchedule(cfg, path);
  if (problems.length) throw new ConfigError(`invalid ${path}`, problems);
  return cfg;
}

/** Cooldown length C of a WSD schedule in steps. */
export function cooldownSteps(cfg: ScheduleConfig): number {
  if (cfg.decaySteps !== undefined) return cfg.decaySteps;
  return Math.round((cfg.decayFraction ?? 0.2) * cfg.steps);
}

/** First cooldown step N − C of a WSD schedule (N for constant; the first post-warmup step for cosine). */
export function decayStart(cfg: ScheduleConfig): number {
  if (cfg.kind === "wsd") return cfg.steps - cooldownSteps(cfg);
  if (cfg.kind === "cosine") return cfg.warmup ?? 0;
  return cfg.steps;
}

/** The cooldown factor f(x) ∈ [0, 1] for x ∈ [0, 1]: 1 at x = 0, 0 at x = 1. */
export function decayFactor(shape: DecayShape, x: number, power?: number): number {
  switch (shape) {
    case "linear": return 1 - x;
    case "1-sqrt": return 1 - Math.sqrt(x);
    case "cosine": return 0.5 * (1 + Math.cos(Math.PI * x));
    case "mirror-cosine": return 2 * (1 - x) - 0.5 * (1 + Math.cos(Math.PI * x));
    case "square": return 1 - x * x;
    case "power": {
      if (power === undefined || !(power > 0)) throw new ConfigError(`decay shape power needs an exponent > 0, got ${String(power)}`);
      return 1 - Math.pow(x, power);
    }
  }
}

function warmupLr(lr: number, W: number, startFactor: number | undefined, n: number): number {
  if (W <= 1) return lr;
  if (startFactor === undefined) return (lr * (n + 1)) / W;
  return lr * (startFactor + ((1 - startFactor) * n) / (W - 1));
}

function checkStep(step: number): void {
  if (!(step >= 0) || !Number.isFinite(step)) throw new ConfigError(`schedule: step must be a finite number >= 0, got ${String(step)}`);
}

/** Validate `cfg` (throwing ConfigError) and return lr(step) for step ≥ 0. */
export function makeSchedule(cfg: ScheduleConfig): (step: number) => number {
  checkSchedule(cfg);
  const { lr, steps: N } = cfg;
  const W = cfg.warmup ?? 0;
  const sf = cfg.warmupStartFactor;
  if (cfg.kind === "constant") {
    return (n) => (checkStep(n), n < W ? warmupLr(lr, W, sf, n) : lr);
  }
  if (cfg.kind === "cosine") {
    const lf = (cfg.finalFraction ?? 0.1) * lr;
    return (n) => {
      checkStep(n);
      if (n < W) return warmupLr(lr, W, sf, n);
      const p = Math.min(1, (n - W) / (N - W));
      return lf + (lr - lf) * 0.5 * (1 + Math.cos(Math.PI * p));
    };
  }
  const C = cooldownSteps(cfg);
  const start = N - C;
  const shape = cfg.shape ?? "1-sqrt";
  const lmin = cfg.finalLr ?? 0;
  return (n) => {
    checkStep(n);
    if (n < W) return warmupLr(lr, W, sf, n);
    if (n < start) return lr;
    const x = Math.min(1, (n - start) / C);
    return lmin + (lr - lmin) * decayFactor(shape, x, cfg.power);
  };
}

/** lr(n) for n = 0 … N − 1. */
export function scheduleValues(cfg: ScheduleConfig): number[] {
  const f = makeSchedule(cfg);
  return Array.from({ length: cfg.steps }, (_, n) => f(n));
}

export interface BranchOptions {
  /** Warmup of the parent run (default 0) and its start factor, as in ScheduleConfig. */
  warmup?: number;
  warmupStartFactor?: number;
  /** η_min of the cooldown (default 0). */
  finalLr?: number;
  /** Exponent for shape "power". */
  power?: number;
}

/**
 * The schedule of a cooldown branch (Hägele et al.): the parent is a constant-LR run (with optional
 * warmup); the branch resumes from the parent's checkpoint after `branchStep` updates and decays
 * over `decaySteps` steps, ending at step branchStep + decaySteps. It IS a WSD schedule with
 * steps = branchStep + decaySteps and decay_steps = decaySteps, so the branch is identical, step
 * for step, to a single WSD run whose decay starts at branchStep.
 */
export function branchSchedule(parentPeak: number, branchStep: number, decaySteps: number, shape: DecayShape, opts: BranchOptions = {}): ScheduleConfig {
  const problems: string[] = [];
  if (!(parentPeak > 0)) problems.push(`branch.lr: must be > 0, got ${parentPeak}`);
  if (!isInt(branchStep) || branchStep < (opts.warmup ?? 0)) problems.push(`branch.branch_step: must be an integer >= warmup (${opts.warmup ?? 0}), got ${branchStep}`);
  if (!isInt(decaySteps) || decaySteps < 1) problems.push(`branch.decay_steps: must be an integer >= 1, got ${decaySteps}`);
  if (!DECAY_SHAPES.includes(shape)) problems.push(`branch.shape: must be one of ${DECAY_SHAPES.join(", ")}, got ${JSON.stringify(shape)}`);
  if (problems.length) throw new ConfigError("invalid cooldown branch", problems);
  return {
    kind: "wsd", lr: parentPeak, steps: branchStep + decaySteps, warmup: opts.warmup, warmupStartFactor: opts.warmupStartFactor,
    decaySteps, shape, power: opts.power, finalLr: opts.finalLr ?? 0,
  };
}

/** LR of a cooldown branch as a function of the step: makeSchedule(branchSchedule(…)). */
export function cooldownBranch(parentPeak: number, branchStep: number, decaySteps: number, shape: DecayShape, opts: BranchOptions = {}): (step: number) => number {
  return makeSchedule(branchSchedule(parentPeak, branchStep, decaySteps, shape, opts));
}
