// `smol fit` end to end through the real entry point: --json keys, the table, the plot, and
// CSV errors reported as one line with the file and line number.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../src/util/paths.js";
import { smolSync } from "../helpers.js";
import { predictLoss } from "../../src/scaling/fit.js";

const smol = (args: string[]) => smolSync(args, packageRoot());

describe("smol fit", () => {
  const dir = mkdtempSync(join(tmpdir(), "smol-fit-"));
  const TRUE = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };
  const rows = ["params,tokens,loss"];
  for (const N of [1e7, 3e7, 1e8, 3e8, 1e9]) for (const D of [1e8, 1e9, 1e10, 1e11]) rows.push(`${N},${D},${predictLoss(TRUE, N, D)}`);
  const csv = join(dir, "points.csv");
  writeFileSync(csv, rows.join("\n") + "\n");

  it("--json has the contract keys and recovers the law", () => {
    const r = smol(["fit", "--points", csv, "--grid", "coarse", "--bootstrap", "10", "--seed", "3", "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const k of ["E", "A", "B", "alpha", "beta", "huber_loss", "n_points", "compute_optimal", "bootstrap"]) assert.ok(k in j, `missing ${k}`);
    assert.equal(j.n_points, 20);
    assert.ok(Math.abs(j.alpha - 0.34) < 1e-3 && Math.abs(j.beta - 0.28) < 1e-3, `${j.alpha} ${j.beta}`);
    assert.equal(j.compute_optimal.length, 7);
    assert.equal(j.bootstrap.samples, 10);
  });
  it("table, allocation, isoflop section and plot", () => {
    const svgFile = join(dir, "fit.svg");
    const r = smol(["fit", "--points", csv, "--grid", "coarse", "--bootstrap", "0", "--budgets", "1e20,1e22", "--isoflop", "--plot", svgFile]);
    assert.equal(r.code, 0, r.err);
    for (const s of ["alpha", "Compute-optimal allocation", "1e20", "1e22", "IsoFLOP analysis", `wrote ${svgFile}`]) assert.ok(r.out.includes(s), `missing "${s}" in\n${r.out}`);
    assert.ok(readFileSync(svgFile, "utf8").includes("compute-optimal frontier"));
  });
  it("CSV errors name the file and line; usage errors exit 2", () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, rows.slice(0, 4).join("\n") + "\n1e8,oops,3\n" + rows.slice(4).join("\n"));
    const r = smol(["fit", "--points", bad]);
    assert.equal(r.code, 1);
    assert.equal(r.err.split("\n")[0], `smol: error: ${bad}:5: column "tokens" is not a finite number: "oops"`);
    const u = smol(["fit"]);
    assert.equal(u.code, 2);
    assert.match(u.err, /missing --points/);
    const g = smol(["fit", "--points", csv, "--grid", "huge"]);
    assert.equal(g.code, 2);
    assert.match(g.err, /--grid must be full or coarse/);
  });
  it("cleanup", () => rmSync(dir, { recursive: true, force: true }));
});
