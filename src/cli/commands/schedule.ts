// `smol schedule`: print, tabulate or plot a learning-rate schedule (constant, cosine, WSD with
// any cooldown shape) exactly as training would use it. The schedule math lives in optim/schedule.ts.
import { ConfigError, UsageError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic.js";
import {
  DECAY_SHAPES, SCHEDULE_KINDS, cooldownSteps, makeSchedule, validateSchedule,
  type DecayShape, type ScheduleConfig, type ScheduleKind,
} from "../../optim/schedule.js";
import { chart, type RefLine, type Series } from "../../report/svg.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { table } from "../output.js";

const NAME = "schedule";

const help = `smol schedule — print, tabulate or plot a learning-rate schedule

Usage: smol schedule --steps N --lr X [options]

Options:
  --kind K                 wsd | cosine | constant (default wsd)
  --steps N                total steps of the run (required)
  --lr X                   peak learning rate η (required)
  --warmup W               linear warmup steps (default 0)
  --warmup-start-factor F  warmup starts at F·η and reaches η at step W−1
                           (default 1/W, i.e. lr(n) = η·(n+1)/W; Hägele et al.'s code uses 0.01)
  --decay-fraction F       wsd: cooldown length as a fraction of N, in (0, 1] (default 0.2)
  --decay-steps K          wsd: cooldown length in steps (instead of --decay-fraction)
  --shape S                wsd cooldown shape: ${DECAY_SHAPES.join(" | ")} (default 1-sqrt)
  --power A                exponent a for --shape power (f = 1 − x^a)
  --final-lr Y             wsd: η_min reached at step N (default 0)
  --final-fraction F       cosine: final LR as a fraction of η (default 0.1)
  --compare S1,S2,...      wsd: also show these cooldown shapes (table and plot)
  --json                   print the N learning rates lr(0) … lr(N−1) as a JSON array
  --plot FILE.svg          write an SVG plot of the schedule

Cooldown: x = (n − (N − C))/C, lr = η_min + (η − η_min)·f(x); the first cooldown step still has η and
η_min is the value at n = N (one past the last step), as in docs/references.md §6.

Examples:
  smol schedule --kind wsd --steps 1000 --lr 0.001 --warmup 100 --decay-fraction 0.2 --shape 1-sqrt --json
  smol schedule --kind cosine --steps 5000 --lr 3e-3 --warmup 200 --plot cosine.svg
  smol schedule --steps 1000 --lr 1e-3 --warmup 50 --compare linear,1-sqrt,cosine --plot shapes.svg`;

const OPTIONS = {
  kind: { type: "string" },
  steps: { type: "string" },
  lr: { type: "string" },
  warmup: { type: "string" },
  "warmup-start-factor": { type: "string" },
  "decay-fraction": { type: "string" },
  "decay-steps": { type: "string" },
  shape: { type: "string" },
  power: { type: "string" },
  "final-lr": { type: "string" },
  "final-fraction": { type: "string" },
  compare: { type: "string" },
  json: { type: "boolean" },
  plot: { type: "string" },
} as const;

/** Turn "schedule.decay_fraction: …" into "--decay-fraction: …" for command-line users. */
function asFlags(problems: string[]): string[] {
  return problems.map((p) => p.replace(/^schedule\.([a-z_]+)/, (_, k: string) => `--${k.replace(/_/g, "-")}`));
}

function checked(cfg: ScheduleConfig): ScheduleConfig {
  const problems = validateSchedule(cfg);
  if (problems.length) throw new ConfigError("schedule: invalid options", asFlags(problems), "run `smol schedule --help` for the options");
  return cfg;
}

const BARS = "▁▂▃▄▅▆▇█";
function sparkline(f: (n: number) => number, steps: number, peak: number, width = 60): string {
  const w = Math.min(width, steps);
  let s = "";
  for (let i = 0; i < w; i++) {
    const n = Math.floor((i * steps) / w);
    const v = Math.max(0, Math.min(1, f(n) / peak));
    s += BARS[Math.min(BARS.length - 1, Math.round(v * (BARS.length - 1)))];
  }
  return s;
}

function keySteps(cfg: ScheduleConfig): Array<[number, string]> {
  const N = cfg.steps;
  const W = cfg.warmup ?? 0;
  const out: Array<[number, string]> = [[0, "first step"]];
  if (W > 1) out.push([W - 1, "last warmup step"]);
  if (W > 0 && W < N) out.push([W, cfg.kind === "cosine" ? "first decay step" : "first stable step"]);
  if (cfg.kind === "wsd") {
    const start = N - cooldownSteps(cfg);
    if (start - 1 >= W && start - 1 > 0) out.push([start - 1, "last stable step"]);
    out.push([start, "first cooldown step"]);
    const mid = start + Math.floor((N - start) / 2);
    if (mid > start && mid < N - 1) out.push([mid, "mid cooldown"]);
  } else if (cfg.kind === "cosine") {
    const mid = W + Math.floor((N - W) / 2);
    if (mid > W && mid < N - 1) out.push([mid, "mid decay"]);
  }
  out.push([N - 1, "last step"]);
  const seen = new Set<number>();
  return out.filter(([n]) => n >= 0 && n < N && !seen.has(n) && (seen.add(n), true)).sort((a, b) => a[0] - b[0]);
}

export const command: Command = {
  name: NAME,
  summary: "print, tabulate or plot a learning-rate schedule (WSD, cosine, constant)",
  help,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, OPTIONS);
    const kind = (v.kind ?? "wsd") as string;
    if (!SCHEDULE_KINDS.includes(kind as ScheduleKind)) {
      throw new UsageError(`schedule: --kind must be one of ${SCHEDULE_KINDS.join(", ")}, got "${kind}"`);
    }
    const steps = numberOpt(NAME, "steps", requireOpt(NAME, "steps", v.steps), { int: true, min: 1 }) as number;
    const lr = numberOpt(NAME, "lr", requireOpt(NAME, "lr", v.lr)) as number; // > 0 checked by validateSchedule
    const shape = v.shape as string | undefined;
    if (shape !== undefined && !DECAY_SHAPES.includes(shape as DecayShape)) {
      throw new UsageError(`schedule: --shape must be one of ${DECAY_SHAPES.join(", ")}, got "${shape}"`);
    }
    const cfg: ScheduleConfig = {
      kind: kind as ScheduleKind,
      lr,
      steps,
      warmup: numberOpt(NAME, "warmup", v.warmup, { int: true, min: 0 }),
      warmupStartFactor: numberOpt(NAME, "warmup-start-factor", v["warmup-start-factor"]),
      decayFraction: numberOpt(NAME, "decay-fraction", v["decay-fraction"]),
      decaySteps: numberOpt(NAME, "decay-steps", v["decay-steps"], { int: true }),
      shape: shape as DecayShape | undefined,
      power: numberOpt(NAME, "power", v.power),
      finalLr: numberOpt(NAME, "final-lr", v["final-lr"]),
      finalFraction: numberOpt(NAME, "final-fraction", v["final-fraction"]),
    };
    for (const k of Object.keys(cfg) as Array<keyof ScheduleConfig>) if (cfg[k] === undefined) delete cfg[k];
    checked(cfg);

    // Overlays for --compare: the same WSD schedule with other cooldown shapes.
    const variants: Array<{ label: string; cfg: ScheduleConfig }> = [
      { label: cfg.kind === "wsd" ? `wsd ${cfg.shape ?? "1-sqrt"}${cfg.shape === "power" ? ` a=${cfg.power}` : ""}` : cfg.kind, cfg },
    ];
    if (v.compare !== undefined) {
      if (cfg.kind !== "wsd") throw new UsageError("schedule: --compare overlays WSD cooldown shapes; use it with --kind wsd");
      for (const raw of String(v.compare).split(",").map((s) => s.trim()).filter(Boolean)) {
        if (!DECAY_SHAPES.includes(raw as DecayShape)) {
          throw new UsageError(`schedule: --compare: unknown shape "${raw}"`, `shapes: ${DECAY_SHAPES.join(", ")}`);
        }
        if (raw === (cfg.shape ?? "1-sqrt")) continue;
        if (raw === "power" && cfg.power === undefined) throw new UsageError("schedule: --compare power needs --power A");
        const c: ScheduleConfig = { ...cfg, shape: raw as DecayShape };
        if (raw !== "power") delete c.power;
        variants.push({ label: `wsd ${raw}`, cfg: checked(c) });
      }
    }
    const fns = variants.map((x) => makeSchedule(x.cfg));
    const lrs = Array.from({ length: steps }, (_, n) => fns[0](n));

    if (v.plot !== undefined) {
      const file = requireOpt(NAME, "plot", v.plot);
      const xs = Array.from({ length: steps + 1 }, (_, n) => n);
      const series: Series[] = variants.map((x, i) => ({ name: x.label, x: xs, y: xs.map((n) => fns[i](n)) }));
      const refs: RefLine[] = [];
      const W = cfg.warmup ?? 0;
      if (W > 0) refs.push({ axis: "x", value: W, label: "warmup end" });
      if (cfg.kind === "wsd") refs.push({ axis: "x", value: steps - cooldownSteps(cfg), label: "cooldown" });
      const svg = chart(series, {
        title: variants.length > 1 ? "Learning-rate schedule: WSD cooldown shapes" : `Learning-rate schedule: ${variants[0].label}`,
        subtitle: `N = ${steps} steps, peak η = ${lr}${W ? `, warmup ${W}` : ""}${cfg.kind === "wsd" ? `, cooldown ${cooldownSteps(cfg)} steps` : ""}`,
        xLabel: "step",
        yLabel: "learning rate",
        refLines: refs,
        legend: variants.length > 1 ? "right" : "none",
      });
      writeFileAtomic(file, svg);
      if (v.json) console.error(`wrote ${file}`);
    }
    if (v.json) {
      console.log(JSON.stringify(lrs));
      return 0;
    }
    const heads = ["step", "phase", ...variants.map((x) => (variants.length > 1 ? x.label : "lr"))];
    const rows = keySteps(cfg).map(([n, label]) => [n, label, ...fns.map((f) => f(n))]);
    console.log(`${variants[0].label} schedule: ${steps} step${steps === 1 ? "" : "s"}, peak lr ${lr}`);
    console.log(table(heads, rows));
    for (let i = 0; i < variants.length; i++) {
      console.log(`${sparkline(fns[i], steps, lr)}  ${variants.length > 1 ? variants[i].label : ""}`.trimEnd());
    }
    if (v.plot !== undefined) console.log(`wrote ${String(v.plot)}`);
    return 0;
  },
};
