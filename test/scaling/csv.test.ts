// The strict scaling-points CSV reader: both accepted headers, quoting, and a DataError naming the
// file and line for every kind of bad input.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError } from "../../src/errors.js";
import { packageRoot } from "../../src/util/paths.js";
import { parseScalingCsv, readScalingCsv } from "../../src/scaling/csv.js";

const rows5 = "1e8,2e9,3.1\n2e8,4e9,2.9\n4e8,8e9,2.7\n8e8,1.6e10,2.5\n1.6e9,3.2e10,2.4\n";

function throwsData(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

describe("scaling csv", () => {
  it("reads params,tokens,loss (any order, extra columns ignored, CRLF, blank lines)", () => {
    const pts = parseScalingCsv("loss,params,note,tokens\r\n3.1,1e8,a,2e9\r\n\r\n2.9,2e8,\"b, quoted\",4e9\r\n2.7,4e8,c,8e9\n2.5,8e8,d,1.6e10\n2.4,1.6e9,e,3.2e10\n");
    assert.equal(pts.length, 5);
    assert.deepEqual(pts[1], { params: 2e8, tokens: 4e9, loss: 2.9 });
  });
  it("reads an optional flops column", () => {
    const pts = parseScalingCsv("params,tokens,loss,flops\n" + rows5.replace(/\n/g, ",1e20\n"));
    assert.equal(pts[0].flops, 1e20);
  });
  it("reads the Chinchilla columns with tokens = C / (6N)", () => {
    const pts = parseScalingCsv("x,Model Size,Training FLOP,loss\n0,1e8,6e18,3\n0,2e8,6e18,2.9\n0,3e8,6e18,2.8\n0,4e8,6e18,2.9\n0,5e8,6e18,3\n");
    assert.equal(pts[0].tokens, 6e18 / (6 * 1e8));
    assert.equal(pts[0].flops, 6e18);
    assert.equal(readScalingCsv(join(packageRoot(), "data", "scaling", "chinchilla_svg_extracted.csv")).length, 245);
  });
  it("names file, line and column for bad values", () => {
    throwsData(() => parseScalingCsv("params,tokens,loss\n1e8,2e9,abc\n" + rows5, "pts.csv"), /^pts\.csv:2: column "loss" is not a finite number: "abc"$/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n" + rows5 + "1e8,-5,3\n", "pts.csv"), /^pts\.csv:7: column "tokens" must be > 0, got -5$/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n" + rows5 + "0,5,3\n", "p"), /p:7: column "params" must be > 0/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n1e8,Infinity,3\n" + rows5, "p"), /p:2: column "tokens" is not a finite number/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n1e8,,3\n" + rows5, "p"), /p:2: column "tokens" is not a finite number: ""/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n1e8,2e9\n" + rows5, "p"), /p:2: 2 fields, the header has 3/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n1e8,\"2e9,3\n" + rows5, "p"), /p:2: unclosed quote/);
  });
  it("requires a header with the needed columns and enough points", () => {
    throwsData(() => parseScalingCsv("1e8,2e9,3.1\n" + rows5, "p"), /p:1: header lacks column params.*loss.*tokens or flops/);
    throwsData(() => parseScalingCsv("params,loss\n" + rows5, "p"), /header lacks column tokens or flops/);
    throwsData(() => parseScalingCsv("", "p"), /p: empty file/);
    throwsData(() => parseScalingCsv("params,tokens,loss\n1e8,2e9,3\n2e8,2e9,3\n", "p"), /p: 2 data points, need at least 5 to fit 5 parameters/);
    throwsData(() => readScalingCsv("/nonexistent/points.csv"), /cannot read \/nonexistent\/points\.csv/);
  });
});
