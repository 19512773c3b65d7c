// The curation pipeline file (YAML or JSON): `input` (paths, text and id fields, bad-record
// policy), `steps` (a list of one-key mappings, `- minhash: {bands: 14}`; each step type owns its
// schema and defaults in steps/index.ts), `output` (shard format and size) and `stats` (an optional
// tokenizer for token counts). Every problem is reported with its dotted path; relative paths are
// resolved against the pipeline file's folder.
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError } from "../errors.js";
import { validate, type Field } from "../util/schema.js";
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

const INPUT: Field = {
  kind: "object",
  fields: {
    paths: { kind: "stringList", doc: "files, folders or globs of JSONL(.gz/.zst) or Parquet documents" },
    text_field: { kind: "string", default: "text" },
    id_field: { kind: "string", default: "id" },
    on_bad: { kind: "string", enum: ["fail", "skip"], default: "fail" },
  },
};
const OUTPUT: Field = {
  kind: "object",
  fields: {
    format: { kind: "string", enum: ["jsonl.zst", "jsonl.gz", "jsonl", "parquet"], default: "jsonl.zst" },
    shard_mb: { kind: "number", gt: 0, default: 64, doc: "uncompressed MB per output shard" },
  },
};
const STATS: Field = {
  kind: "object",
  fields: {
    tokenizer: { kind: "string", optional: true, doc: "a tokenizer folder (tokenizer.json) for token counts" },
    examples: { kind: "number", int: true, min: 0, default: 5, doc: "removed examples per step in report.html" },
  },
};

/** Validate a parsed pipeline tree. */
export function parsePipeline(tree: unknown, baseDir: string): Pipeline {
  const problems: string[] = [];
  if (tree === null || typeof tree !== "object" || Array.isArray(tree)) throw new ConfigError("pipeline: expected a mapping with input, steps and output");
  const t = tree as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!["input", "steps", "output", "stats"].includes(k)) problems.push(`${k}: unknown key (known: input, steps, output, stats)`);
  const input = validate(t.input, INPUT, "input", problems) as Pipeline["input"];
  if (input?.paths && input.paths.length === 0) problems.push("input.paths: needs at least one path");
  const output = validate(t.output, OUTPUT, "output", problems) as Pipeline["output"];
  const stats = validate(t.stats, STATS, "stats", problems) as Pipeline["stats"];
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
      const fields: Record<string, Field> = { ...def.fields, name: { kind: "string", optional: true, doc: "folder name under removed/" } };
      const cfg = (validate(body ?? {}, { kind: "object", fields }, `${at}.${type}`, problems) ?? {}) as Record<string, unknown>;
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
