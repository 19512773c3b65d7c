// Post-training test fixtures: a tiny random Llama with the byte-level tokenizer saved as an HF
// directory (no chat tokens, no template: a base model), small arithmetic conversations as SFT
// rows and preference pairs whose chosen answer is right and rejected answer wrong.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { savedTinyModel } from "../eval/fixture.js";
import { Rng } from "../../src/util/rng.js";

export function tmpRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "smol-post-"));
}

export function baseModel<F extends FloatBuf>(be: Backend<F>, seed = 3): string {
  return savedTinyModel(be, seed, { initStd: 0.02 });
}

/** n arithmetic conversations (some with a system message, some two turns). */
export function sftRows(n: number, seed = 1): object[] {
  const rng = new Rng(seed);
  const rows: object[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.int(20), b = rng.int(20);
    const messages: object[] = [];
    if (i % 3 === 0) messages.push({ role: "system", content: "Be brief." });
    messages.push({ role: "user", content: `${a}+${b}?` }, { role: "assistant", content: `${a + b}` });
    if (i % 4 === 1) messages.push({ role: "user", content: "and doubled?" }, { role: "assistant", content: `${2 * (a + b)}` });
    rows.push({ messages });
  }
  return rows;
}

/** n preference pairs as strings, or as message lists (UltraFeedback binarized: chosen repeats the prompt). */
export function pairRows(n: number, messages = false, seed = 2): object[] {
  const rng = new Rng(seed);
  const rows: object[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.int(20), b = rng.int(20);
    const q = `${a}+${b}=`;
    const good = `${a + b}`, bad = `${a + b + 1 + rng.int(5)}`;
    if (!messages) rows.push({ prompt: q, chosen: good, rejected: bad });
    else {
      const p = [{ role: "user", content: q }];
      rows.push({ prompt: p, chosen: [...p, { role: "assistant", content: good }], rejected: [...p, { role: "assistant", content: bad }] });
    }
  }
  return rows;
}

export function writeJsonl(file: string, rows: object[]): string {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}
