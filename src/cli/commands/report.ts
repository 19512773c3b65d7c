// `smol report DIR`: figures and one self-contained HTML page for a run directory (loss, validation
// and LR curves) or a sweep directory (everything `smol sweep` measured, with the fitted law).
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError, UsageError } from "../../errors.js";
import { METRICS_FILE } from "../../io/run-layout.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { writeRunReport } from "../../report/run.js";
import { writeSweepReport } from "../../report/sweep.js";
import { parseCommandArgs, type Command } from "../command.js";

export const command: Command = {
  name: "report",
  summary: "HTML + SVG report of a run or a sweep directory (curves, cooldown vs cosine, fitted law)",
  help: `Usage: smol report DIR [--out OUT] [--grid full|coarse]

DIR is a run directory (metrics.jsonl, from \`smol train\` or \`smol cooldown\`) or a sweep directory
(results.json, from \`smol sweep\`). Writes one SVG per figure and OUT/index.html, a single page with
every figure inlined, so it can be opened or shared on its own.

Run: training loss with stage boundaries, validation loss per source (raw, SWA, EMA), learning rate.
Sweep: loss and LR curves per size; cooldown branches against cosine at each budget; SWA against raw
weights; loss against compute with its envelope (lower hull); the Chinchilla law fitted to the
cooldown points (and to the cosine points) when there are at least 6, with the compute-optimal
frontier; the FLOPs of reusable runs against the cosine grid; the paper's findings with numbers.

Options:
  --out OUT        where the files go (default DIR/report); for a sweep, results.json and the
                   points*.csv files are copied there too when OUT is outside DIR
  --grid G         full | coarse: starting grid of the law's fit (default full, 4,500 starts, a few
                   seconds; coarse: 243)

Examples:
  smol report runs/demo/run
  smol report runs/micro-study/sweep --out docs/micro-study`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("report", argv, { out: { type: "string" }, grid: { type: "string" } }, true);
    if (positionals.length !== 1) throw new UsageError("report: give exactly one run or sweep directory", "e.g. smol report runs/demo/run");
    const dir = positionals[0];
    const grid = (values.grid as string | undefined) ?? "full";
    if (grid !== "full" && grid !== "coarse") throw new UsageError(`report: --grid must be full or coarse, got "${grid}"`);
    const out = values.out as string | undefined;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DataError(`report: ${dir} is not a directory`, "pass a run directory (runs/<name>) or a sweep directory");
    if (fs.existsSync(path.join(dir, "results.json"))) {
      const t0 = performance.now();
      const r = writeSweepReport(dir, { outDir: out, grid });
      const copied: string[] = [];
      if (out !== undefined && path.relative(path.resolve(dir), path.resolve(out)).startsWith("..")) {
        for (const f of fs.readdirSync(dir).filter((n) => n === "results.json" || /^points(-[\w-]+)?\.csv$/.test(n))) {
          writeFileAtomic(path.join(out, f), fs.readFileSync(path.join(dir, f)));
          copied.push(f);
        }
      }
      for (const f of r.fits) console.log(`fit (${f.method}): ${f.message}`);
      for (const f of r.findings) console.log(`${f.verdict}: ${f.claim}\n  ${f.detail}`);
      console.log(`wrote ${r.files.length} files in ${((performance.now() - t0) / 1000).toFixed(1)}s: ${r.files[r.files.length - 1]}${copied.length ? ` (+ ${copied.join(", ")})` : ""}`);
      return 0;
    }
    if (fs.existsSync(path.join(dir, METRICS_FILE))) {
      const files = writeRunReport(dir, out);
      console.log(`wrote ${files.join(", ")}`);
      return 0;
    }
    throw new DataError(`report: ${dir} has neither results.json (a sweep) nor metrics.jsonl (a run)`, "pass the directory `smol sweep --out` or `smol train --run-dir` wrote");
  },
};
