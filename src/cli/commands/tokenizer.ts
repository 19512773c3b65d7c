// `smol tokenizer train|encode|decode|info`: train a byte-level BPE on text files (saved as a
// Hugging Face tokenizer directory), and encode/decode/inspect any tokenizer.json directory.
import * as fs from "node:fs";
import * as path from "node:path";
import { availableParallelism } from "node:os";
import { DataError, UsageError } from "../../errors.js";
import { trainBpeFromFiles, type TrainProgress } from "../../tokenizer/bpe/train.js";
import { loadTokenizer, saveTrainedTokenizer } from "../../tokenizer/tokenizer.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { duration, human, Progress } from "../output.js";

const HELP = `Usage:
  smol tokenizer train --vocab-size N [--special TOKEN]… FILE… --out DIR [options]
  smol tokenizer encode --tokenizer DIR (--text "…" | --file F) [--json]
  smol tokenizer decode --tokenizer DIR [--ids "1,2,3" | --json-file F] [--skip-special]
  smol tokenizer info --tokenizer DIR [--json]

train   Learns a byte-level BPE (GPT-2 byte mapping and pre-tokenisation regex; ties between
        equally frequent pairs go to the lexicographically greatest pair of byte strings) and
        writes DIR/tokenizer.json, tokenizer_config.json, special_tokens_map.json (loadable by
        transformers and @huggingface/tokenizers), plus vocab.json and merges.txt. Special tokens
        take ids 0…, then the 256 byte tokens, then one token per merge. Special tokens split the
        text and are never merged; each FILE is treated as a separate document.
  --vocab-size N          final vocabulary size incl. specials and 256 bytes (required)
  --special TOKEN         a special token; repeat for several (default: <|endoftext|>)
  --no-special            no special tokens at all
  --out DIR               output directory (required; an existing tokenizer needs --force)
  --threads N             threads counting pre-tokens (default: all cores)
  --model-max-length N    model_max_length in tokenizer_config.json (default 2048)
  --force                 overwrite a tokenizer already in DIR

encode  Prints the ids of the text (no BOS/EOS added; special tokens written in the text are
        recognised), space-separated, or as a JSON array with --json; the count goes to stderr.
  --text "…" | --file F   the text, or a UTF-8 file ("-" for stdin)

decode  Prints the text of ids given with --ids (comma- or space-separated), --json-file F (a JSON
        array), or on stdin (a JSON array or whitespace-separated ids, e.g. from encode).
  --skip-special          leave special tokens out

info    Vocabulary size, special tokens, eos/bos ids and the encoder in use.

Examples:
  smol tokenizer train --vocab-size 16384 --special '<|endoftext|>' data/*.txt --out runs/tok16k
  smol tokenizer encode --tokenizer runs/tok16k --text "Hello world" --json
  smol tokenizer encode --tokenizer runs/tok16k --file notes.txt | smol tokenizer decode --tokenizer runs/tok16k`;

export const command: Command = {
  name: "tokenizer",
  summary: "train a byte-level BPE tokenizer; encode, decode and inspect tokenizers",
  help: HELP,
  async run(argv) {
    const sub = argv[0];
    const rest = argv.slice(1);
    switch (sub) {
      case "train":
        return train(rest);
      case "encode":
        return encode(rest);
      case "decode":
        return decode(rest);
      case "info":
        return info(rest);
      case undefined:
        throw new UsageError("tokenizer: missing subcommand (train, encode, decode or info)", "run `smol tokenizer --help`");
      default:
        throw new UsageError(`tokenizer: unknown subcommand "${sub}" (expected train, encode, decode or info)`, "run `smol tokenizer --help`");
    }
  },
};

async function train(argv: string[]): Promise<number> {
  const cmd = "tokenizer train";
  const { values, positionals } = parseCommandArgs(cmd, argv, {
    "vocab-size": { type: "string" }, special: { type: "string", multiple: true }, "no-special": { type: "boolean" },
    out: { type: "string" }, threads: { type: "string" }, "model-max-length": { type: "string" }, force: { type: "boolean" },
  }, true);
  const vocabSize = numberOpt(cmd, "vocab-size", requireOpt(cmd, "vocab-size", values["vocab-size"]), { int: true, min: 1 })!;
  const given = (values.special as string[] | undefined) ?? [];
  if (values["no-special"] && given.length) throw new UsageError(`${cmd}: --special and --no-special contradict each other`);
  const specials = values["no-special"] ? [] : given.length ? given : ["<|endoftext|>"];
  if (specials.some((s) => s.length === 0)) throw new UsageError(`${cmd}: --special must not be empty`);
  const min = 256 + specials.length;
  if (vocabSize < min) {
    throw new UsageError(`${cmd}: --vocab-size ${vocabSize} is smaller than the 256 byte tokens + ${specials.length} special token(s) = ${min}`, `use --vocab-size ${min} or more (16384 is a good start)`);
  }
  const out = requireOpt(cmd, "out", values.out);
  const threads = numberOpt(cmd, "threads", values.threads, { int: true, min: 1, max: 256 }) ?? availableParallelism();
  const modelMaxLength = numberOpt(cmd, "model-max-length", values["model-max-length"], { int: true, min: 1 }) ?? 2048;
  if (positionals.length === 0) throw new UsageError(`${cmd}: no input files`, "list the UTF-8 text files to train on after the options");
  if (fs.existsSync(path.join(out, "tokenizer.json")) && !values.force) {
    throw new UsageError(`${cmd}: ${out} already holds a tokenizer.json`, "choose another --out or pass --force to overwrite it");
  }

  const progress = new Progress();
  let countEnd: { bytes: number; seconds: number } | undefined;
  const onProgress = (p: TrainProgress) => {
    if (p.phase === "count") {
      countEnd = { bytes: p.bytesDone, seconds: p.seconds };
      const rate = p.bytesDone / 1e6 / Math.max(p.seconds, 1e-9);
      progress.update(`counting pre-tokens: ${human(p.bytesDone)}B / ${human(p.bytesTotal)}B  ${rate.toFixed(1)} MB/s`, p.bytesDone === p.bytesTotal);
    } else {
      const rate = p.done / Math.max(p.seconds, 1e-9);
      const eta = (p.total - p.done) / Math.max(rate, 1e-9);
      progress.update(`merging: ${p.done} / ${p.total}  ${rate.toFixed(0)} merges/s  eta ${duration(eta)}`, p.done === p.total);
    }
  };
  const t0 = performance.now();
  const trained = await trainBpeFromFiles(positionals, { vocabSize, specials, threads, onProgress });
  const seconds = (performance.now() - t0) / 1000;
  progress.done();
  saveTrainedTokenizer(trained, out, { modelMaxLength });
  const merges = trained.merges.length;
  const short = vocabSize - trained.vocab.length;
  const countInfo = countEnd ? `, counting ${duration(countEnd.seconds)} at ${(countEnd.bytes / 1e6 / Math.max(countEnd.seconds, 1e-9)).toFixed(1)} MB/s on ${threads} thread(s)` : "";
  console.log(
    `wrote ${out}: vocab ${trained.vocab.length} (${specials.length} special, 256 bytes, ${merges} merges) from ${human(countEnd?.bytes ?? 0)}B, ` +
      `${human(trained.stats.totalPretokens)} pre-tokens (${human(trained.stats.uniquePretokens)} distinct) in ${duration(seconds)}${countInfo}`,
  );
  if (short > 0) console.log(`note: the text ran out of pairs to merge; the vocabulary is ${short} short of ${vocabSize}`);
  return 0;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readTextFile(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = file === "-" ? await readStdin() : fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new DataError(`${file === "-" ? "stdin" : file}: not valid UTF-8`, "convert it to UTF-8 text first", { cause: e });
  }
}

async function encode(argv: string[]): Promise<number> {
  const cmd = "tokenizer encode";
  const { values } = parseCommandArgs(cmd, argv, {
    tokenizer: { type: "string" }, text: { type: "string" }, file: { type: "string" }, json: { type: "boolean" },
  });
  const dir = requireOpt(cmd, "tokenizer", values.tokenizer);
  const text = values.text as string | undefined;
  const file = values.file as string | undefined;
  if ((text === undefined) === (file === undefined)) throw new UsageError(`${cmd}: give exactly one of --text or --file`, 'e.g. --text "Hello world"');
  const tok = await loadTokenizer(dir);
  const ids = tok.encode(text ?? (await readTextFile(file!)));
  process.stdout.write((values.json ? JSON.stringify(ids) : ids.join(" ")) + "\n");
  process.stderr.write(`[${ids.length} tokens]\n`);
  return 0;
}

function parseIds(cmd: string, s: string, where: string): number[] {
  const t = s.trim();
  if (t === "") return [];
  let items: unknown[];
  if (t.startsWith("[")) {
    try {
      const v: unknown = JSON.parse(t);
      if (!Array.isArray(v)) throw new Error("not an array");
      items = v;
    } catch (e) {
      throw new UsageError(`${cmd}: ${where} is not a JSON array of ids (${(e as Error).message})`);
    }
  } else items = t.split(/[\s,]+/);
  return items.map((x, i) => {
    const n = typeof x === "number" ? x : Number(x);
    if (!Number.isInteger(n) || n < 0 || (typeof x === "string" && !/^\d+$/.test(x))) {
      throw new UsageError(`${cmd}: item ${i + 1} of ${where} is not a token id: ${JSON.stringify(x)}`, "ids are non-negative integers");
    }
    return n;
  });
}

async function decode(argv: string[]): Promise<number> {
  const cmd = "tokenizer decode";
  const { values } = parseCommandArgs(cmd, argv, {
    tokenizer: { type: "string" }, ids: { type: "string" }, "json-file": { type: "string" }, "skip-special": { type: "boolean" },
  });
  const dir = requireOpt(cmd, "tokenizer", values.tokenizer);
  if (values.ids !== undefined && values["json-file"] !== undefined) throw new UsageError(`${cmd}: give --ids or --json-file, not both`);
  let ids: number[];
  if (values.ids !== undefined) ids = parseIds(cmd, values.ids as string, "--ids");
  else if (values["json-file"] !== undefined) {
    const f = values["json-file"] as string;
    ids = parseIds(cmd, await readTextFile(f), f);
  } else {
    if (process.stdin.isTTY) throw new UsageError(`${cmd}: no ids given`, 'pass --ids "1,2,3", --json-file F, or pipe ids on stdin');
    ids = parseIds(cmd, await readTextFile("-"), "stdin");
  }
  const tok = await loadTokenizer(dir);
  const text = tok.decode(ids, Boolean(values["skip-special"]));
  process.stdout.write(text + (process.stdout.isTTY && !text.endsWith("\n") ? "\n" : ""));
  return 0;
}

async function info(argv: string[]): Promise<number> {
  const cmd = "tokenizer info";
  const { values } = parseCommandArgs(cmd, argv, { tokenizer: { type: "string" }, json: { type: "boolean" } });
  const dir = requireOpt(cmd, "tokenizer", values.tokenizer);
  const tok = await loadTokenizer(dir);
  const name = (id: number | undefined) => (id === undefined ? "none" : `${id} ${JSON.stringify(tok.idToToken(id))}`);
  if (values.json) {
    console.log(JSON.stringify({ vocab_size: tok.vocabSize, special_tokens: tok.specialTokens, eos_id: tok.eosId ?? null, bos_id: tok.bosId ?? null, engine: tok.engine }));
    return 0;
  }
  console.log(`tokenizer   ${dir}`);
  console.log(`vocab size  ${tok.vocabSize}`);
  console.log(`specials    ${tok.specialTokens.length ? tok.specialTokens.map((s) => `${JSON.stringify(s)}=${tok.tokenToId(s)}`).join(" ") : "none"}`);
  console.log(`eos         ${name(tok.eosId)}`);
  console.log(`bos         ${name(tok.bosId)}`);
  console.log(`encoder     ${tok.engine === "fast" ? "byte-level BPE (native TypeScript)" : `@huggingface/tokenizers (${tok.fastUnsupported})`}`);
  return 0;
}
