// `smol models`, `smol init`, `smol generate` and chat templates end to end through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderChat, CHATML_TEMPLATE } from "../../src/models/chat.js";
import { packageRoot } from "../../src/util/paths.js";
import { runSmol } from "../helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smol-cli-"));

test("smol models --json lists the SmolLM2 presets with docs/references.md's parameter counts", async () => {
  const r = await runSmol(["models", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const byName = Object.fromEntries(rows.map((x) => [x.name, x]));
  assert.equal(byName["smollm2-135m"].params, 134515008);
  assert.equal(byName["smollm2-360m"].params, 361821120);
  assert.equal(byName["smollm2-1.7b"].params, 1711376384);
  assert.deepEqual(byName["smollm2-135m"].shape.layers, 30);
  assert.ok(byName["research-2m"].flops_per_token.train > 0);
});

test("smol init with a tokenizer sizes the vocabulary, then generate streams text", async () => {
  const tok = path.join(packageRoot(), "data", "tokenizer", "gpt2");
  const out = path.join(tmp, "m");
  const r = await runSmol(["init", "--preset", "debug", "--tokenizer", tok, "--out", out, "--seed", "3"]);
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(cfg.vocab_size, 50257);
  assert.ok(fs.existsSync(path.join(out, "model.safetensors")));
  // refuses to overwrite without --force
  const again = await runSmol(["init", "--preset", "debug", "--out", out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists/);
  const g = await runSmol(["generate", "--model", out, "--prompt", "Hello", "--max-new-tokens", "5", "--temperature", "0", "--json"]);
  assert.equal(g.code, 0, g.stderr);
  const res = JSON.parse(g.stdout);
  assert.equal(res.ids.length, 5);
  const s = await runSmol(["generate", "--model", out, "--prompt", "Hello", "--max-new-tokens", "5", "--temperature", "0"]);
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith("Hello"));
  assert.match(s.stderr, /tokens\/s/);
  const bad = await runSmol(["init", "--preset", "nope", "--out", path.join(tmp, "n")]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown model preset "nope"/);
  assert.match(bad.stderr, /smollm2-135m/);
});

test("chat prompts use the directory's template (chat_template.jinja first); none is a clear error, never a silent fallback", () => {
  const msgs = [{ role: "user" as const, content: "Hi" }];
  const dir = path.join(tmp, "tpl");
  fs.mkdirSync(dir);
  assert.throws(() => renderChat(msgs, dir), /has no chat template/);
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}", bos_token: "<s>" }));
  assert.equal(renderChat(msgs, dir), "<s>[user]Hi[assistant]");
  fs.writeFileSync(path.join(dir, "chat_template.jinja"), CHATML_TEMPLATE);
  assert.equal(renderChat(msgs, dir), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
});
