// Incremental metrics reading: columns equal to a full read of the file at every point, torn
// last lines held back until complete, dropped columns rebuilt from the file (while tailing goes
// on), and a replaced or shortened file reported as a reset.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { flattenNumeric, MetricsTail } from "../../src/dashboard/tail.js";
import { readMetrics } from "../../src/train/metrics.js";
import { FIXTURE } from "./fixture.js";

const lines = fs.readFileSync(path.join(FIXTURE, "metrics.jsonl"), "utf8").split("\n").filter(Boolean);

/** Columns as the reference reader (train/metrics.ts readMetrics) sees the file. */
function expected(file: string): Record<string, Array<number | null>> {
  const train = readMetrics(file).filter((r) => r.type === "train").map((r) => flattenNumeric(r));
  const keys = [...new Set(train.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, train.map((r) => (k in r ? r[k] : NaN))]));
}

describe("dashboard: metrics tail", () => {
  it("matches a full read after every append, including half-written lines", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-tail-"));
    try {
      const file = path.join(dir, "metrics.jsonl");
      fs.writeFileSync(file, "");
      const t = new MetricsTail(file);
      for (let i = 0; i < lines.length; i += 7) {
        const chunk = lines.slice(i, i + 7).join("\n") + "\n";
        fs.appendFileSync(file, chunk.slice(0, 25)); // a torn line first
        t.poll();
        fs.appendFileSync(file, chunk.slice(25));
        t.poll();
        assert.deepEqual((await t.snapshot()).columns, expected(file), `after ${i + 7} lines`);
      }
      assert.equal(t.evals.length, readMetrics(file).filter((r) => r.type !== "train").length);
      // Dropped columns come back from the file; lines appended meanwhile are counted.
      t.dropColumns();
      assert.equal(t.bytes(), 0);
      fs.appendFileSync(file, lines[0] + "\n");
      t.poll();
      assert.deepEqual((await t.snapshot()).columns, expected(file));
      // A sketch: thinned history, later records in full; asking for more points re-reads the file.
      t.dropColumns(5);
      assert.ok(t.bytes() > 0);
      fs.appendFileSync(file, lines[1] + "\n");
      t.poll();
      const sk = await t.snapshot(5);
      assert.ok(sk.columns.step.length <= 7, `sketch rows ${sk.columns.step.length}`);
      assert.equal(sk.columns.step.at(-1), expected(file).step.at(-1), "the newest record is in the sketch");
      assert.equal(sk.count, expected(file).step.length);
      assert.deepEqual((await t.snapshot()).columns, expected(file), "full resolution comes back from the file");
      // Thinning keeps the first and last points.
      const s = await t.snapshot(5);
      assert.equal(s.columns.step[0], expected(file).step[0]);
      assert.equal(s.columns.step.at(-1), expected(file).step.at(-1));
      assert.ok(s.columns.step.length <= 6);
      // A shorter file with a new inode: reset, then the new contents.
      fs.writeFileSync(file + ".new", lines.slice(0, 4).join("\n") + "\n");
      fs.renameSync(file + ".new", file);
      assert.equal(t.poll().reset, true);
      assert.deepEqual((await t.snapshot()).columns, expected(file));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
