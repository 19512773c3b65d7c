// Strict reader for scaling-law data points: a CSV with a header row naming `params`, `loss` and
// `tokens` and/or `flops` (any order, other columns ignored), or the Chinchilla extraction's
// `Model Size`, `Training FLOP`, `loss`, where tokens D = C / (6N). Every bad value is a DataError
// naming the file, line and column. Column names match case-insensitively; quoted fields are allowed.
import { readFileSync } from "node:fs";
import { DataError } from "../errors.js";

/** One training run's final loss: N parameters, D tokens, optional C training FLOPs. */
export interface ScalingPoint {
  params: number;
  tokens: number;
  loss: number;
  /** Training FLOPs if the file gives them (else callers use 6·N·D). */
  flops?: number;
}

const ALIASES: Record<"params" | "tokens" | "loss" | "flops", string[]> = {
  params: ["params", "model size"],
  tokens: ["tokens"],
  loss: ["loss"],
  flops: ["flops", "training flop"],
};

/** Split one CSV line into fields (RFC 4180 quotes, "" for a literal quote); null if a quote is unclosed. */
function splitLine(line: string): string[] | null {
  const out: string[] = [];
  let cur = "";
  let i = 0;
  let quoted = false;
  while (i < line.length) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur.trim() === "") {
      quoted = true;
      cur = "";
    } else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
    i++;
  }
  if (quoted) return null;
  out.push(cur);
  return out.map((s) => s.trim());
}

export interface ReadOptions {
  /** Fewest points accepted (default 5, the number of parameters of the Chinchilla law). */
  minPoints?: number;
}

/** Parse CSV text; `file` names the source in error messages. */
export function parseScalingCsv(text: string, file = "<csv>", opts: ReadOptions = {}): ScalingPoint[] {
  const minPoints = opts.minPoints ?? 5;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let li = 0;
  while (li < lines.length && lines[li].trim() === "") li++;
  if (li >= lines.length) throw new DataError(`${file}: empty file`, "expected a header row such as params,tokens,loss");
  const header = splitLine(lines[li]);
  if (!header) throw new DataError(`${file}:${li + 1}: unclosed quote in the header`);
  const names = header.map((h) => h.toLowerCase());
  const col = (k: keyof typeof ALIASES): number => {
    for (const a of ALIASES[k]) {
      const i = names.indexOf(a);
      if (i >= 0) return i;
    }
    return -1;
  };
  const iN = col("params");
  const iD = col("tokens");
  const iL = col("loss");
  const iC = col("flops");
  const missing: string[] = [];
  if (iN < 0) missing.push("params (or \"Model Size\")");
  if (iL < 0) missing.push("loss");
  if (iD < 0 && iC < 0) missing.push("tokens or flops (or \"Training FLOP\")");
  if (missing.length) {
    throw new DataError(
      `${file}:${li + 1}: header lacks column ${missing.join(", ")}; found: ${header.join(", ")}`,
      "the header must name params, tokens, loss (optional flops), or Model Size, Training FLOP, loss",
    );
  }
  const points: ScalingPoint[] = [];
  for (let r = li + 1; r < lines.length; r++) {
    const raw = lines[r];
    if (raw.trim() === "") continue;
    const lineNo = r + 1;
    const f = splitLine(raw);
    if (!f) throw new DataError(`${file}:${lineNo}: unclosed quote`);
    if (f.length !== header.length) {
      throw new DataError(`${file}:${lineNo}: ${f.length} fields, the header has ${header.length}`);
    }
    const num = (i: number): number => {
      const s = f[i];
      const v = s === "" ? NaN : Number(s);
      if (!Number.isFinite(v)) throw new DataError(`${file}:${lineNo}: column "${header[i]}" is not a finite number: "${s}"`);
      if (!(v > 0)) throw new DataError(`${file}:${lineNo}: column "${header[i]}" must be > 0, got ${s}`);
      return v;
    };
    const params = num(iN);
    const loss = num(iL);
    const flops = iC >= 0 ? num(iC) : undefined;
    const tokens = iD >= 0 ? num(iD) : (flops as number) / (6 * params);
    points.push(flops === undefined ? { params, tokens, loss } : { params, tokens, loss, flops });
  }
  if (points.length < minPoints) {
    throw new DataError(`${file}: ${points.length} data point${points.length === 1 ? "" : "s"}, need at least ${minPoints} to fit ${minPoints} parameters`);
  }
  return points;
}

/** Read and parse a scaling CSV file. */
export function readScalingCsv(path: string, opts: ReadOptions = {}): ScalingPoint[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DataError(`cannot read ${path}: ${(e as Error).message}`, "check the --points path", { cause: e });
  }
  return parseScalingCsv(text, path, opts);
}
