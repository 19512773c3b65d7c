// An ablation's results: every branch's metrics (value and standard error), the difference of
// each metric to the control with the standard error of that difference, sqrt(se_b² + se_c²)
// (independent samples), marked significant when |Δ| exceeds two of them; the tokens each branch
// trained on per source and their shares. Written as DIR/results.json; also a plain-text table.
import * as path from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { readBranchEval, type BranchEval } from "./evaluate.js";
import type { AblationPlan, BranchJob } from "./plan.js";

export interface MetricDiff {
  diff: number;
  stderr: number;
  /** |diff| > 2·stderr. */
  significant: boolean;
  /** Whether the change is an improvement (higher-is-better metrics up, losses down). */
  better: boolean;
}

export interface BranchResult {
  name: string;
  control: boolean;
  source?: string;
  status: "done" | "pending";
  mixture: Record<string, number>;
  run_dir: string;
  metrics: Record<string, { value: number; stderr?: number; higher_is_better: boolean }>;
  tokens_per_source: Record<string, number>;
  /** tokens_per_source as shares of the branch's trained tokens. */
  token_shares: Record<string, number>;
  /** Metric − control's metric (absent on the control). */
  diff?: Record<string, MetricDiff>;
}

export interface AblationResults {
  format: "smollab-ablation";
  version: 1;
  name: string;
  kind: "anneal" | "scratch";
  control: string;
  parent?: AblationPlan["parent"];
  share?: number;
  /** Metric keys in table order (tasks first, then validation losses). */
  metric_keys: string[];
  branches: BranchResult[];
}

export const RESULTS_FILE = "results.json";

export function branchEvalFile(plan: AblationPlan, job: BranchJob): string {
  return path.join(plan.evalDir, `${job.id}.json`);
}

/** Difference of a branch's metric to the control's. */
export function diffTo(b: { value: number; stderr?: number }, c: { value: number; stderr?: number }, higherIsBetter: boolean): MetricDiff {
  const diff = b.value - c.value;
  const stderr = Math.sqrt((b.stderr ?? 0) ** 2 + (c.stderr ?? 0) ** 2);
  return { diff, stderr, significant: stderr > 0 ? Math.abs(diff) > 2 * stderr : diff !== 0, better: higherIsBetter ? diff > 0 : diff < 0 };
}

export function collectResults(plan: AblationPlan): AblationResults {
  const evals = new Map<string, BranchEval | undefined>(plan.jobs.map((j) => [j.id, readBranchEval(branchEvalFile(plan, j), j)]));
  const keys = new Set<string>();
  for (const e of evals.values()) if (e) for (const k of Object.keys(e.metrics)) keys.add(k);
  const metric_keys = [...keys].sort((a, b) => Number(a.startsWith("val/")) - Number(b.startsWith("val/")) || a.localeCompare(b));
  const ctl = evals.get(plan.control);
  const branches: BranchResult[] = plan.jobs.map((j) => {
    const e = evals.get(j.id);
    const tokens = e?.tokens_per_source ?? {};
    const total = Object.values(tokens).reduce((a, b) => a + b, 0);
    const r: BranchResult = {
      name: j.id, control: j.id === plan.control, ...(j.source ? { source: j.source } : {}), status: e ? "done" : "pending", mixture: j.mixture, run_dir: j.runDir,
      metrics: e?.metrics ?? {}, tokens_per_source: tokens, token_shares: Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, total ? v / total : 0])),
    };
    if (e && ctl && j.id !== plan.control) {
      r.diff = {};
      for (const k of metric_keys) if (e.metrics[k] && ctl.metrics[k]) r.diff[k] = diffTo(e.metrics[k], ctl.metrics[k], e.metrics[k].higher_is_better);
    }
    return r;
  });
  return {
    format: "smollab-ablation", version: 1, name: plan.name, kind: plan.kind, control: plan.control,
    ...(plan.parent ? { parent: plan.parent } : {}), ...(plan.spec.kind === "anneal" ? { share: plan.spec.share } : {}), metric_keys, branches,
  };
}

export function writeResults(plan: AblationPlan, r: AblationResults): string {
  const file = path.join(plan.outDir, RESULTS_FILE);
  writeJsonAtomic(file, r);
  return file;
}

function fmt(v: number, se?: number): string {
  const d = Math.abs(v) >= 100 ? 1 : 4;
  return se !== undefined ? `${v.toFixed(d)} ± ${se.toFixed(d)}` : v.toFixed(d);
}

/** Rows of the results table: metric, control, then each other branch as value ± se (Δ, * when > 2 SE). */
export function resultRows(r: AblationResults): { headers: string[]; rows: string[][] } {
  const ctl = r.branches.find((b) => b.control);
  const others = r.branches.filter((b) => !b.control);
  const headers = ["metric", `${ctl?.name ?? "control"} (control)`, ...others.map((b) => b.name)];
  const rows = r.metric_keys.map((k) => {
    const c = ctl?.metrics[k];
    return [
      k, c ? fmt(c.value, c.stderr) : "—",
      ...others.map((b) => {
        const m = b.metrics[k];
        if (!m) return b.status === "pending" ? "(pending)" : "—";
        const d = b.diff?.[k];
        return `${fmt(m.value, m.stderr)}${d ? ` (${d.diff >= 0 ? "+" : ""}${d.diff.toFixed(4)}${d.significant ? "*" : ""})` : ""}`;
      }),
    ];
  });
  return { headers, rows };
}
