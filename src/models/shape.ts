// Parsing a model given on the command line: a preset name, or an inline shape such as
// "vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768" (the benchmark configs of issue 8).
import { ConfigError } from "../errors.js";
import type { LlamaConfig } from "./config.js";
import { findPreset, PRESETS } from "./presets.js";

const KEYS = ["vocab", "d", "layers", "heads", "kv", "ffn", "theta", "seq"] as const;

export function parseModelSpec(spec: string): { name: string; config: LlamaConfig } {
  if (!spec.includes("=")) {
    const p = findPreset(spec);
    return { name: p.name, config: p.config };
  }
  const vals: Record<string, number> = {};
  const problems: string[] = [];
  for (const part of spec.split(",")) {
    const [k, v] = part.split("=").map((s) => s.trim());
    if (!(KEYS as readonly string[]).includes(k)) problems.push(`unknown key "${k}" (known: ${KEYS.join(", ")})`);
    else if (!/^\d+$/.test(v ?? "") || Number(v) < 1) problems.push(`${k}: expected a positive integer, got "${v}"`);
    else vals[k] = Number(v);
  }
  for (const k of ["vocab", "d", "layers", "heads"]) if (vals[k] === undefined) problems.push(`${k}: required`);
  const kv = vals.kv ?? vals.heads;
  if (vals.d && vals.heads && vals.d % vals.heads !== 0) problems.push(`heads: ${vals.heads} does not divide d ${vals.d}`);
  if (vals.heads && kv && vals.heads % kv !== 0) problems.push(`kv: ${kv} does not divide heads ${vals.heads}`);
  if (problems.length) throw new ConfigError(`bad model shape "${spec}"`, problems, `use a preset (${PRESETS.map((p) => p.name).join(", ")}) or e.g. vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768`);
  const d = vals.d;
  return {
    name: spec,
    config: {
      vocab: vals.vocab, d, layers: vals.layers, heads: vals.heads, kvHeads: kv, headDim: d / vals.heads,
      ffn: vals.ffn ?? Math.round((8 * d) / 3 / 64) * 64, ropeTheta: vals.theta ?? 10000, normEps: 1e-5, tied: true,
      maxSeq: vals.seq ?? 2048, initStd: 0.02,
    },
  };
}
