// `smol fit`: fit the Chinchilla law L(N, D) = E + A/N^α + B/D^β to (params, tokens, loss) points,
// with bootstrap confidence intervals, the compute-optimal allocation for a few budgets, an optional
// IsoFLOP (approach 2) analysis, JSON output and an SVG plot. The math lives in scaling/.
import { UsageError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { readScalingCsv, type ScalingPoint } from "../../scaling/csv.js";
import {
  allocationG, bootstrapFit, computeOptimal, dropHighestLoss, fitChinchilla, predictLoss,
  type BootstrapResult, type ChinchillaFit,
} from "../../scaling/fit.js";
import { isoflopAnalysis, pointFlops } from "../../scaling/isoflop.js";
import { chart, sequentialColor, type Series } from "../../report/svg.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { fmtNum, human, Progress, table } from "../output.js";

const NAME = "fit";
const DEFAULT_BUDGETS = [1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24];

const help = `smol fit — fit a Chinchilla scaling law L(N, D) = E + A/N^α + B/D^β to training runs

Usage: smol fit --points FILE.csv [options]

The CSV needs a header row. Columns: params, tokens, loss (optional flops), in any order; or the
Chinchilla extraction's "Model Size", "Training FLOP", loss, where tokens are taken as C / (6N).
Other columns are ignored; every value must be a finite number > 0.

Method (docs/references.md §7): minimise Σ Huber_δ(LSE(a − α ln N, b − β ln D, e) − ln L), δ = 1e-3, with
L-BFGS from each of 4,500 starting points (α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, …, 1}, a, b ∈ {0, 5, …, 25})
and keep the best. Confidence intervals: percentile bootstrap over resampled points, each refit
started from the full-data optimum.

Options:
  --points FILE.csv        the data points (required)
  --grid G                 full | coarse: starting grid (default full, 4,500 starts; coarse: 243)
  --drop-highest-loss K    leave out the K highest-loss points (default 0; Besiroglu et al. use 5
                           on the Chinchilla data)
  --bootstrap N            bootstrap resamples for confidence intervals (default 100; 0 = none)
  --seed S                 seed of the bootstrap resampling (default 0)
  --level P                confidence level of the intervals (default 0.95)
  --budgets C1,C2,...      compute budgets (FLOPs) for the allocation table (default 1e18,…,1e24)
  --isoflop                also run the IsoFLOP analysis (Chinchilla approach 2)
  --bin-width W            IsoFLOP bins: width in decades of C (default 0.1)
  --json                   print the result as JSON: {"E","A","B","alpha","beta","huber_loss", …}
  --plot FILE.svg          write an SVG: loss vs training FLOPs, data coloured by model size, the
                           fitted curves for those sizes and the compute-optimal frontier

Examples:
  smol fit --points data/scaling/chinchilla_svg_extracted.csv --drop-highest-loss 5
  smol fit --points runs.csv --grid coarse --bootstrap 200 --seed 1 --json
  smol fit --points runs.csv --isoflop --plot fit.svg`;

const OPTIONS = {
  points: { type: "string" },
  grid: { type: "string" },
  "drop-highest-loss": { type: "string" },
  bootstrap: { type: "string" },
  seed: { type: "string" },
  level: { type: "string" },
  budgets: { type: "string" },
  isoflop: { type: "boolean" },
  "bin-width": { type: "string" },
  json: { type: "boolean" },
  plot: { type: "string" },
} as const;

function parseBudgets(raw: unknown): number[] {
  if (raw === undefined) return DEFAULT_BUDGETS;
  const parts = String(raw).split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError("fit: --budgets needs at least one number, e.g. 1e20,1e21");
  return parts.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`fit: --budgets: "${s}" is not a number > 0`);
    return v;
  });
}

const sig = (x: number, d = 4) => (Number.isFinite(x) ? Number(x.toPrecision(d)).toString() : String(x));
const fmtCi = (ci: [number, number] | undefined) => (ci ? `[${sig(ci[0])}, ${sig(ci[1])}]` : "");

function plotSvg(fit: ChinchillaFit, kept: ScalingPoint[], dropped: ScalingPoint[]): string {
  // Colour points by log-spaced model-size groups; draw the fit's loss-vs-compute curve for each group's size.
  const lnN = kept.map((p) => Math.log10(p.params));
  const lo = Math.min(...lnN), hi = Math.max(...lnN);
  const nGroups = Math.max(1, Math.min(6, new Set(lnN.map((v) => v.toFixed(3))).size));
  const groupOf = (v: number) => (hi > lo ? Math.min(nGroups - 1, Math.floor(((v - lo) / (hi - lo)) * nGroups)) : 0);
  const series: Series[] = [];
  const cAll = kept.map(pointFlops);
  const cMin = Math.min(...cAll), cMax = Math.max(...cAll);
  const grid = (a: number, b: number, n = 80) => Array.from({ length: n }, (_, i) => Math.pow(10, Math.log10(a) + ((Math.log10(b) - Math.log10(a)) * i) / (n - 1)));
  for (let g = 0; g < nGroups; g++) {
    const pts = kept.filter((p) => groupOf(Math.log10(p.params)) === g);
    if (pts.length === 0) continue;
    const color = sequentialColor(nGroups === 1 ? 0.4 : (g / (nGroups - 1)) * 0.9);
    const nMean = Math.pow(10, pts.reduce((s, p) => s + Math.log10(p.params), 0) / pts.length);
    const nLo = Math.min(...pts.map((p) => p.params)), nHi = Math.max(...pts.map((p) => p.params));
    series.push({ name: `N ${human(nLo)}–${human(nHi)}`, x: pts.map(pointFlops), y: pts.map((p) => p.loss), mode: "scatter", color, markerSize: 3.5 });
    const cs = grid(cMin / 2, cMax * 2);
    series.push({ name: "", x: cs, y: cs.map((c) => predictLoss(fit, nMean, c / (6 * nMean))), color, width: 1.5, dash: "5 4", opacity: 0.9 });
  }
  if (dropped.length) {
    series.push({ name: `dropped (${dropped.length} highest loss)`, x: dropped.map(pointFlops), y: dropped.map((p) => p.loss), mode: "scatter", marker: "cross", color: "#999999" });
  }
  const cs = grid(cMin / 2, cMax * 2, 120);
  series.push({ name: "compute-optimal frontier", x: cs, y: cs.map((c) => computeOptimal(fit, c).loss), color: "#222222", width: 2.2 });
  const ys = kept.map((p) => p.loss);
  const yPad = (Math.max(...ys) - Math.min(...ys)) * 0.08;
  return chart(series, {
    title: "Chinchilla fit: loss vs training compute",
    subtitle: `L = ${sig(fit.E)} + ${sig(fit.A)}/N^${sig(fit.alpha, 3)} + ${sig(fit.B)}/D^${sig(fit.beta, 3)}   (${fit.n_points} points; dashed: fit at each group's mean N)`,
    xLabel: "training FLOPs C (≈ 6ND)",
    yLabel: "final loss",
    xScale: "log",
    xDomain: [cMin / 2, cMax * 2],
    yDomain: [Math.min(...ys) - yPad, Math.max(...ys) + yPad],
    legendTitle: "model size",
  });
}

export const command: Command = {
  name: NAME,
  summary: "fit a Chinchilla scaling law (E + A/N^α + B/D^β) with bootstrap CIs and compute-optimal sizes",
  help,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, OPTIONS);
    const file = requireOpt(NAME, "points", v.points);
    const gridName = (v.grid ?? "full") as string;
    if (gridName !== "full" && gridName !== "coarse") throw new UsageError(`fit: --grid must be full or coarse, got "${gridName}"`);
    const grid = gridName as "full" | "coarse";
    const dropK = numberOpt(NAME, "drop-highest-loss", v["drop-highest-loss"], { int: true, min: 0 }) ?? 0;
    const nBoot = numberOpt(NAME, "bootstrap", v.bootstrap, { int: true, min: 0 }) ?? 100;
    if (nBoot === 1) throw new UsageError("fit: --bootstrap needs at least 2 resamples (or 0 for none)");
    const seed = numberOpt(NAME, "seed", v.seed, { int: true, min: 0 }) ?? 0;
    const level = numberOpt(NAME, "level", v.level, { min: 0.5, max: 0.999 }) ?? 0.95;
    const budgets = parseBudgets(v.budgets);
    const binWidth = numberOpt(NAME, "bin-width", v["bin-width"], { min: 1e-6 });
    const plotFile = v.plot === undefined ? undefined : requireOpt(NAME, "plot", v.plot);

    const all = readScalingCsv(file);
    const [points, dropped] = dropHighestLoss(all, Math.min(dropK, all.length));
    if (points.length < 5) {
      throw new UsageError(`fit: only ${points.length} points left after --drop-highest-loss ${dropK}; need at least 5`);
    }
    const progress = new Progress();
    const t0 = performance.now();
    const fit = fitChinchilla(points, {
      grid,
      progress: (done, total) => progress.update(`fit: start ${done}/${total}`, done === total),
    });
    const fitSeconds = (performance.now() - t0) / 1000;
    progress.done();
    let boot: BootstrapResult | null = null;
    if (nBoot > 0) {
      boot = bootstrapFit(points, fit, {
        samples: nBoot, seed, level,
        progress: (done, total) => progress.update(`bootstrap: ${done}/${total}`, done === total),
      });
      progress.done();
    }
    const alloc = budgets.map((C) => computeOptimal(fit, C));
    const iso = v.isoflop ? isoflopAnalysis(points, { binWidth }) : null;
    const nExp = fit.beta / (fit.alpha + fit.beta);
    const dExp = fit.alpha / (fit.alpha + fit.beta);

    if (plotFile !== undefined) writeFileAtomic(plotFile, plotSvg(fit, points, dropped));

    if (v.json) {
      const out = {
        ...fit,
        G: allocationG(fit),
        n_exponent: nExp,
        d_exponent: dExp,
        grid,
        dropped: dropped.length,
        fit_seconds: Number(fitSeconds.toFixed(3)),
        bootstrap: boot,
        compute_optimal: alloc,
        ...(iso ? { isoflop: iso } : {}),
      };
      console.log(JSON.stringify(out, null, 2));
      if (plotFile !== undefined) console.error(`wrote ${plotFile}`);
      return 0;
    }

    const pct = `${Math.round(level * 1000) / 10}% CI`;
    console.log(`Chinchilla fit  L(N, D) = E + A/N^α + B/D^β`);
    console.log(
      `${fit.n_points} points from ${file}${dropped.length ? ` (${dropped.length} highest-loss dropped)` : ""}; ` +
        `${fit.starts} L-BFGS starts (${fit.converged_starts} converged) in ${fitSeconds.toFixed(1)}s; Huber δ = ${fit.delta}`,
    );
    console.log("");
    const ci = boot?.ci;
    const heads = boot ? ["quantity", "estimate", `${pct} (${boot.samples} bootstrap resamples, seed ${boot.seed})`] : ["quantity", "estimate"];
    const row = (name: string, val: number, c?: [number, number]) => (boot ? [name, sig(val), fmtCi(c)] : [name, sig(val)]);
    console.log(table(heads, [
      row("E", fit.E, ci?.E),
      row("A", fit.A, ci?.A),
      row("B", fit.B, ci?.B),
      row("alpha", fit.alpha, ci?.alpha),
      row("beta", fit.beta, ci?.beta),
      row("N* ∝ C^a, a = β/(α+β)", nExp, ci?.n_exponent),
      row("D* ∝ C^b, b = α/(α+β)", dExp, ci?.d_exponent),
    ]));
    console.log(`Huber loss (sum) ${fmtNum(fit.huber_loss)}; RMS log-residual ${sig(fit.rmse_log, 3)}`);
    console.log("");
    console.log("Compute-optimal allocation (C ≈ 6ND; N* = G·(C/6)^a, D* = (C/6)^b / G, G = " + sig(allocationG(fit)) + ")");
    console.log(table(
      ["FLOPs C", "params N*", "tokens D*", "tokens/param", "predicted loss"],
      alloc.map((a) => [a.flops.toExponential(0).replace("e+", "e"), human(a.params), human(a.tokens), sig(a.tokens_per_param, 3), sig(a.loss, 4)]),
    ));
    if (iso) {
      console.log("");
      console.log(`IsoFLOP analysis (approach 2): ${iso.used_groups} of ${iso.groups.length} compute bins usable (bins ${binWidth ?? 0.1} decades wide)`);
      const used = iso.groups.filter((g) => g.n_opt !== null);
      if (used.length) {
        console.log(table(
          ["FLOPs C", "points", "N_opt", "D_opt", "loss at opt"],
          used.map((g) => [g.flops.toExponential(2).replace("e+", "e"), g.points, human(g.n_opt as number), human(g.d_opt as number), sig(g.loss_opt as number, 4)]),
        ));
      }
      const skipped = iso.groups.filter((g) => g.n_opt === null);
      if (skipped.length) {
        const few = skipped.filter((g) => g.skipped?.includes("(need")).length;
        const other = skipped.length - few;
        console.log(`skipped ${skipped.length} bins: ${few} with too few points or sizes${other ? `, ${other} without a minimum inside the sampled sizes` : ""} (--json lists each)`);
      }
      if (iso.n_opt && iso.d_opt) {
        console.log(`N_opt ∝ C^${sig(iso.n_opt.exponent, 3)}, D_opt ∝ C^${sig(iso.d_opt.exponent, 3)}  (parametric fit: a = ${sig(nExp, 3)}, b = ${sig(dExp, 3)})`);
      } else {
        console.log("too few usable bins for the power-law fit (need 2); try a larger --bin-width");
      }
    }
    if (plotFile !== undefined) console.log(`\nwrote ${plotFile}`);
    return 0;
  },
};
