// `smol longctx`: evaluate a context extension — passkey retrieval at several lengths and depths,
// and validation loss by token position — for one or more models side by side (e.g. before the
// extension, after it, and after the same training with an unchanged RoPE θ). Writes JSON, an SVG
// of the loss-by-position curves with the old context marked, and an HTML page.
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { bucketCurve, lossByPosition, passkeyEval, type PasskeyCell } from "../../eval/longctx.js";
import { runDataFor } from "../../eval/run.js";
import { shardValStreams } from "../../eval/perplexity.js";
import { writeFileAtomic, writeJsonAtomic } from "../../io/atomic.js";
import { loadModel } from "../../models/hf.js";
import { figure, htmlTable, page } from "../../report/html.js";
import { chart, type Series } from "../../report/svg.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { Progress, table } from "../output.js";

const help = `Usage: smol longctx --model NAME=DIR [--model NAME=DIR …] --lengths L1,L2,… [options]

Evaluates long-context ability of each model (an HF directory or a run checkpoint):
  passkey   a five-digit key hidden at a depth of repeated filler text (Mohtashami & Jaggi 2023),
            asked for at the end; accuracy of greedy decoding per length and depth, with stderr
  position  validation loss at each token position over windows of the longest length
            (after a good extension the curve keeps falling past the old context)
A model is evaluated beyond its own context by extending its RoPE tables with its own θ, so a model
trained at 256 tokens can be compared at 1024 with one extended to 1024.

Options:
  --model NAME=DIR     a model to evaluate (repeatable; NAME labels it in tables and plots)
  --lengths L,…        passkey prompt lengths in tokens (e.g. 256,512,1024)
  --depths D,…         key depths in [0, 1] (default 0,0.25,0.5,0.75,1)
  --trials N           keys per (length, depth) (default 10)
  --data DIR           shard directory for the loss by position (default: the first run's shards)
  --windows N          validation windows per source for the loss by position (default 8)
  --old-context N      mark this position in the plot (the context before the extension)
  --tokenizer DIR      default: each model's own tokenizer.json
  --out DIR            write longctx.json, loss-by-position.svg and report.html there

Example:
  smol longctx --model base=runs/demo/run/step-550 --model extended=runs/long/run/step-50 \\
    --lengths 256,512,1024 --old-context 256 --out runs/long/eval`;

export const command: Command = {
  name: "longctx",
  summary: "long-context evaluation: passkey retrieval by length/depth and loss by token position",
  help,
  async run(argv) {
    const cmd = "longctx";
    const { values } = parseCommandArgs(cmd, argv, {
      model: { type: "string", multiple: true }, lengths: { type: "string" }, depths: { type: "string" }, trials: { type: "string" }, data: { type: "string" },
      windows: { type: "string" }, "old-context": { type: "string" }, tokenizer: { type: "string" }, out: { type: "string" },
    });
    const models = ((values.model as string[] | undefined) ?? []).map((m) => {
      const i = m.indexOf("=");
      return i > 0 ? { name: m.slice(0, i), dir: m.slice(i + 1) } : { name: path.basename(m), dir: m };
    });
    if (!models.length) throw new UsageError(`${cmd}: give at least one --model NAME=DIR`);
    for (const m of models) if (!fs.existsSync(path.join(m.dir, "config.json"))) throw new UsageError(`${cmd}: ${m.dir} is not a model directory (no config.json)`);
    const list = (name: string, v: unknown, int: boolean, def?: number[]) => {
      if (v === undefined) {
        if (def) return def;
        throw new UsageError(`${cmd}: missing --${name}`);
      }
      return String(v).split(",").map((x) => numberOpt(cmd, name, x.trim(), int ? { int: true, min: 8 } : { min: 0, max: 1 })!);
    };
    const lengths = list("lengths", requireOpt(cmd, "lengths", values.lengths), true);
    const depths = list("depths", values.depths, false, [0, 0.25, 0.5, 0.75, 1]);
    const trials = numberOpt(cmd, "trials", values.trials, { int: true, min: 1 }) ?? 10;
    const windows = numberOpt(cmd, "windows", values.windows, { int: true, min: 1 }) ?? 8;
    const oldCtx = numberOpt(cmd, "old-context", values["old-context"], { int: true, min: 1 });
    const dataDir = (values.data as string | undefined) ?? runDataFor(models[0].dir)?.dataDir;
    const L = Math.max(...lengths);
    const streams = dataDir ? shardValStreams(dataDir, windows * L + 1).filter((s) => s.stream.length > L) : [];
    if (!streams.length) process.stderr.write(`smol: warning: no validation data of ${L + 1} tokens${dataDir ? ` in ${dataDir}` : ""}; loss by position skipped (give --data SHARDS)\n`);
    const be = cliBackend();
    const progress = new Progress();
    const out: Array<{ name: string; dir: string; rope_theta: number; context: number; passkey: PasskeyCell[]; loss_by_position?: number[] }> = [];
    for (const m of models) {
      const model = loadModel(m.dir, be, { withGrad: false });
      try {
        const tok = await loadTokenizer((values.tokenizer as string | undefined) ?? m.dir);
        const { ropeTheta, maxSeq } = model.config;
        const passkey = passkeyEval(model, tok, { lengths, depths, trials, onProgress: (d, n) => progress.update(`${m.name}: passkey ${d}/${n}`) });
        let curve: number[] | undefined;
        if (streams.length) {
          const sum = new Float64Array(L);
          for (const s of streams) {
            progress.update(`${m.name}: loss by position (${s.source})`, true);
            const r = lossByPosition(model, s.stream, L, windows);
            for (let i = 0; i < L; i++) sum[i] += r.loss[i] / streams.length;
          }
          curve = [...sum];
        }
        out.push({ name: m.name, dir: m.dir, rope_theta: ropeTheta, context: maxSeq, passkey, ...(curve ? { loss_by_position: curve } : {}) });
      } finally {
        model.dispose();
      }
    }
    progress.done();
    console.log("passkey accuracy (mean over depths; ± stderr over all trials at that length):");
    console.log(table(["model", "θ", "context", ...lengths.map((l) => `${l} tok`)], out.map((o) => [o.name, o.rope_theta, o.context, ...lengths.map((l) => {
      const cells = o.passkey.filter((c) => c.length === l);
      const hits = cells.reduce((a, c) => a + c.accuracy * c.trials, 0);
      const n = cells.reduce((a, c) => a + c.trials, 0);
      const p = hits / n;
      return `${p.toFixed(2)} ± ${Math.sqrt((p * (1 - p)) / Math.max(1, n - 1)).toFixed(2)}`;
    })])));
    const width = Math.max(1, Math.floor(L / 16));
    if (out.some((o) => o.loss_by_position)) {
      const marks = [...new Set([width, oldCtx ?? 0, Math.floor(L / 2), L - width].filter((x) => x > 0 && x < L))].sort((a, b) => a - b);
      console.log(`\nvalidation loss by position (mean over ${width}-token buckets starting at):`);
      console.log(table(["model", ...marks.map(String)], out.filter((o) => o.loss_by_position).map((o) => {
        const b = bucketCurve(o.loss_by_position!, width);
        return [o.name, ...marks.map((p) => b[Math.min(b.length - 1, Math.floor(p / width))][1].toFixed(3))];
      })));
    }
    if (values.out !== undefined) {
      const dir = values.out as string;
      fs.mkdirSync(dir, { recursive: true });
      writeJsonAtomic(path.join(dir, "longctx.json"), { format: "smollab-longctx", version: 1, lengths, depths, trials, old_context: oldCtx ?? null, models: out });
      const series: Series[] = out.filter((o) => o.loss_by_position).map((o) => {
        const b = bucketCurve(o.loss_by_position!, width);
        return { name: `${o.name} (θ ${o.rope_theta})`, x: b.map(([s]) => s + width / 2), y: b.map(([, v]) => v), mode: "line+markers" as const };
      });
      const svg = series.length ? chart(series, { title: "Validation loss by token position", xLabel: "position in the window", yLabel: "loss (nats/token)", refLines: oldCtx ? [{ axis: "x", value: oldCtx, label: "old context" }] : [], id: "lbp" }) : "";
      if (svg) writeFileAtomic(path.join(dir, "loss-by-position.svg"), svg);
      const rows = out.flatMap((o) => o.passkey.map((c) => [o.name, c.length, c.depth, c.accuracy, c.stderr, c.trials]));
      writeFileAtomic(path.join(dir, "report.html"), page("long-context evaluation", `<h1>Long-context evaluation</h1>${svg ? figure(svg, "mean validation loss per position bucket; the dashed line is the old context") : ""}<h2>Passkey retrieval</h2>${htmlTable(["model", "length", "depth", "accuracy", "stderr", "trials"], rows)}`));
      console.log(`\nwrote ${path.join(dir, "longctx.json")}, ${svg ? "loss-by-position.svg, " : ""}report.html`);
    }
    return 0;
  },
};
