// The SVG chart library: tick algorithms against hand-picked values, tick formatting, and charts
// checked structurally (well-formed XML, one path per line series, one marker per drawable point,
// escaping, log axes skipping non-positive values, deterministic output).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chart, escapeXml, formatTick, linearTicks, logTicks, niceStep, sequentialColor } from "../../src/report/svg.js";

/** Minimal well-formedness check: every opened tag is closed in order (no attributes parsing needed). */
function assertWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, "");
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `closing </${name}> does not match`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], "unclosed tags");
  assert.ok(!/&(?!amp;|lt;|gt;|quot;|#)/.test(body), "raw & in the document");
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe("svg: ticks", () => {
  it("nice steps are 1, 2 or 5 × 10^k", () => {
    assert.equal(niceStep(0, 1), 0.2);
    assert.equal(niceStep(0, 1000), 200);
    assert.equal(niceStep(0, 0.001), 0.0002);
    assert.equal(niceStep(2, 3), 0.2);
    assert.equal(niceStep(0, 7), 1);
  });
  it("linear ticks cover the range at multiples of the step, without float noise", () => {
    assert.deepEqual(linearTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(linearTicks(0, 0.001), [0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001]);
    assert.deepEqual(linearTicks(-40, 1040), [0, 200, 400, 600, 800, 1000]);
    assert.deepEqual(linearTicks(1.93, 3.07), [2, 2.2, 2.4, 2.6, 2.8, 3]);
  });
  it("log ticks: decades over wide ranges, 1-2-5 or 1…9 over narrow ones", () => {
    assert.deepEqual(logTicks(1e18, 1e22).major, [1e18, 1e19, 1e20, 1e21, 1e22]);
    assert.deepEqual(logTicks(1e18, 1e22).minor.slice(0, 3), [2e18, 3e18, 4e18]);
    // 20 decades: every 3rd decade labelled (ceil(20/8) = 3), the others minor.
    assert.deepEqual(logTicks(1e-10, 1e10).major, [1e-9, 1e-6, 1e-3, 1, 1e3, 1e6, 1e9]);
    assert.deepEqual(logTicks(0.5, 12).major, [0.5, 1, 2, 5, 10]);
    assert.deepEqual(logTicks(2, 5).major, [2, 3, 4, 5]);
  });
  it("formatting", () => {
    assert.equal(formatTick(1e18, undefined, true), "10¹⁸");
    assert.equal(formatTick(1e-6, undefined, true), "10⁻⁶");
    assert.equal(formatTick(100, undefined, true), "100");
    assert.equal(formatTick(0.4, 0.2), "0.4");
    assert.equal(formatTick(2.6000000000000005, 0.2), "2.6");
    assert.equal(formatTick(0.0002, 0.0002, false, true), "2e-4");
    assert.equal(formatTick(1.5e-4, 5e-5, false, true), "1.5e-4");
    assert.equal(formatTick(2e9, 1e9), "2e9");
    assert.equal(formatTick(0), "0");
  });
});

describe("svg: charts", () => {
  const xs = [1, 2, 3, 4, 5];
  it("line + scatter chart: structure, legend, escaping", () => {
    const svg = chart(
      [
        { name: "train <loss> & more", x: xs, y: [5, 4, 3.5, 3.2, 3.1] },
        { name: "eval", x: xs, y: [5.2, 4.3, 3.7, 3.4, 3.3], mode: "scatter", marker: "square" },
        { name: "", x: xs, y: [4, 4, 4, 4, 4], dash: "4 2" },
      ],
      { title: "Loss <&> steps", xLabel: "step", yLabel: "loss", refLines: [{ axis: "x", value: 3, label: "cooldown" }] },
    );
    assertWellFormed(svg);
    assert.ok(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.ok(svg.includes("Loss &lt;&amp;&gt; steps"));
    assert.ok(svg.includes("train &lt;loss&gt; &amp; more"));
    assert.equal(count(svg, /<path d="M/g), 2, "one path per line series");
    assert.equal(count(svg, /<rect x="[\d.]+" y="[\d.]+" width="7" height="7"\/>/g), 5 + 1, "5 square markers + 1 in the legend");
    assert.ok(svg.includes(">cooldown</text>"));
    assert.ok(!svg.includes("NaN") && !svg.includes("Infinity"));
    // The unnamed series is drawn but not listed in the legend: two legend labels.
    assert.equal(count(svg, /dy="0.32em" fill="#333"/g), 2);
  });
  it("log axes skip non-positive and non-finite points and break the line there", () => {
    const svg = chart([{ name: "s", x: [1e18, 1e19, -1, 1e20, NaN, 1e21], y: [3, 2.8, 2.7, 0, 2.4, 2.3], mode: "line+markers" }], { xScale: "log", yScale: "log" });
    assertWellFormed(svg);
    // Drawable: (1e18,3), (1e19,2.8), (1e21,2.3) → markers 3 (+1 legend), path segments M,L then M.
    assert.equal(count(svg, /<circle /g), 3 + 1);
    const d = (svg.match(/<path d="([^"]+)"/) ?? [])[1];
    assert.equal(count(d, /M/g), 2, d);
    assert.equal(count(d, /L/g), 1, d);
    assert.ok(svg.includes("10¹⁸") && svg.includes("10²¹"));
  });
  it("is deterministic and copes with empty or constant data", () => {
    const a = chart([{ name: "x", x: xs, y: xs }], { id: "one" });
    assert.equal(a, chart([{ name: "x", x: xs, y: xs }], { id: "one" }));
    assert.ok(a.includes('clipPath id="one-plot-area"'));
    for (const svg of [chart([]), chart([{ name: "c", x: [1, 2], y: [3, 3] }]), chart([{ name: "p", x: [5], y: [5] }], { xScale: "log" })]) {
      assertWellFormed(svg);
      assert.ok(!svg.includes("NaN"), svg);
    }
  });
  it("helpers", () => {
    assert.equal(escapeXml(`a<b>&"c"`), "a&lt;b&gt;&amp;&quot;c&quot;");
    assert.equal(sequentialColor(0), "#440154");
    assert.equal(sequentialColor(1), "#fde725");
  });
});
