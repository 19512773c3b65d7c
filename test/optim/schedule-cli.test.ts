// `smol schedule` end to end through the real entry point: the --json contract, the table, the
// SVG plot written to disk, and one-line errors with exit codes (no stack traces).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../src/util/paths.js";
import { smolSync } from "../helpers.js";

const smol = (args: string[]) => smolSync(args, packageRoot());

describe("smol schedule", () => {
  it("the contract: --json prints the 1000 learning rates", () => {
    const r = smol(["schedule", "--kind", "wsd", "--steps", "1000", "--lr", "0.001", "--warmup", "100", "--decay-fraction", "0.2", "--shape", "1-sqrt", "--json"]);
    assert.equal(r.code, 0, r.err);
    const lrs = JSON.parse(r.out) as number[];
    assert.equal(lrs.length, 1000);
    assert.equal(lrs[0], 1e-5);
    assert.equal(lrs[99], 0.001);
    assert.equal(lrs[800], 0.001);
    assert.ok(Math.abs(lrs[801] - 0.001 * (1 - Math.sqrt(1 / 200))) < 1e-18);
    assert.ok(lrs[999] > 0 && lrs[999] < 3e-6);
  });
  it("table with phase boundaries and a sparkline; --plot writes an SVG", () => {
    const dir = mkdtempSync(join(tmpdir(), "smol-schedule-"));
    try {
      const file = join(dir, "lr.svg");
      const r = smol(["schedule", "--steps", "1000", "--lr", "3e-3", "--warmup", "50", "--compare", "linear,cosine", "--plot", file]);
      assert.equal(r.code, 0, r.err);
      for (const s of ["first cooldown step", "last warmup step", "wsd 1-sqrt", "wsd linear", "wsd cosine", "▁", "█"]) assert.ok(r.out.includes(s), `missing "${s}" in\n${r.out}`);
      assert.ok(existsSync(file));
      const svg = readFileSync(file, "utf8");
      assert.ok(svg.includes("<svg") && svg.trimEnd().endsWith("</svg>"));
      assert.deepEqual(readdirSync(dir), ["lr.svg"], "no temporary files left behind");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("bad input: one clear line naming the flag, exit 1 or 2, no stack trace", () => {
    const a = smol(["schedule", "--steps", "100", "--lr", "1e-3", "--kind", "cosine", "--decay-fraction", "0.3"]);
    assert.equal(a.code, 1);
    assert.match(a.err, /--decay-fraction: only applies to kind wsd/);
    const b = smol(["schedule", "--lr", "1e-3"]);
    assert.equal(b.code, 2);
    assert.match(b.err, /^smol: error: schedule: missing --steps/);
    const c = smol(["schedule", "--steps", "100", "--lr", "1e-3", "--shape", "sqrt"]);
    assert.equal(c.code, 2);
    assert.match(c.err, /--shape must be one of linear, 1-sqrt/);
    for (const x of [a, b, c]) assert.ok(!/\n\s+at /.test(x.err), `stack trace in: ${x.err}`);
  });
});
