// `smol tokenizer` end to end in a child process: train reproduces the reference vocab.json, encode
// prints ids, decode reads them back from stdin, and bad input is one line with the right exit code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { DataError, UsageError } from "../../src/errors.js";
import { command } from "../../src/cli/commands/tokenizer.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), HERE.endsWith(".ts") ? "../.." : "../../..");
const TOK = path.join(ROOT, "data/tokenizer");
/** The CLI as sources (tests under tsx) or as built JavaScript (tests from dist/). */
const CLI = HERE.endsWith(".ts") ? ["--import", "tsx", path.join(ROOT, "src/cli/main.ts")] : [path.join(ROOT, "dist/src/cli/main.js")];

function smol(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("smol tokenizer train/encode/decode/info", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-tokcli-"));
  const out = path.join(dir, "tok");
  const tr = smol(["tokenizer", "train", "--vocab-size", "500", "--special", "<|endoftext|>", path.join(TOK, "corpus.en"), "--out", out, "--threads", "2"]);
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stdout, /vocab 500 \(1 special, 256 bytes, 243 merges\)/);
  assert.equal(fs.readFileSync(path.join(out, "vocab.json"), "utf8"), fs.readFileSync(path.join(TOK, "train-bpe-reference-vocab.json"), "utf8"));

  const text = "Hello, wörld! 🤗\n<|endoftext|>second  doc";
  const enc = smol(["tokenizer", "encode", "--tokenizer", out, "--text", text, "--json"]);
  assert.equal(enc.code, 0, enc.stderr);
  const ids = JSON.parse(enc.stdout) as number[];
  assert.ok(ids.includes(0), "the special token is id 0");
  assert.match(enc.stderr, new RegExp(`\\[${ids.length} tokens\\]`));
  const dec = smol(["tokenizer", "decode", "--tokenizer", out], ids.join(" "));
  assert.equal(dec.code, 0, dec.stderr);
  assert.equal(dec.stdout, text);
  const info = smol(["tokenizer", "info", "--tokenizer", out, "--json"]);
  assert.deepEqual(JSON.parse(info.stdout), { vocab_size: 500, special_tokens: ["<|endoftext|>"], eos_id: 0, bos_id: 0, engine: "fast" });
  fs.rmSync(dir, { recursive: true });
});

test("smol tokenizer: bad input is one clear line (exit 1), no stack trace", () => {
  const bin = path.join(os.tmpdir(), `smol-bin-${process.pid}.dat`);
  fs.writeFileSync(bin, Buffer.from([1, 2, 0, 3]));
  const r = smol(["tokenizer", "train", "--vocab-size", "300", bin, "--out", path.join(os.tmpdir(), `smol-never-${process.pid}`)]);
  fs.rmSync(bin);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split("\n")[0], `smol: error: ${bin}: NUL byte at byte offset 2: this looks like a binary file, not UTF-8 text`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
});

test("smol tokenizer: usage and data errors name the problem (in-process)", async () => {
  const run = (args: string[]) => command.run(args);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-tokcli-"));
  await assert.rejects(run(["train", "--vocab-size", "100", path.join(TOK, "corpus.en"), "--out", dir]), (e: unknown) => e instanceof UsageError && /--vocab-size 100 is smaller than the 256 byte tokens \+ 1 special token\(s\) = 257/.test(e.message));
  await assert.rejects(run(["train", "--vocab-size", "300", "--out", dir]), (e: unknown) => e instanceof UsageError && /no input files/.test(e.message));
  await assert.rejects(run(["train", "--vocab-size", "3e2", path.join(TOK, "corpus.en"), "--out", dir, "--threads", "0"]), (e: unknown) => e instanceof UsageError && /--threads must be an integer >= 1/.test(e.message));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), "{}");
  await assert.rejects(run(["train", "--vocab-size", "300", path.join(TOK, "corpus.en"), "--out", dir]), (e: unknown) => e instanceof UsageError && /already holds a tokenizer.json/.test(e.message));
  await assert.rejects(run(["encode", "--tokenizer", "/nonexistent/tok", "--text", "x"]), (e: unknown) => e instanceof DataError && /tokenizer directory \/nonexistent\/tok does not exist/.test(e.message));
  await assert.rejects(run(["encode", "--tokenizer", dir]), (e: unknown) => e instanceof UsageError && /exactly one of --text or --file/.test(e.message));
  await assert.rejects(run(["decode", "--tokenizer", dir, "--ids", "1,x"]), (e: unknown) => e instanceof UsageError && /item 2 of --ids is not a token id: "x"/.test(e.message));
  await assert.rejects(run(["decode", "--tokenizer", dir, "--ids", "[1, -2]"]), (e: unknown) => e instanceof UsageError && /item 2 of --ids/.test(e.message));
  await assert.rejects(run(["frobnicate"]), (e: unknown) => e instanceof UsageError && /unknown subcommand "frobnicate"/.test(e.message));
  fs.rmSync(dir, { recursive: true });
});
