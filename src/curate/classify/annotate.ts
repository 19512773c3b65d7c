// LLM-judge annotation through any OpenAI-compatible chat-completions endpoint (smol serve, vLLM,
// llama.cpp's server, TGI): a bounded number of requests in flight, retries with exponential
// backoff on network errors, 429 and 5xx, and every answer appended to a cache file (JSONL keyed by
// a hash of endpoint model, prompt and text) so an interrupted run resumes without asking again.
// Unparseable answers are counted and kept in the cache with score null.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { SmolError } from "../../errors.js";
import { fillPrompt, parseScore } from "./prompts.js";

export interface AnnotateOptions {
  /** Base URL ending in /v1 (e.g. http://127.0.0.1:8000/v1). */
  endpoint: string;
  model: string;
  prompt: string;
  cacheFile: string;
  concurrency: number;
  retries: number;
  /** First backoff in ms (doubles per retry). */
  backoffMs: number;
  maxTokens: number;
  temperature: number;
  apiKey?: string;
  /** Characters of each document put into the prompt. */
  maxChars: number;
  onProgress?: (p: { done: number; total: number; cached: number; unparseable: number }) => void;
}

export interface Annotation {
  id: string;
  text: string;
  score: number | null;
  answer: string;
}

export interface AnnotateResult {
  annotations: Annotation[];
  requested: number;
  cached: number;
  unparseable: number;
  retries: number;
}

/** An error the endpoint gave that retrying will not fix (4xx other than 429). */
export class EndpointError extends SmolError {}

function readCache(file: string): Map<string, { answer: string; score: number | null }> {
  const m = new Map<string, { answer: string; score: number | null }>();
  if (!fs.existsSync(file)) return m;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const r = JSON.parse(line) as { key: string; answer: string; score: number | null };
      m.set(r.key, { answer: r.answer, score: r.score });
    } catch {
      // A line torn by a kill: ignored, the document is asked again.
    }
  }
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ask(o: AnnotateOptions, content: string, stats: { retries: number }): Promise<string> {
  const url = o.endpoint.replace(/\/+$/, "") + "/chat/completions";
  let lastErr = "";
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) {
      stats.retries++;
      await sleep(o.backoffMs * 2 ** (attempt - 1));
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, messages: [{ role: "user", content }], max_tokens: o.maxTokens, temperature: o.temperature }),
      });
    } catch (e) {
      lastErr = (e as Error).message;
      continue;
    }
    if (res.status === 429 || res.status >= 500) {
      lastErr = `HTTP ${res.status}`;
      await res.text().catch(() => "");
      continue;
    }
    const body = await res.text();
    if (!res.ok) throw new EndpointError(`${url}: HTTP ${res.status}: ${body.slice(0, 200)}`, "check --endpoint (…/v1) and --model");
    let json: { choices?: Array<{ message?: { content?: string } }> };
    try {
      json = JSON.parse(body);
    } catch {
      throw new EndpointError(`${url}: the answer is not JSON: ${body.slice(0, 120)}`, "is this an OpenAI-compatible endpoint?");
    }
    const text = json.choices?.[0]?.message?.content;
    if (typeof text !== "string") throw new EndpointError(`${url}: no choices[0].message.content in the answer`, "is this an OpenAI-compatible chat-completions endpoint?");
    return text;
  }
  throw new EndpointError(`${url}: no answer after ${o.retries + 1} tries (${lastErr})`, "is the server running? raise --retries for a busy one");
}

/** Annotate documents (in order); answers already in the cache are not asked again. */
export async function annotate(docs: Array<{ id: string; text: string }>, o: AnnotateOptions): Promise<AnnotateResult> {
  const cache = readCache(o.cacheFile);
  const keyOf = (text: string) => createHash("sha256").update(`${o.model}\n${o.prompt}\n${text.slice(0, o.maxChars)}`).digest("hex").slice(0, 32);
  const out: Array<Annotation | undefined> = new Array(docs.length);
  const stats = { retries: 0 };
  let cached = 0;
  let requested = 0;
  let done = 0;
  let unparseable = 0;
  const todo: number[] = [];
  docs.forEach((d, i) => {
    const hit = cache.get(keyOf(d.text));
    if (hit) {
      cached++;
      done++;
      out[i] = { id: d.id, text: d.text, score: hit.score, answer: hit.answer };
    } else todo.push(i);
  });
  for (const a of out) if (a && a.score === null) unparseable++;
  const fd = fs.openSync(o.cacheFile, "a");
  let failed = false;
  try {
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !failed) {
        const i = todo[next++];
        const d = docs[i];
        requested++;
        let answer: string;
        try {
          answer = await ask(o, fillPrompt(o.prompt, d.text.slice(0, o.maxChars)), stats);
        } catch (e) {
          failed = true; // the other workers stop after their current request
          throw e;
        }
        const score = parseScore(answer) ?? null;
        if (score === null) unparseable++;
        fs.writeSync(fd, JSON.stringify({ key: keyOf(d.text), id: d.id, score, answer }) + "\n");
        out[i] = { id: d.id, text: d.text, score, answer };
        done++;
        o.onProgress?.({ done, total: docs.length, cached, unparseable });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  } finally {
    fs.closeSync(fd);
  }
  const annotations = out as Annotation[];
  return { annotations, requested, cached, unparseable, retries: stats.retries };
}
