// `smol report` on a real run (the demo fixture): the dashboard's panels as SVG files (loss with
// its EMA, validation per source, LR, gradient norm, throughput, tokens per source), the
// evaluation table with every eval record and the resolved configuration, in one HTML page.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { packageRoot } from "../../src/util/paths.js";
import { readSamples, writeSamples } from "../../src/report/samples.js";
import { runSmol } from "../helpers.js";

const FIXTURE = path.join(packageRoot(), "test/fixtures/dashboard/demo");

describe("report: run page", () => {
  it("has the dashboard's panels, the evaluations and the configuration", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-report-"));
    try {
      for (const f of ["metrics.jsonl", "config.resolved.json", "samples.jsonl"]) fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
      const r = await runSmol(["report", dir, "--out", path.join(dir, "out")]);
      assert.equal(r.code, 0, r.stderr);
      const files = fs.readdirSync(path.join(dir, "out")).sort();
      assert.deepEqual(files, ["grad_norm.svg", "index.html", "loss.svg", "lr.svg", "throughput.svg", "tokens.svg", "val.svg"]);
      const html = fs.readFileSync(path.join(dir, "out", "index.html"), "utf8");
      const recs = fs.readFileSync(path.join(FIXTURE, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const evals = recs.filter((x) => x.type === "eval");
      const table = html.slice(html.indexOf("Evaluations"));
      const body = table.slice(table.indexOf("<tbody>"), table.indexOf("</tbody>"));
      assert.equal((body.match(/<tr>/g) ?? []).length, evals.length, "one row per eval record");
      assert.match(html, /Resolved configuration/);
      assert.match(html, /Samples \(samples\.jsonl\).*Question: Tom has 3 apples/s);
      assert.match(html, /optimizer\.lr/);
      assert.match(html, /bias-corrected EMA/);
      assert.equal((html.match(/<svg/g) ?? []).length, 6);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("report: samples.jsonl", () => {
  it("adds samples, replacing those of the same step, in step order", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-samples-"));
    try {
      writeSamples(dir, [{ step: 20, prompt: "a", completion: "x" }, { step: 10, prompt: "b", completion: "y" }]);
      writeSamples(dir, [{ step: 20, prompt: "a", completion: "z" }]);
      assert.deepEqual(readSamples(dir).map((s) => [s.step, s.completion]), [[10, "y"], [20, "z"]]);
      fs.appendFileSync(path.join(dir, "samples.jsonl"), "{torn\n");
      assert.equal(readSamples(dir).length, 2, "a damaged line is skipped");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
