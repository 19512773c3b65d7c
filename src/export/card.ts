// The model card (README.md) of a Hub-ready export: YAML front matter with the Hub metadata keys
// (license, base_model, datasets, tags, library_name, pipeline_tag) and a body with the
// architecture and a training summary rendered from the run directory (export/run-summary.ts).
import { stringify } from "yaml";
import { parameterCount, type LlamaConfig } from "../models/config.js";
import type { RunSummary } from "./run-summary.js";

export interface CardOptions {
  name: string;
  license: string;
  baseModel?: string;
  datasets: string[];
  tags: string[];
  dtype: string;
  config: LlamaConfig;
  run?: RunSummary;
  hasChatTemplate: boolean;
}

const fmtInt = (n: number) => n.toLocaleString("en-US");
const fmtTokens = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n));
const fmtNum = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString()) : typeof v === "string" ? v : JSON.stringify(v));

/** The full README.md text. */
export function modelCard(o: CardOptions): string {
  const front: Record<string, unknown> = { license: o.license, library_name: "transformers", pipeline_tag: "text-generation" };
  if (o.baseModel) front.base_model = o.baseModel;
  if (o.datasets.length) front.datasets = o.datasets;
  front.tags = [...new Set(["smollab", "llama", "text-generation", ...o.tags])];
  const c = o.config;
  const lines: string[] = ["---", stringify(front).trimEnd(), "---", "", `# ${o.name}`, ""];
  lines.push(
    `A ${fmtInt(parameterCount(c))}-parameter Llama-architecture language model (SmolLM2 family layout)` +
      `${o.run ? ", trained with [SmolLab](https://www.npmjs.com/package/smollab)" : ""}; weights stored in ${o.dtype}.`,
    "",
    "## Architecture",
    "",
    "| | |",
    "|---|---|",
    `| layers | ${c.layers} |`,
    `| hidden size | ${c.d} |`,
    `| MLP size (SwiGLU) | ${c.ffn} |`,
    `| attention heads / KV heads | ${c.heads} / ${c.kvHeads} (head size ${c.headDim}) |`,
    `| vocabulary | ${fmtInt(c.vocab)} |`,
    `| context | ${c.maxSeq} tokens (RoPE θ = ${c.ropeTheta}) |`,
    `| tied embeddings | ${c.tied ? "yes" : "no"} |`,
    "",
  );
  const r = o.run;
  if (r) {
    lines.push("## Training", "");
    const what = [`Run \`${r.name ?? r.runDir}\``];
    if (r.step !== undefined) what.push(`step ${fmtInt(r.step)}`);
    if (r.tokens !== undefined) what.push(`${fmtTokens(r.tokens)} tokens (${fmtInt(r.tokens)})`);
    lines.push(what.join(", ") + ".");
    if (r.parent?.run_dir) lines.push("", `Cooldown branch of \`${r.parent.run_dir}\` at step ${r.parent.step ?? "?"}.`);
    if (r.initFrom) lines.push("", `Initialised from \`${r.initFrom}\`.`);
    if (r.stages.length) {
      const sources = [...new Set(r.stages.flatMap((s) => Object.keys(s.mixture ?? {})))];
      lines.push("", "### Stages and data mixtures (share of tokens)", "", `| stage | tokens | ${sources.join(" | ")} |`, `|---|---|${sources.map(() => "---|").join("")}`);
      for (const s of r.stages) {
        const total = Object.values(s.mixture ?? {}).reduce((a, b) => a + b, 0) || 1;
        lines.push(`| ${s.name} | ${s.tokens !== undefined ? fmtTokens(s.tokens) : "?"} | ${sources.map((k) => (s.mixture?.[k] !== undefined ? `${((100 * s.mixture[k]) / total).toFixed(0)}%` : "–")).join(" | ")} |`);
      }
    }
    if (r.tokensBySource && Object.keys(r.tokensBySource).length) {
      lines.push("", "Tokens seen per source: " + Object.entries(r.tokensBySource).map(([k, v]) => `${k} ${fmtTokens(v)}`).join(", ") + ".");
    }
    if (r.schedule) lines.push("", "### Schedule", "", "Learning rate schedule: " + Object.entries(r.schedule).map(([k, v]) => `${k} = ${fmtNum(v)}`).join(", ") + ".");
    if (r.optimizer) lines.push("", "Optimizer (AdamW): " + Object.entries(r.optimizer).map(([k, v]) => `${k} = ${fmtNum(v)}`).join(", ") + ".");
    if (r.batch) lines.push("", "Batch: " + Object.entries(r.batch).map(([k, v]) => `${k} = ${fmtNum(v)}`).join(", ") + ".");
    if (r.lastTrain?.loss !== undefined) lines.push("", `Final training loss ${r.lastTrain.loss.toFixed(4)} at step ${r.lastTrain.step}${r.lastTrain.lr !== undefined ? ` (learning rate ${fmtNum(r.lastTrain.lr)})` : ""}.`);
    if (r.lastEval) {
      lines.push("", `### Final evaluations (step ${r.lastEval.step})`, "", "| metric | value |", "|---|---|");
      for (const [k, v] of Object.entries(r.lastEval.valLoss ?? {})) lines.push(`| validation loss: ${k} | ${v.toFixed(4)} |`);
      for (const [k, v] of Object.entries(r.lastEval.extra)) lines.push(`| ${k} | ${v.toFixed(4)} |`);
    }
    lines.push("");
  }
  lines.push(
    "## Use",
    "",
    "```python",
    "from transformers import AutoModelForCausalLM, AutoTokenizer",
    `tok = AutoTokenizer.from_pretrained("${o.name}")`,
    `model = AutoModelForCausalLM.from_pretrained("${o.name}")`,
    `out = model.generate(**tok("Once upon a time", return_tensors="pt"), max_new_tokens=40)`,
    "print(tok.decode(out[0]))",
    "```",
    "",
    o.hasChatTemplate ? "The tokenizer carries a chat template (`chat_template.jinja`, also in `tokenizer_config.json`)." : "",
    "",
  );
  return lines.join("\n");
}
