// `smol serve` with the official `openai` npm client as the real client: models, completions and
// chat (plain and streamed), 16 concurrent streaming clients answered exactly as each alone, a
// client that disconnects mid-stream without disturbing the others, seeds and stop strings, clear
// 400s for malformed JSON, unknown fields and huge max_tokens, and localhost-only binding.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import OpenAI from "openai";
import { defaultBackend } from "../../src/backend/index.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { CHATML_TEMPLATE, ChatTemplate } from "../../src/models/chat.js";
import { generate } from "../../src/models/generate.js";
import { loadModel } from "../../src/models/hf.js";
import { createServer } from "../../src/serve/server.js";
import { savedTinyModel } from "../eval/fixture.js";
import { smolArgv } from "../helpers.js";

const be = defaultBackend().backend;
const dir = savedTinyModel(be, 4, { initStd: 0.3 });
fs.writeFileSync(path.join(dir, "chat_template.jinja"), CHATML_TEMPLATE);
const srv = await createServer({ modelDir: dir, backend: be, name: "tiny" });
await new Promise<void>((r) => srv.server.listen(0, "127.0.0.1", () => r()));
const port = (srv.server.address() as { port: number }).port;
const base = `http://127.0.0.1:${port}/v1`;
const client = new OpenAI({ baseURL: base, apiKey: "unused", maxRetries: 0 });
after(() => srv.close());

const tok = await loadTokenizer(dir);
const solo = loadModel(dir, be, { withGrad: false });
after(() => solo.dispose());
/** What greedy decoding of one sequence alone gives (models/generate.ts). */
function alone(text: string, maxTokens: number): string {
  const res = generate(solo, tok.encode(text), { maxNewTokens: maxTokens, temperature: 0, topK: 0, topP: 1, seed: 0, stopIds: [tok.eosId!] });
  return tok.decode(res.ids.filter((i) => i !== tok.eosId), true);
}
const tpl = ChatTemplate.fromDir(dir);

test("models and completions through the openai client match decoding alone", async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["tiny"]);
  const r = await client.completions.create({ model: "tiny", prompt: "The cat", max_tokens: 12, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].text, alone("The cat", 12));
  assert.equal(r.usage!.prompt_tokens, tok.encode("The cat").length);
  assert.ok(["length", "stop"].includes(r.choices[0].finish_reason));
  const c = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 10, temperature: 0 });
  assert.equal(c.choices[0].message.role, "assistant");
  assert.equal(c.choices[0].message.content, alone(tpl.render([{ role: "user", content: "Hi" }], true), 10));
});

test("16 concurrent streaming chat clients each get what they would alone; one disconnecting disturbs none", async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `Question ${i}: ${"xyz".slice(0, (i % 3) + 1)} ${i * 7}?`);
  const want = prompts.map((p) => alone(tpl.render([{ role: "user", content: p }], true), 24));
  const quitter = new AbortController();
  const quit = (async () => {
    const s = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "I leave early" }], max_tokens: 200, temperature: 0, stream: true }, { signal: quitter.signal });
    let n = 0;
    try {
      for await (const _ of s) if (++n === 3) quitter.abort();
    } catch {
      /* aborted */
    }
    return n;
  })();
  const got = await Promise.all(prompts.map(async (p) => {
    const s = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: p }], max_tokens: 24, temperature: 0, stream: true });
    let text = "";
    let finish: string | null = null;
    for await (const ch of s) {
      text += ch.choices[0]?.delta?.content ?? "";
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(finish === "length" || finish === "stop");
    return text;
  }));
  assert.ok((await quit) >= 3);
  assert.deepEqual(got, want);
  assert.ok(srv.scheduler.stats.maxBatch >= 8, `requests were batched (max batch ${srv.scheduler.stats.maxBatch})`);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(srv.scheduler.load, { active: 0, queued: 0 }, "the disconnected client's sequence was dropped");
});

test("seed makes sampling reproducible; stop strings cut the text", async () => {
  const ask = (seed: number) => client.completions.create({ model: "tiny", prompt: "Once", max_tokens: 20, temperature: 1, top_p: 0.9, seed });
  const [a, b] = await Promise.all([ask(7), ask(7)]);
  assert.equal(a.choices[0].text, b.choices[0].text);
  const full = alone("Once", 20);
  const stop = full.slice(5, 7);
  const s = await client.completions.create({ model: "tiny", prompt: "Once", max_tokens: 20, temperature: 0, stop: [stop] });
  assert.equal(s.choices[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(s.choices[0].finish_reason, "stop");
});

test("bad requests get clear 400s with OpenAI's error shape", async () => {
  const post = (route: string, body: string) => fetch(`${base}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const bad = async (route: string, body: string, re: RegExp) => {
    const r = await post(route, body);
    assert.equal(r.status, 400, body);
    const j = (await r.json()) as { error: { message: string; type: string } };
    assert.equal(j.error.type, "invalid_request_error");
    assert.match(j.error.message, re);
  };
  await bad("/completions", "{not json", /not valid JSON/);
  await bad("/completions", JSON.stringify({ model: "tiny", prompt: "a", frobnicate: 1 }), /unknown field\(s\): frobnicate/);
  await bad("/chat/completions", JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "a", extra: 1 }] }), /unknown field\(s\): messages\.0\.extra/);
  await bad("/completions", JSON.stringify({ model: "tiny", prompt: "a", max_tokens: 10_000_000 }), /max_tokens 10000000 .* exceeds the model's context/);
  await bad("/completions", JSON.stringify({ model: "tiny", prompt: "a", temperature: -1 }), /temperature/);
  await assert.rejects(client.completions.create({ model: "tiny", prompt: "a", max_tokens: 1e7 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400);
  const nf = await post("/completions", JSON.stringify({ model: "gpt-4", prompt: "a" }));
  assert.equal(nf.status, 404);
  const still = await client.completions.create({ model: "tiny", prompt: "ok", max_tokens: 2, temperature: 0 });
  assert.equal(still.choices.length, 1, "the server still answers after bad requests");
});

test("smol serve binds 127.0.0.1 unless told; SIGTERM stops it", async () => {
  const [cmd, ...pre] = smolArgv();
  const child = spawn(cmd, [...pre, "serve", "--model", dir, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const t0 = Date.now();
  while (!/serving .* on http:\/\/127\.0\.0\.1:\d+\/v1/.test(out)) {
    if (Date.now() - t0 > 60000 || child.exitCode !== null) assert.fail(`no listening line: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const p = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const r = await fetch(`http://127.0.0.1:${p}/v1/models`);
  assert.equal(r.status, 200);
  const code = await new Promise<number | null>((res) => {
    child.on("close", (c) => res(c));
    child.kill("SIGTERM");
  });
  assert.equal(code, 0);
  assert.equal(srv.server.address() && (srv.server.address() as { address: string }).address, "127.0.0.1");
});
