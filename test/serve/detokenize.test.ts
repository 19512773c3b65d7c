// Incremental detokenizing (serve/detokenize.ts): for a byte-level BPE tokenizer the text built
// token by token equals decoding everything at once, at every step, for text that splits
// multi-byte characters across tokens.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { decodesConcatenatively, IncrementalText } from "../../src/serve/detokenize.js";
import { packageRoot } from "../../src/util/paths.js";

test("incremental text equals whole decoding at every token (GPT-2 byte-level BPE)", async () => {
  const tok = await loadTokenizer(path.join(packageRoot(), "test/fixtures/chat-tokenizer"));
  assert.equal(decodesConcatenatively(tok), true);
  const text = "Ünïcödé: 😊😊 数学 — a long line of words to pass the commit threshold several times over. ".repeat(4);
  const ids = tok.encode(text);
  const inc = new IncrementalText(tok, true);
  for (let i = 0; i < ids.length; i++) {
    inc.push(ids[i]);
    assert.equal(inc.text(), tok.decode(ids.slice(0, i + 1), true), `after ${i + 1} tokens`);
  }
  assert.equal(inc.text(), text);
});
