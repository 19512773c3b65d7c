// Config schemas are zod schemas: one declaration gives the TypeScript type, the defaults, the
// validation and the `--help` key list. This file turns zod's issues into one line per problem
// with its dotted path (`optimizer.lr: expected a number, got string "fast"`), walks a schema for
// the help text, and applies `--set a.b.c=value` overrides to a raw tree before parsing.
import { z } from "zod";
import { ConfigError } from "../errors.js";

type AnySchema = z.ZodType;
// zod 4 keeps its definition on `_zod.def`; these are the few kinds the walkers need.
interface Def {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: AnySchema[];
  in?: AnySchema;
  out?: AnySchema;
  defaultValue?: unknown;
}
const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under wrappers (optional, default, prefault, nullable, pipe). */
function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const d = defOf(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else return s;
  }
}

/** The schema reached by a zod issue path (undefined where the path leaves the schema). */
function schemaAt(root: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
  let s: AnySchema | undefined = root;
  for (const k of path) {
    if (!s) return undefined;
    const d = defOf(unwrap(s));
    if (d.type === "object") s = d.shape?.[String(k)];
    else if (d.type === "array") s = d.element;
    else if (d.type === "record") s = d.valueType;
    else return undefined;
  }
  return s;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || "(root)";
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

const TYPE_WORDS: Record<string, string> = { number: "a number", int: "an integer", string: "a string", boolean: "true or false", object: "a mapping", array: "a list", record: "a mapping" };

/** One line per zod issue, prefixed by its dotted path. */
export function zodProblems(err: z.ZodError, root: AnySchema): string[] {
  const out: string[] = [];
  for (const iss of err.issues) {
    const at = formatPath(iss.path);
    const input = (iss as { input?: unknown }).input;
    switch (iss.code) {
      case "invalid_type":
        if (input === undefined) {
          const doc = schemaAt(root, iss.path)?.description;
          out.push(`${at}: required${doc ? ` (${doc})` : ""}`);
        } else out.push(`${at}: expected ${TYPE_WORDS[iss.expected] ?? iss.expected}, got ${describe(input)}`);
        break;
      case "too_small":
        if (iss.origin === "array") out.push(`${at}: needs at least ${iss.minimum} item(s)`);
        else if (iss.origin === "object" || iss.origin === "record") out.push(`${at}: needs at least ${iss.minimum} entr${Number(iss.minimum) === 1 ? "y" : "ies"}`);
        else out.push(`${at}: must be ${iss.inclusive ? ">=" : ">"} ${iss.minimum}, got ${describe(input).replace(/^number /, "")}`);
        break;
      case "too_big":
        out.push(`${at}: must be ${iss.inclusive ? "<=" : "<"} ${iss.maximum}, got ${describe(input).replace(/^number /, "")}`);
        break;
      case "invalid_value":
        out.push(`${at}: must be one of ${iss.values.map(String).join(", ")}, got ${JSON.stringify(input)}`);
        break;
      case "unrecognized_keys": {
        const known = Object.keys(defOf(unwrap(schemaAt(root, iss.path) ?? root)).shape ?? {});
        for (const k of iss.keys) {
          const near = known.filter((f) => f.startsWith(k.slice(0, 3)) || k.startsWith(f.slice(0, 3)));
          out.push(`${formatPath([...iss.path, k])}: unknown key${near.length ? ` (did you mean ${near.join(" or ")}?)` : ` (known: ${known.join(", ")})`}`);
        }
        break;
      }
      default:
        out.push(`${at}: ${iss.message}`);
    }
  }
  return out;
}

/** Parse `tree` with `schema`; a ConfigError lists every problem (plus `extra` ones found before). */
export function parseConfig<S extends AnySchema>(schema: S, tree: unknown, what: string, hint: string, extra: string[] = []): z.output<S> {
  const r = schema.safeParse(tree, { reportInput: true });
  const problems = [...extra, ...(r.success ? [] : zodProblems(r.error, schema))];
  if (problems.length) throw new ConfigError(what, problems, hint);
  return r.data as z.output<S>;
}

/** Help lines for every leaf key of an object schema: `  key.path [a|b] (default a) — doc`. */
export function schemaHelp(schema: AnySchema, prefix = ""): string[] {
  const lines: string[] = [];
  const d = defOf(unwrap(schema));
  for (const [k, f] of Object.entries(d.shape ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    const inner = unwrap(f);
    const id = defOf(inner);
    if (id.type === "object") {
      lines.push(...schemaHelp(inner, key));
      continue;
    }
    if (id.type === "array" && id.element && defOf(unwrap(id.element)).type === "object") {
      lines.push(`  ${key}: a list, each item:`);
      lines.push(...schemaHelp(id.element, `${key}[]`));
      continue;
    }
    const def = defaultOf(f);
    const req = def !== undefined ? ` (default ${JSON.stringify(def)})` : f.safeParse(undefined).success ? " (optional)" : " (required)";
    const en = id.type === "enum" ? ` [${(inner as unknown as { options: string[] }).options.join("|")}]` : "";
    const doc = f.description ?? inner.description;
    lines.push(`  ${key}${en}${req}${doc ? ` — ${doc}` : ""}`);
  }
  return lines;
}

function defaultOf(s: AnySchema): unknown {
  for (;;) {
    const d = defOf(s);
    if (d.type === "default") return typeof d.defaultValue === "function" ? (d.defaultValue as () => unknown)() : d.defaultValue;
    if (!d.innerType) return undefined;
    s = d.innerType;
  }
}

/** Apply `a.b.c=value` overrides (value parsed as JSON when possible, else kept as a string). */
export function applyOverrides(tree: Record<string, unknown>, sets: readonly string[]): string[] {
  const problems: string[] = [];
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      problems.push(`--set ${s}: expected path.to.key=value`);
      continue;
    }
    const keys = s.slice(0, eq).split(".");
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a bare string */
    }
    let node: Record<string, unknown> = tree;
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i];
      const idx = /^\d+$/.test(k) ? Number(k) : k;
      let next = (node as Record<string | number, unknown>)[idx];
      if (next === undefined || next === null || typeof next !== "object") {
        next = {};
        (node as Record<string | number, unknown>)[idx] = next;
      }
      node = next as Record<string, unknown>;
    }
    const lastKey = keys[keys.length - 1];
    (node as Record<string | number, unknown>)[/^\d+$/.test(lastKey) ? Number(lastKey) : lastKey] = value;
  }
  return problems;
}
