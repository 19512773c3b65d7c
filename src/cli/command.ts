// What a `smol` subcommand is, and the argument parsing every command shares: node's
// parseArgs with strict checking, `--help` on every command, errors as UsageError naming the fix.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.js";
import { WEIGHT_DTYPES, type WeightChoice } from "../models/packed.js";

export interface Command {
  /** The word after `smol`. */
  name: string;
  /** One line for `smol --help`. */
  summary: string;
  /** Full help text (usage, options, examples) printed by `smol NAME --help`. */
  help: string;
  /** Runs the command; returns the exit code. Throws SmolError subclasses for user errors. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parse argv with strict options; `--help` is added to every command. */
export function parseCommandArgs<O extends Options>(cmd: string, argv: string[], options: O, allowPositionals = false) {
  try {
    const res = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
    return res as unknown as { values: Record<string, unknown> & { help?: boolean }; positionals: string[] };
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${cmd}: ${msg}`, `run \`smol ${cmd} --help\` for the options`);
  }
}

/** Read a numeric option: undefined stays undefined; anything not a finite number is a UsageError. */
export function numberOpt(cmd: string, name: string, v: unknown, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const bad =
    typeof v !== "string" || v.trim() === "" || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
  if (bad) {
    const range = [opts.min !== undefined ? `>= ${opts.min}` : "", opts.max !== undefined ? `<= ${opts.max}` : ""].filter(Boolean).join(" and ");
    throw new UsageError(`${cmd}: --${name} must be ${opts.int ? "an integer" : "a number"}${range ? " " + range : ""}, got "${String(v)}"`);
  }
  return n;
}

/** A required string option. */
export function requireOpt(cmd: string, name: string, v: unknown): string {
  if (typeof v !== "string" || v === "") throw new UsageError(`${cmd}: missing --${name}`, `run \`smol ${cmd} --help\` for usage`);
  return v;
}

/** Parse `--weights` (undefined when absent: loadModel's default, "auto"). */
export function weightsOpt(cmd: string, v: unknown): WeightChoice | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (s === "auto" || (WEIGHT_DTYPES as readonly string[]).includes(s)) return s as WeightChoice;
  throw new UsageError(`${cmd}: --weights must be one of auto, ${WEIGHT_DTYPES.join(", ")}, got "${s}"`);
}
