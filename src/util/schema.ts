// A small typed-config validator: a schema is a tree of field specs; validate() walks a parsed
// YAML/JSON value, fills defaults, and lists EVERY problem with its dotted path (zod-style),
// including unknown keys. Used by train/config.ts and sweep/sweep.ts.

export type Field =
  | { kind: "number"; min?: number; max?: number; gt?: number; int?: boolean; default?: number; optional?: boolean; doc?: string }
  | { kind: "string"; default?: string; optional?: boolean; doc?: string; enum?: readonly string[] }
  | { kind: "bool"; default?: boolean; optional?: boolean; doc?: string }
  | { kind: "object"; fields: Record<string, Field>; optional?: boolean; doc?: string }
  | { kind: "map"; value: Field; optional?: boolean; doc?: string; minKeys?: number }
  | { kind: "array"; item: Field; optional?: boolean; minItems?: number; doc?: string }
  | { kind: "numberList"; optional?: boolean; doc?: string }
  | { kind: "stringList"; optional?: boolean; default?: string[]; doc?: string };

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Validate `value` against `field`; returns the value with defaults filled. Problems are appended. */
export function validate(value: unknown, field: Field, path: string, problems: string[]): unknown {
  const at = path || "(root)";
  if (value === undefined || value === null) {
    if ("default" in field && field.default !== undefined) return field.default;
    if (field.optional) return undefined;
    if (field.kind === "object" && Object.values(field.fields).every((f) => f.optional || ("default" in f && f.default !== undefined) || f.kind === "object")) {
      return validate({}, field, path, problems);
    }
    problems.push(`${at}: required${field.doc ? ` (${field.doc})` : ""}`);
    return undefined;
  }
  switch (field.kind) {
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        problems.push(`${at}: expected a number, got ${describe(value)}`);
        return undefined;
      }
      if (field.int && !Number.isInteger(value)) problems.push(`${at}: expected an integer, got ${value}`);
      if (field.min !== undefined && value < field.min) problems.push(`${at}: must be >= ${field.min}, got ${value}`);
      if (field.gt !== undefined && value <= field.gt) problems.push(`${at}: must be > ${field.gt}, got ${value}`);
      if (field.max !== undefined && value > field.max) problems.push(`${at}: must be <= ${field.max}, got ${value}`);
      return value;
    }
    case "string":
      if (typeof value !== "string") {
        problems.push(`${at}: expected a string, got ${describe(value)}`);
        return undefined;
      }
      if (field.enum && !field.enum.includes(value)) problems.push(`${at}: must be one of ${field.enum.join(", ")}, got "${value}"`);
      return value;
    case "bool":
      if (typeof value !== "boolean") problems.push(`${at}: expected true or false, got ${describe(value)}`);
      return value;
    case "numberList":
      if (!Array.isArray(value) || value.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
        problems.push(`${at}: expected a list of numbers, got ${describe(value)}`);
        return undefined;
      }
      return value;
    case "stringList":
      if (!Array.isArray(value) || value.some((x) => typeof x !== "string")) {
        problems.push(`${at}: expected a list of strings, got ${describe(value)}`);
        return undefined;
      }
      return value;
    case "array": {
      if (!Array.isArray(value)) {
        problems.push(`${at}: expected a list, got ${describe(value)}`);
        return undefined;
      }
      if (field.minItems !== undefined && value.length < field.minItems) problems.push(`${at}: needs at least ${field.minItems} item(s)`);
      return value.map((v, i) => validate(v, field.item, `${path}[${i}]`, problems));
    }
    case "map": {
      if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(`${at}: expected a mapping, got ${describe(value)}`);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      const entries = Object.entries(value as Record<string, unknown>);
      if (field.minKeys !== undefined && entries.length < field.minKeys) problems.push(`${at}: needs at least ${field.minKeys} entr${field.minKeys === 1 ? "y" : "ies"}`);
      for (const [k, v] of entries) out[k] = validate(v, field.value, path ? `${path}.${k}` : k, problems);
      return out;
    }
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(`${at}: expected a mapping, got ${describe(value)}`);
        return undefined;
      }
      const obj = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(obj)) {
        if (!(k in field.fields)) {
          const near = Object.keys(field.fields).filter((f) => f.startsWith(k.slice(0, 3)) || k.startsWith(f.slice(0, 3)));
          problems.push(`${path ? `${path}.${k}` : k}: unknown key${near.length ? ` (did you mean ${near.join(" or ")}?)` : ` (known: ${Object.keys(field.fields).join(", ")})`}`);
        }
      }
      for (const [k, f] of Object.entries(field.fields)) {
        const v = validate(obj[k], f, path ? `${path}.${k}` : k, problems);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
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
