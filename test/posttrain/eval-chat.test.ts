// `smol eval --chat` and `smol generate --chat`: contexts and prompts become a user turn of the
// model's own chat template (and change the scores); a model without one is a clear error.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { CHATML_TEMPLATE } from "../../src/models/chat.js";
import { savedTinyModel } from "../eval/fixture.js";
import { runSmol } from "../helpers.js";

const base = savedTinyModel(new ReferenceBackend(), 5, { initStd: 0.3 });
const chat = path.join(path.dirname(base), "chat");
fs.cpSync(base, chat, { recursive: true });
fs.writeFileSync(path.join(chat, "chat_template.jinja"), CHATML_TEMPLATE);

test("smol eval --chat wraps contexts in the chat template; no template is a clear error", async () => {
  const args = (dir: string, extra: string[] = []) => ["eval", "--model", dir, "--tasks", "lambada", "--limit", "4", "--json", "-", ...extra];
  const plain = await runSmol(args(chat));
  const wrapped = await runSmol(args(chat, ["--chat"]));
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(wrapped.code, 0, wrapped.stderr);
  const acc = (s: string) => JSON.parse(s).flat;
  assert.notDeepEqual(acc(wrapped.stdout), acc(plain.stdout), "the chat template changes what is scored");
  const none = await runSmol(args(base, ["--chat"]));
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /has no chat template/);
  const g = await runSmol(["generate", "--model", base, "--prompt", "hi", "--chat", "--max-new-tokens", "2"]);
  assert.notEqual(g.code, 0);
  assert.match(g.stderr, /has no chat template/);
  const ok = await runSmol(["generate", "--model", chat, "--prompt", "hi", "--chat", "--max-new-tokens", "2", "--temperature", "0"]);
  assert.equal(ok.code, 0, ok.stderr);
});

test("smol eval --tasks ifeval --model: the chat model's own responses, scored and written in the reference's format", async () => {
  const out = path.join(path.dirname(base), "ifeval");
  const r = await runSmol(["eval", "--model", chat, "--tasks", "ifeval", "--limit", "3", "--max-new-tokens", "8", "--details", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /inst_level_loose_acc/);
  const lines = fs.readFileSync(path.join(out, "eval_results_strict.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.equal(typeof lines[0].response, "string");
  assert.equal(lines[0].follow_instruction_list.length, lines[0].instruction_id_list.length);
});
