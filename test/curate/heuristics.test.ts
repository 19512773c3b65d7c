// Heuristic filters: each Gopher quality, Gopher repetition, C4 and FineWeb rule fires on a text
// built to break it (and names itself with the measured value), a plain well-formed paragraph
// passes them all, thresholds are configurable from the pipeline, and C4 rewrites kept text.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { parsePipeline } from "../../src/curate/config.js";
import { runCurate } from "../../src/curate/pipeline.js";
import {
  C4_DEFAULTS, c4Filter, FINEWEB_DEFAULTS, fineWebQuality, GOPHER_QUALITY_DEFAULTS, GOPHER_REPETITION_DEFAULTS, gopherQuality, gopherRepetition,
} from "../../src/curate/steps/heuristics.js";
import { readRecords, tmpDir, writeJsonl } from "./helpers.js";

const GOOD = [
  "The river that runs through the valley has shaped the lives of the people who farm its banks for centuries.",
  "In spring the water rises with the melting snow, and the fields along the shore are covered with a thin layer of silt.",
  "Farmers have learned to plant after the flood, when the soil is rich and soft enough to work with simple tools.",
  "Children in the village learn the names of the seasons and of the birds that arrive with each of them.",
  "The old mill at the bend of the river still stands, though it has not ground any grain since the war.",
  "Visitors often stop there to take pictures and to read the stone plaque that tells the story of the valley.",
].join("\n");

test("a well-formed text passes every rule", () => {
  assert.equal(gopherQuality(GOOD, GOPHER_QUALITY_DEFAULTS), undefined);
  assert.equal(gopherRepetition(GOOD, GOPHER_REPETITION_DEFAULTS), undefined);
  assert.equal(fineWebQuality(GOOD, FINEWEB_DEFAULTS), undefined);
  assert.deepEqual(c4Filter(GOOD, C4_DEFAULTS), { text: GOOD });
});

test("Gopher quality rules", () => {
  const rule = (t: string, over = {}) => String(gopherQuality(t, { ...GOPHER_QUALITY_DEFAULTS, ...over })?.details?.rule ?? "kept");
  assert.match(rule("too short to be a document."), /gopher_short_doc/);
  assert.match(rule(GOOD, { min_doc_words: 500 }), /gopher_short_doc/);
  assert.match(rule(Array(60).fill("a b c").join(" ")), /gopher_below_avg_threshold/);
  assert.match(rule(Array(60).fill("#tag the of and").join(" ")), /gopher_too_many_symbols/);
  assert.match(rule(Array(60).fill("- the bullet item of a list with words").join("\n")), /gopher_too_many_bullets/);
  assert.match(rule(Array(60).fill("the story goes on and on with the people of the town who saw it...").join("\n")), /gopher_too_many_end_ellipsis/);
  assert.match(rule(Array(60).fill("12345 67890 the and 2222 3333 4444 5555 6666").join(" ")), /gopher_below_alpha_threshold/);
  assert.match(rule(Array(60).fill("river valley farmers planted seeds").join(" ")), /gopher_enough_stop_words/);
  assert.match(String(gopherQuality("short", GOPHER_QUALITY_DEFAULTS)?.reason), /words 1 < 50/);
});

test("Gopher repetition rules", () => {
  const rule = (t: string) => String(gopherRepetition(t, GOPHER_REPETITION_DEFAULTS)?.details?.rule ?? "kept");
  const para = "This paragraph repeats itself again and again for no reason at all.";
  assert.match(rule([para, para, para, "Something else entirely here."].join("\n\n")), /dup_para_frac/);
  assert.match(rule([GOOD, ...Array(5).fill("buy now buy now")].join("\n")), /dup_line_frac/);
  assert.match(rule(`${GOOD} ${Array(40).fill("click here").join(" ")}`), /top_2_gram/);
  const words = GOOD.replace(/\n/g, " ");
  assert.match(rule(`${words} ${words.split(" ").slice(0, 40).join(" ")}`), /duplicated_\d+_n_grams/);
});

test("C4 rules drop lines and documents", () => {
  const r = c4Filter(`${GOOD}\nClick here\nPlease enable JavaScript to view this page.\nRead our privacy policy for details.\nA citation follows this sentence.[12]`, C4_DEFAULTS);
  assert.ok("text" in r);
  assert.equal(r.text, `${GOOD}\nA citation follows this sentence.`);
  assert.equal((c4Filter(`${GOOD}\nfunction f() { return 1; }.`, C4_DEFAULTS) as unknown as { details: { rule: string } }).details.rule, "curly_bracket");
  assert.equal((c4Filter(`Lorem ipsum dolor sit amet. ${GOOD}`, C4_DEFAULTS) as unknown as { details: { rule: string } }).details.rule, "lorem_ipsum");
  assert.match(String((c4Filter("One sentence here only.", C4_DEFAULTS) as unknown as { reason: string }).reason), /sentences 1 < 5/);
});

test("FineWeb rules", () => {
  const rule = (t: string) => String(fineWebQuality(t, FINEWEB_DEFAULTS)?.details?.rule ?? "kept");
  assert.match(rule(Array(20).fill("Menu item without punctuation at the end of it").join("\n")), /line_punct_ratio/);
  assert.match(rule(`${GOOD}\n${Array(30).fill("Home.").join("\n")}`), /short_line_ratio/);
  assert.match(rule(`${GOOD}\n${GOOD.split("\n")[0]}`), /char_dup_ratio/);
  assert.match(rule(Array(12).fill("One word.\nTwo words.").join("\n")), /list_ratio|short_line_ratio/);
});

test("filters in a pipeline: configurable thresholds, reasons in removed/, C4 rewrites kept text", async () => {
  const dir = tmpDir("heur");
  writeJsonl(path.join(dir, "d.jsonl"), [
    { id: "good", text: `${GOOD}\nSubscribe now` },
    { id: "short", text: "Too short." },
    { id: "list", text: Array(20).fill("Menu item without punctuation").join("\n") },
  ]);
  const p = parsePipeline({ input: { paths: ["d.jsonl"] }, steps: [{ c4: {} }, { gopher_quality: { min_doc_words: 20 } }, { gopher_repetition: {} }, { fineweb_quality: {} }], output: { format: "jsonl.gz" } }, dir);
  const res = await runCurate(p, { out: path.join(dir, "o") });
  assert.deepEqual(readRecords(path.join(dir, "o", "kept")), [{ id: "good", text: GOOD }]);
  const c4 = readRecords(path.join(dir, "o", "removed", "c4"));
  assert.deepEqual(c4.map((r) => r.id), ["short", "list"]);
  assert.equal(res.stats.steps[0].characters_out, GOOD.length);
  assert.ok(res.stats.steps[0].characters_in > GOOD.length);
});
