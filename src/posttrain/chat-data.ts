// Chat data in the Hugging Face Hub's conventions, from local JSONL(.gz/.zst) or Parquet files,
// directories and globs: SFT rows `{messages: [{role, content}, …]}` (SmolTalk) and preference rows
// `{prompt, chosen, rejected}`, each a string or a list of messages (UltraFeedback binarized). A bad
// row is a DataError naming the file and line, or counted and skipped under on_bad: skip.
import { DataError } from "../errors.js";
import { BadInput, newReadStats, readJsonl, type BadInputPolicy, type ReadStats } from "../data/jsonl.js";
import { readParquet } from "../data/parquet.js";
import { expandPaths, formatOf } from "../data/sources.js";
import type { ChatMessage } from "../models/chat.js";

const ROLES = new Set(["system", "user", "assistant"]);

export interface Located {
  file: string;
  line: number;
}
export interface SftRow extends Located {
  messages: ChatMessage[];
}
/** A preference pair: strings, or message lists (prompt: the conversation before the answer). */
export interface PreferenceRow extends Located {
  prompt: string | ChatMessage[];
  chosen: string | ChatMessage[];
  rejected: string | ChatMessage[];
}

/** Check a message list; returns the problem or the list. */
export function checkMessages(v: unknown, key: string): ChatMessage[] | string {
  if (!Array.isArray(v)) return `"${key}" must be a list of {role, content} messages`;
  for (const [i, m] of v.entries()) {
    if (m === null || typeof m !== "object" || Array.isArray(m)) return `${key}[${i}] is not a {role, content} object`;
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== "string" || !ROLES.has(role)) return `${key}[${i}].role must be "system", "user" or "assistant" (got ${JSON.stringify(role)})`;
    if (typeof content !== "string") return `${key}[${i}].content must be a string`;
  }
  return v.map((m) => ({ role: m.role, content: m.content }));
}

async function* records(patterns: readonly string[], columns: string[], onBad: BadInputPolicy, stats: ReadStats, check: (rec: Record<string, unknown>) => string | undefined): AsyncGenerator<{ rec: Record<string, unknown> } & Located> {
  const bad = new BadInput(onBad, stats);
  // Records travel as JSON text through the shared readers (which own decompression and line
  // numbers); a row that fails `check` is reported there, in file order.
  const asText = (rec: Record<string, unknown>) => {
    const problem = check(rec);
    return problem === undefined ? JSON.stringify(rec) : { error: problem };
  };
  for (const file of expandPaths(patterns)) {
    stats.files++;
    const fmt = formatOf(file);
    if (fmt === "text") throw new DataError(`${file}: chat data must be JSONL (.jsonl, .jsonl.gz, .jsonl.zst) or Parquet`, "convert the file, or check the path");
    const gen = fmt === "parquet" ? readParquet(file, columns, asText, bad, stats) : readJsonl(file, asText, bad, stats);
    for await (const docs of gen) for (const d of docs) yield { rec: JSON.parse(d.text), file: d.file, line: d.line };
  }
}

/** Read SFT conversations (the `messages` field, or `field`). */
export async function readSftRows(patterns: readonly string[], opts: { onBad?: BadInputPolicy; field?: string; stats?: ReadStats } = {}): Promise<SftRow[]> {
  const stats = opts.stats ?? newReadStats();
  const field = opts.field ?? "messages";
  const out: SftRow[] = [];
  const check = (rec: Record<string, unknown>) => {
    const m = checkMessages(rec[field], field);
    if (typeof m === "string") return m;
    if (!m.some((x) => x.role === "assistant")) return "the conversation has no assistant message (nothing to train on)";
    return undefined;
  };
  for await (const { rec, file, line } of records(patterns, [field], opts.onBad ?? "fail", stats, check)) {
    out.push({ messages: checkMessages(rec[field], field) as ChatMessage[], file, line });
  }
  stats.docs = out.length;
  if (!out.length) throw new DataError(`${patterns.join(", ")}: no usable conversations${stats.skipped ? ` (${stats.skipped} skipped: ${stats.problems[0]})` : ""}`);
  return out;
}

/** Read preference pairs. Message-list `chosen`/`rejected` that repeat the prompt (UltraFeedback binarized) are cut to the answer. */
export async function readPreferenceRows(patterns: readonly string[], opts: { onBad?: BadInputPolicy; stats?: ReadStats } = {}): Promise<PreferenceRow[]> {
  const stats = opts.stats ?? newReadStats();
  const out: PreferenceRow[] = [];
  const check = (rec: Record<string, unknown>) => (typeof preferenceRow(rec) === "string" ? (preferenceRow(rec) as string) : undefined);
  for await (const { rec, file, line } of records(patterns, ["prompt", "chosen", "rejected"], opts.onBad ?? "fail", stats, check)) {
    out.push({ ...(preferenceRow(rec) as Omit<PreferenceRow, "file" | "line">), file, line });
  }
  stats.docs = out.length;
  if (!out.length) throw new DataError(`${patterns.join(", ")}: no usable preference pairs${stats.skipped ? ` (${stats.skipped} skipped: ${stats.problems[0]})` : ""}`);
  return out;
}

/** A preference row's values, or its problem. */
function preferenceRow(rec: Record<string, unknown>): Omit<PreferenceRow, "file" | "line"> | string {
  {
    const vals: Partial<Record<"prompt" | "chosen" | "rejected", string | ChatMessage[]>> = {};
    let problem: string | undefined;
    for (const k of ["prompt", "chosen", "rejected"] as const) {
      const v = rec[k];
      if (typeof v === "string") vals[k] = v;
      else if (Array.isArray(v)) {
        const m = checkMessages(v, k);
        if (typeof m === "string") problem ??= m;
        else vals[k] = m;
      } else problem ??= v === undefined ? `no "${k}" field` : `"${k}" must be a string or a list of messages`;
    }
    if (!problem) {
      const kinds = new Set([typeof vals.prompt, typeof vals.chosen, typeof vals.rejected]);
      if (kinds.size > 1) problem = "prompt, chosen and rejected must all be strings or all be message lists";
    }
    if (!problem && Array.isArray(vals.prompt)) {
      const p = vals.prompt as ChatMessage[];
      for (const k of ["chosen", "rejected"] as const) {
        let c = vals[k] as ChatMessage[];
        // UltraFeedback binarized repeats the prompt inside chosen/rejected: keep what follows it.
        if (c.length > p.length && p.every((m, i) => c[i].role === m.role && c[i].content === m.content)) c = c.slice(p.length);
        if (!c.length || c[0].role !== "assistant") problem ??= `"${k}" must continue the prompt with an assistant message`;
        vals[k] = c;
      }
    }
    if (problem) return problem;
    return { prompt: vals.prompt!, chosen: vals.chosen!, rejected: vals.rejected! };
  }
}
