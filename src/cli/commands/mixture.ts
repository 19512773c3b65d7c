// `smol mixture suggest`: propose the next stage's mixture from runs with different mixtures
// (regression + constrained optimisation, mixture/suggest.ts); `smol mixture proxies`: launch
// RegMix-style proxy runs on random mixtures (a scratch ablation through `smol ablate`'s queue).
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError, UsageError } from "../../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../../io/atomic.js";
import { planAblation } from "../../ablate/plan.js";
import { parseAblation } from "../../ablate/spec.js";
import { availableTokens, fromAblation, fromRuns, usedTokens } from "../../mixture/observe.js";
import { randomMixtures } from "../../mixture/proxies.js";
import { epochBounds, parseTarget, roundMixture, suggestMixture, type Suggestion } from "../../mixture/suggest.js";
import type { RegressionKind } from "../../mixture/regress.js";
import { readConfigFile, resolveTrainConfig } from "../../train/config.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { table } from "../output.js";
import { runAblation } from "./ablate.js";

const help = `Usage: smol mixture suggest (--ablation DIR | --runs RUN …) --target T --tokens N [options]
       smol mixture proxies --base CONFIG --count N --out DIR [--seed S] [--alpha A] [--jobs N]

suggest: fits a regression from mixture weights to a target over runs that differ in their mixture
(the branches of \`smol ablate\`, or proxy runs), checks it by leave-one-out rank correlation, and
proposes the weights that optimise the predicted target with every source under --max-epochs passes
over its available tokens (counting what earlier stages used). Prints the proposed and current
mixtures with their predicted targets; --write adds the proposal as the next stage of a config.

  --model law     the data-mixing law of Ye et al. (2024): y = c + k·exp(Σ t_j r_j) (default)
  --model linear  RegMix's linear regression (Liu et al. 2024): y = Σ w_j r_j
  A target Σ λ_i · loss_i fits one law per source loss, as Ye et al. do. See docs/mixture.md for
  the assumptions.

Options (suggest):
  --ablation DIR        an ablation's --out directory (its results.json); repeatable
  --runs RUN            a run directory (repeatable): its last stage's mixture, its final evaluation
  --target T            a metric key (arc_easy/acc, val/math/loss) or loss:web=0.5,code=0.3,math=0.2
                        (weighted per-source validation losses); losses are minimised, other metrics
                        maximised unless --maximize / --minimize says otherwise
  --tokens N            tokens of the next stage (required: the epoch caps depend on it)
  --max-epochs E        at most E passes over any source's train tokens (default 4)
  --data DIR            shard directory for the available tokens (default: the runs')
  --used-from CKPT      a checkpoint whose tokens per source count as already used (default: the
                        ablation's branch point; none for --runs)
  --min-share X         every source gets at least X (default 0)
  --model law|linear    the regression (default law)
  --config FILE --write OUT   write FILE with the proposal appended as a stage (--stage-name NAME)
  --json FILE           also write the suggestion as JSON

Options (proxies):
  --base CONFIG   training config of one proxy run (every stage's mixture is replaced)
  --count N       proxy runs; --seed S (default 0) and --alpha A (default 1) for the Dirichlet draws
  --sources a,b   the sources to mix (default: those of the base config's stages)
  --out DIR       where the runs live; then: smol mixture suggest --ablation DIR …
  --jobs N        runs at once

Examples:
  smol mixture suggest --ablation runs/ablation --target loss:web=0.4,code=0.3,math=0.3 --tokens 409600
  smol mixture proxies --base examples/ablation/proxy.yaml --count 12 --out runs/proxies --jobs 2`;

export const command: Command = {
  name: "mixture",
  summary: "mixture refinement: suggest the next stage's weights from ablations/proxy runs; launch proxies",
  help,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === "suggest") return suggest(rest);
    if (sub === "proxies") return proxies(rest);
    if (sub === "--help" || sub === "-h") {
      console.log(help);
      return 0;
    }
    throw new UsageError(`mixture: unknown subcommand ${sub === undefined ? "(none)" : `"${sub}"`}`, "use `smol mixture suggest` or `smol mixture proxies` (see --help)");
  },
};

const fmt = (m: Record<string, number>, sources: string[]) => sources.map((s) => `${s} ${(m[s] ?? 0).toFixed(3)}`).join(", ");

/** Several ablations as one set of observations (the first one's control, data and branch point). */
function mergeSets(sets: ReturnType<typeof fromAblation>[]): ReturnType<typeof fromAblation> {
  const names = new Set<string>();
  for (const s of sets) for (const o of s.observations) {
    if (names.has(o.name)) throw new UsageError(`mixture suggest: two ablations have a branch named "${o.name}"; give the branches distinct names`);
    names.add(o.name);
  }
  return { ...sets[0], observations: sets.flatMap((s) => s.observations) };
}

async function suggest(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs("mixture suggest", argv, {
    ablation: { type: "string", multiple: true }, runs: { type: "string", multiple: true }, target: { type: "string" }, tokens: { type: "string" }, "max-epochs": { type: "string" },
    data: { type: "string" }, "used-from": { type: "string" }, "min-share": { type: "string" }, model: { type: "string" }, config: { type: "string" }, write: { type: "string" },
    "stage-name": { type: "string" }, json: { type: "string" }, maximize: { type: "boolean" }, minimize: { type: "boolean" },
  });
  const cmd = "mixture suggest";
  if ((values.ablation === undefined) === (values.runs === undefined)) throw new UsageError(`${cmd}: give --ablation DIR or --runs RUN (repeatable)`);
  const target = parseTarget(requireOpt(cmd, "target", values.target), values.maximize ? true : values.minimize ? false : undefined);
  const tokens = numberOpt(cmd, "tokens", values.tokens, { int: true, min: 1 });
  if (tokens === undefined) throw new UsageError(`${cmd}: missing --tokens N (the next stage's tokens; the epoch caps depend on it)`);
  const maxEpochs = numberOpt(cmd, "max-epochs", values["max-epochs"], { min: 0 }) ?? 4;
  const minShare = numberOpt(cmd, "min-share", values["min-share"], { min: 0, max: 1 }) ?? 0;
  const kind = (values.model ?? "law") as RegressionKind;
  if (kind !== "law" && kind !== "linear") throw new UsageError(`${cmd}: --model must be law or linear, got "${String(values.model)}"`);
  if ((values.config === undefined) !== (values.write === undefined)) throw new UsageError(`${cmd}: --config FILE and --write OUT go together`);
  const set = values.ablation !== undefined ? mergeSets((values.ablation as string[]).map(fromAblation)) : fromRuns(values.runs as string[]);
  const dataDir = (values.data as string | undefined) ?? set.dataDir;
  if (!dataDir) throw new UsageError(`${cmd}: the runs' shard directory is unknown; give --data DIR`);
  const available = availableTokens(dataDir);
  const used = usedTokens((values["used-from"] as string | undefined) ?? set.usedFrom);
  const sources = [...new Set(set.observations.flatMap((o) => Object.keys(o.mixture)))].sort();
  const baseCfg = values.config !== undefined ? readConfigFile(values.config as string) : undefined;
  let current = set.current;
  if (baseCfg) {
    const stages = (baseCfg.data as { stages?: Array<{ mixture?: Record<string, number> }> } | undefined)?.stages;
    current = stages?.[stages.length - 1]?.mixture ?? current;
  }
  const bounds = epochBounds(sources, tokens, available, used, maxEpochs, minShare);
  const s = suggestMixture(set.observations, { target, kind, bounds, sources, current });
  printSuggestion(s, tokens, maxEpochs, available, used);
  if (values.json !== undefined) writeJsonAtomic(values.json as string, s);
  if (baseCfg) {
    const tree = structuredClone(baseCfg) as { data: { stages: Array<Record<string, unknown>> } };
    const name = (values["stage-name"] as string | undefined) ?? `stage${tree.data.stages.length + 1}`;
    tree.data.stages.push({ name, tokens, mixture: roundMixture(s.proposed.mixture) });
    resolveTrainConfig(tree as unknown as Record<string, unknown>, { file: values.write as string }); // the written config must be valid
    writeFileAtomic(values.write as string, `# ${values.config} with stage "${name}" proposed by smol mixture suggest (${kind}, target ${target.label})\n${YAML.stringify(tree)}`);
    console.log(`wrote ${values.write} (stage "${name}": ${tokens} tokens)`);
  }
  return 0;
}

function printSuggestion(s: Suggestion, tokens: number, maxEpochs: number, available: Record<string, number>, used: Record<string, number>): void {
  const dir = s.target.maximize ? "maximise" : "minimise";
  console.log(`${s.heldOut.length} runs, ${s.kind} regression, target ${s.target.label} (${dir})`);
  console.log(`held-out (leave-one-out) rank correlation: ${Number.isNaN(s.rankCorrelation) ? "undefined (constant)" : s.rankCorrelation.toFixed(3)}`);
  console.log(table(["run", "observed", "predicted (held out)"], s.heldOut.map((h) => [h.name, Number(h.observed.toFixed(4)), Number(h.predicted.toFixed(4))])));
  const rows: Array<Array<string | number>> = [];
  if (s.current) rows.push(["current", fmt(s.current.mixture, s.sources), Number(s.current.predicted.toFixed(4))]);
  rows.push(["proposed", fmt(s.proposed.mixture, s.sources), Number(s.proposed.predicted.toFixed(4))]);
  rows.push([`best run (${s.bestObserved.name})`, "", Number(s.bestObserved.value.toFixed(4))]);
  console.log(`\n${table(["mixture", "weights", "predicted target"], rows)}`);
  console.log(`\nepoch caps for a stage of ${tokens} tokens (max ${maxEpochs} epochs):`);
  console.log(table(["source", "available", "used", "max share", "proposed epochs after"], s.sources.map((src, i) => [
    src, available[src], used[src] ?? 0, Number(s.bounds.hi[i].toFixed(4)), Number((((used[src] ?? 0) + s.proposed.mixture[src] * tokens) / available[src]).toFixed(2)),
  ])));
}

async function proxies(argv: string[]): Promise<number> {
  const cmd = "mixture proxies";
  const { values } = parseCommandArgs(cmd, argv, { base: { type: "string" }, count: { type: "string" }, seed: { type: "string" }, alpha: { type: "string" }, sources: { type: "string" }, out: { type: "string" }, jobs: { type: "string" } });
  const base = requireOpt(cmd, "base", values.base);
  const out = requireOpt(cmd, "out", values.out);
  const count = numberOpt(cmd, "count", values.count, { int: true, min: 3, max: 1000 });
  if (count === undefined) throw new UsageError(`${cmd}: missing --count N (at least 3 runs)`);
  const seed = numberOpt(cmd, "seed", values.seed, { int: true, min: 0 }) ?? 0;
  const alpha = numberOpt(cmd, "alpha", values.alpha, { min: 0.01 }) ?? 1;
  const jobs = numberOpt(cmd, "jobs", values.jobs, { int: true, min: 1, max: 64 }) ?? 1;
  const tree = readConfigFile(base);
  const stages = (tree.data as { stages?: Array<{ mixture?: Record<string, number> }> } | undefined)?.stages ?? [];
  const sources = values.sources !== undefined ? (values.sources as string).split(",").map((x) => x.trim()).filter(Boolean) : [...new Set(stages.flatMap((s) => Object.keys(s.mixture ?? {})))].sort();
  if (sources.length < 2) throw new ConfigError(`${cmd}: need at least 2 sources to mix, got ${sources.join(", ") || "none"}`, [], "give --sources a,b,c");
  const candidates = Object.fromEntries(randomMixtures(sources, count, seed, alpha).map((m, i) => [`proxy-${String(i).padStart(3, "0")}`, m]));
  const spec = parseAblation({ kind: "scratch", name: path.basename(path.resolve(out)), base: path.resolve(base), candidates });
  fs.mkdirSync(out, { recursive: true });
  writeJsonAtomic(path.join(out, "proxies.json"), { ...spec, sources, seed, alpha });
  const plan = planAblation(spec, { outDir: out });
  console.log(`${count} proxy runs on Dirichlet(${alpha}) mixtures of ${sources.join(", ")} (seed ${seed}) → ${out}`);
  const code = await runAblation(plan, jobs);
  if (code === 0) console.log(`next: smol mixture suggest --ablation ${out} --target … --tokens …`);
  return code;
}
