// Mapping a request path onto a file under one of the served roots, refusing anything that could
// leave it: ".." or "." segments (raw or percent-encoded), encoded "/" or "\", NUL, empty segments
// (absolute paths), malformed escapes, and symlinks whose real path lies outside the root.
import * as fs from "node:fs";
import * as path from "node:path";
import { inside } from "./discover.js";

export class PathRefused extends Error {
  constructor(readonly status: 400 | 403 | 404, message: string) {
    super(message);
  }
}

/**
 * Resolve the raw (still percent-encoded) path segments `rawSegments` under `root` (a real path).
 * Returns the real path of an existing regular file inside the root, or throws PathRefused.
 */
export function resolveUnderRoot(root: string, rawSegments: readonly string[]): string {
  if (!rawSegments.length) throw new PathRefused(400, "no file named");
  const segs: string[] = [];
  for (const raw of rawSegments) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      throw new PathRefused(400, "malformed percent-encoding");
    }
    if (s === "" || s === "." || s === "..") throw new PathRefused(400, "empty, '.' or '..' path segment");
    if (/[\\/\0]/.test(s)) throw new PathRefused(400, "encoded separator or NUL in a path segment");
    segs.push(s);
  }
  const candidate = path.join(root, ...segs);
  if (!inside(root, candidate)) throw new PathRefused(403, "outside the served directories");
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    throw new PathRefused(404, "no such file");
  }
  if (!inside(root, real)) throw new PathRefused(403, "a link that leads outside the served directories");
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch {
    throw new PathRefused(404, "no such file");
  }
  if (!st.isFile()) throw new PathRefused(404, "not a file");
  return real;
}
