// The curation pipeline file (YAML or JSON): `input` (paths, text and id fields, bad-record
// policy), `steps` (a list of one-key mappings, `- minhash: {bands: 14}`; each step type owns its
// schema and defaults in steps/index.ts), `output` (shard format and size) and `stats` (an optional
// tokenizer for token counts). Every problem is reported with its dotted path; relative paths are
// resolved against the pipeline file's folder.
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError } from "../errors.js";
import { z } from "zod";
import { zodProblems } from "../util/schema.js";
import { STEP_TYPES } from "./steps/index.js";
import type { ShardFormat } from "./shards.js";

export interface PipelineStep {
  type: string;
  /** Folder name under removed/: the type, or `name:` when given, made unique with -2, -3… */
  name: string;
  config: Record<string, unknown>;
}

export interface Pipeline {
  /** Folder that relative paths are resolved against. */
  baseDir: string;
  input: { paths: string[]; text_field: string; id_field: string; on_bad: "fail" | "skip" };
  steps: PipelineStep[];
  output: { format: ShardFormat; shard_mb: number };
  stats: { tokenizer?: string; examples: number };
}

const INPUT = z.strictObject({
  paths: z.array(z.string()).min(1).describe("files, folders or globs of JSONL(.gz/.zst) or Parquet documents"),
  text_field: z.string().default("text"),
  id_field: z.string().default("id"),
  on_bad: z.enum(["fail", "skip"]).default("fail"),
});
const OUTPUT = z.strictObject({
  format: z.enum(["jsonl.zst", "jsonl.gz", "jsonl", "parquet"]).default("jsonl.zst"),
  shard_mb: z.number().gt(0).default(64).describe("uncompressed MB per output shard"),
}).prefault({});
const STATS = z.strictObject({
  tokenizer: z.string().optional().describe("a tokenizer folder (tokenizer.json) for token counts"),
  examples: z.number().int().min(0).default(5).describe("removed examples per step in report.html"),
}).prefault({});

/** Parse `value` with `schema`, appending problems prefixed by `at`; undefined when invalid. */
function check<S extends z.ZodType>(schema: S, value: unknown, at: string, problems: string[]): z.output<S> | undefined {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  problems.push(...zodProblems(r.error, schema).map((p) => (p.startsWith("(root)") ? `${at}${p.slice(6)}` : `${at}.${p}`)));
  return undefined;
}

/** Validate a parsed pipeline tree. */
export function parsePipeline(tree: unknown, baseDir: string): Pipeline {
  const problems: string[] = [];
  if (tree === null || typeof tree !== "object" || Array.isArray(tree)) throw new ConfigError("pipeline: expected a mapping with input, steps and output");
  const t = tree as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!["input", "steps", "output", "stats"].includes(k)) problems.push(`${k}: unknown key (known: input, steps, output, stats)`);
  const input = check(INPUT, t.input, "input", problems) as Pipeline["input"];
  const output = check(OUTPUT, t.output, "output", problems) as Pipeline["output"];
  const stats = check(STATS, t.stats, "stats", problems) as Pipeline["stats"];
  const steps: PipelineStep[] = [];
  const used = new Set<string>();
  if (!Array.isArray(t.steps)) problems.push(`steps: expected a list of steps such as "- minhash: {}" (types: ${Object.keys(STEP_TYPES).join(", ")})`);
  else {
    t.steps.forEach((raw, i) => {
      const at = `steps[${i}]`;
      if (raw === null || typeof raw !== "object" || Array.isArray(raw) || Object.keys(raw).length !== 1) {
        problems.push(`${at}: expected a one-key mapping such as "- exact_dedup: {}"`);
        return;
      }
      const [type, body] = Object.entries(raw as Record<string, unknown>)[0];
      const def = STEP_TYPES[type];
      if (!def) {
        problems.push(`${at}: unknown step "${type}" (known: ${Object.keys(STEP_TYPES).join(", ")})`);
        return;
      }
      const schema = z.strictObject({ ...def.fields, name: z.string().optional().describe("folder name under removed/") });
      const cfg = (check(schema, body ?? {}, `${at}.${type}`, problems) ?? {}) as Record<string, unknown>;
      let name = typeof cfg.name === "string" ? cfg.name : type;
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) problems.push(`${at}.${type}.name: use letters, digits, "_", "-" and "."`);
      for (let k = 2; used.has(name); k++) name = `${typeof cfg.name === "string" ? cfg.name : type}-${k}`;
      used.add(name);
      delete cfg.name;
      def.check?.(cfg, `${at}.${type}`, problems);
      steps.push({ type, name, config: cfg });
    });
  }
  if (problems.length) throw new ConfigError("invalid curation pipeline", problems, "fix the keys named above (see `smol curate --help` for every step and its defaults)");
  return { baseDir, input, steps, output, stats };
}

/** Read and validate a pipeline file. */
export function loadPipeline(file: string): Pipeline {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read pipeline ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let tree: unknown;
  try {
    tree = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid ${file.endsWith(".json") ? "JSON" : "YAML"} (${(e as Error).message.split("\n")[0]})`);
  }
  return parsePipeline(tree, path.dirname(path.resolve(file)));
}
