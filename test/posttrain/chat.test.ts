// Chat data and templates: a transformers-saved chat tokenizer (template in chat_template.jinja)
// renders token-identical prompts here; assistant spans come from the template; chat rows are read
// from JSONL with bad rows named by file and line (or counted and skipped); a base tokenizer gains
// ChatML tokens with mean-initialised rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { parquetWriteBuffer } from "hyparquet-writer";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { newReadStats } from "../../src/data/jsonl.js";
import { ChatTemplate, type ChatMessage } from "../../src/models/chat.js";
import { assistantSegments, encodePair, encodeSegments } from "../../src/posttrain/encode.js";
import { readPreferenceRows, readSftRows } from "../../src/posttrain/chat-data.js";
import { chatTokenizer, grownConfig, loadGrown } from "../../src/posttrain/chat-tokenizer.js";
import { readHfConfig } from "../../src/io/hf-config.js";
import { loadModel } from "../../src/models/hf.js";
import { LlamaModel } from "../../src/models/llama.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { packageRoot } from "../../src/util/paths.js";
import { baseModel, tmpRoot, writeJsonl } from "./fixture.js";

const FIX = path.join(packageRoot(), "test/fixtures/chat-tokenizer");
const rendered = JSON.parse(fs.readFileSync(path.join(FIX, "rendered.json"), "utf8")) as { cases: Array<{ messages: ChatMessage[]; add_generation_prompt: boolean; text: string; ids: number[] }> };
const root = tmpRoot();

test("a transformers-saved chat tokenizer (chat_template.jinja) renders token-identical prompts", async () => {
  const tpl = ChatTemplate.fromDir(FIX);
  assert.ok(tpl.where.endsWith("chat_template.jinja"));
  const tok = await loadTokenizer(FIX);
  for (const c of rendered.cases) {
    const text = tpl.render(c.messages, c.add_generation_prompt);
    assert.equal(text, c.text);
    assert.deepEqual(tok.encode(text), c.ids, JSON.stringify(c.messages).slice(0, 60));
  }
});

test("assistant spans come from the rendered template and tokenize to transformers' ids", async () => {
  const tpl = ChatTemplate.fromDir(FIX);
  const tok = await loadTokenizer(FIX);
  for (const c of rendered.cases.filter((x) => !x.add_generation_prompt)) {
    const segs = assistantSegments(tpl, c.messages);
    assert.equal(segs.map((s) => s.text).join(""), c.text);
    const assistant = c.messages.filter((m) => m.role === "assistant").map((m) => `${m.content}<|im_end|>\n`);
    assert.deepEqual(segs.filter((s) => s.train).map((s) => s.text), assistant);
    const enc = encodeSegments(tok, segs);
    assert.deepEqual(enc.ids, c.ids, "segment-wise tokenization equals the whole rendering's");
    const trained = enc.ids.filter((_, i) => enc.mask[i]);
    assert.deepEqual(trained, assistant.flatMap((a) => tok.encode(a)));
  }
  // Message-list preference rows: prompt with the generation prompt, completion the rest.
  const p = encodePair(tok, tpl, [{ role: "user", content: "Hi" }], [{ role: "assistant", content: "Hello" }], [{ role: "assistant", content: "Go away" }]);
  assert.equal(tok.decode(p.prompt), tpl.render([{ role: "user", content: "Hi" }], true));
  assert.equal(tok.decode(p.chosen), "Hello<|im_end|>\n");
  // String rows: tokens(prompt) + tokens(completion) + [eos].
  const s = encodePair(tok, undefined, "2+2=", "4", "5");
  assert.deepEqual(s.chosen, [...tok.encode("4"), tok.eosId]);
  assert.deepEqual(s.prompt, tok.encode("2+2="));
});

test("chat rows: JSONL(.gz), bad rows named by file and line or skipped and counted, UltraFeedback-style pairs", async () => {
  const good = { messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }] };
  const f = path.join(root, "sft.jsonl");
  fs.writeFileSync(f, [JSON.stringify(good), JSON.stringify({ messages: [{ role: "robot", content: "x" }] }), "{oops", JSON.stringify({ messages: [{ role: "user", content: "only" }] })].join("\n") + "\n");
  await assert.rejects(readSftRows([f]), (e: Error) => /sft\.jsonl:2: messages\[0\]\.role must be/.test(e.message));
  const stats = newReadStats();
  const rows = await readSftRows([f], { onBad: "skip", stats });
  assert.equal(rows.length, 1);
  assert.equal(stats.skipped, 3);
  assert.match(stats.problems.join("\n"), /:3: not valid JSON/);
  assert.match(stats.problems.join("\n"), /:4: the conversation has no assistant message/);
  const gz = path.join(root, "sft.jsonl.gz");
  fs.writeFileSync(gz, zlib.gzipSync(JSON.stringify(good) + "\n"));
  assert.deepEqual((await readSftRows([path.join(root, "*.jsonl.gz")]))[0].messages, good.messages);
  const pf = path.join(root, "pairs.jsonl");
  const prompt = [{ role: "user", content: "q" }];
  writeJsonl(pf, [{ prompt, chosen: [...prompt, { role: "assistant", content: "y" }], rejected: [{ role: "assistant", content: "n" }] }, { prompt: "q", chosen: "y" }]);
  await assert.rejects(readPreferenceRows([pf]), /pairs\.jsonl:2: no "rejected" field/);
  const pairs = await readPreferenceRows([pf], { onBad: "skip" });
  assert.deepEqual(pairs[0].chosen, [{ role: "assistant", content: "y" }], "the repeated prompt is cut from chosen");
  assert.deepEqual(pairs[0].rejected, [{ role: "assistant", content: "n" }]);
  // Parquet with string columns (the reader takes only the three columns it needs).
  const pq = path.join(root, "pairs.parquet");
  fs.writeFileSync(pq, Buffer.from(parquetWriteBuffer({ columnData: [{ name: "prompt", data: ["1+1=", "2+2="] }, { name: "chosen", data: ["2", "4"] }, { name: "rejected", data: ["3", "5"] }, { name: "extra", data: [1, 2] }] })));
  const fromPq = await readPreferenceRows([pq]);
  assert.deepEqual(fromPq.map((r) => [r.prompt, r.chosen, r.rejected, r.line]), [["1+1=", "2", "3", 1], ["2+2=", "4", "5", 2]]);
});

test("a base model without a template: clear error, or ChatML tokens added with mean-initialised rows", () => {
  const be = new ReferenceBackend();
  const dir = baseModel(be);
  assert.throws(() => chatTokenizer({ tokenizerDir: dir, modelDir: dir }), (e: Error & { hint?: string }) => /has no chat template/.test(e.message) && /add_chat_tokens/.test(e.hint ?? ""));
  const ct = chatTokenizer({ tokenizerDir: dir, modelDir: dir, addChatTokens: true });
  assert.deepEqual(ct.added, [257, 258]);
  assert.deepEqual(ct.tokenizer.encode("<|im_start|>user\n"), [257, ...Buffer.from("user\n")]);
  assert.equal(ct.tokenizer.eosId, 258);
  assert.match(JSON.parse(ct.files["tokenizer_config.json"]).chat_template, /<\|im_start\|>/);
  const base = readHfConfig(dir);
  const grown = grownConfig(base, ct.tokenizer.vocabSize, ct.tokenizer.eosId);
  assert.equal(grown.vocab, 259);
  const m = new LlamaModel(be, grown, { withGrad: false });
  loadGrown(dir, base, m);
  const old = loadModel(dir, be, { withGrad: false });
  const E = m.params.get("model.embed_tokens.weight").data, E0 = old.params.get("model.embed_tokens.weight").data;
  const d = base.d;
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let r = 0; r < 257; r++) mean += E0[r * d + j] / 257;
    assert.ok(Math.abs(E[257 * d + j] - mean) < 1e-12 && E[258 * d + j] === E[257 * d + j]);
    assert.equal(E[5 * d + j], E0[5 * d + j]);
  }
  m.dispose();
  old.dispose();
});
