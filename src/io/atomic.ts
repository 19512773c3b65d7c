// Crash-safe writes: a file (or a checkpoint directory) is written beside its final path under a
// `.smol-tmp-…` name, fsynced, then renamed into place, so readers see the old or the new version,
// never a torn one. Failures are thrown as SmolError naming the path; formats are left to callers.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { SmolError } from "../errors.js";

/** Prefix of every temporary name (ignored by .gitignore). */
export const TMP_PREFIX = ".smol-tmp-";

function tmpNameBeside(target: string): string {
  const suffix = `${process.pid}-${randomBytes(6).toString("hex")}`;
  return path.join(path.dirname(target), `${TMP_PREFIX}${path.basename(target)}-${suffix}`);
}

function ioError(what: string, p: string, e: unknown): SmolError {
  const msg = e instanceof Error ? e.message : String(e);
  return new SmolError(`cannot ${what} ${p}: ${msg}`, undefined, { cause: e });
}

/** fsync a directory so a rename inside it is durable (a no-op where the OS refuses, e.g. Windows). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Directory fsync is unsupported on some platforms; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Write all of `bytes` to `fd`, looping over short writes. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
}

/**
 * Atomically create or replace `target` with what `write(fd)` writes to a fresh temporary file
 * in the same directory (for streaming writers that must not build the whole file in memory).
 */
export function withAtomicFile(target: string, write: (fd: number) => void): void {
  const tmp = tmpNameBeside(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "wx", 0o644);
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e instanceof SmolError ? e : ioError("write", target, e);
  }
  fsyncDir(path.dirname(target));
}

/** Atomically create or replace `target` with `data` (strings are written as UTF-8). */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  withAtomicFile(target, (fd) => writeAll(fd, bytes));
}

/** Atomically write `value` as pretty JSON (2-space indent) with a trailing newline. */
export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + "\n");
}

/** Create an empty temporary directory next to `finalDir` (creating its parent if needed). */
export function makeTempDirBeside(finalDir: string): string {
  const parent = path.dirname(path.resolve(finalDir));
  try {
    fs.mkdirSync(parent, { recursive: true });
    return fs.mkdtempSync(path.join(parent, `${TMP_PREFIX}${path.basename(finalDir)}-`));
  } catch (e) {
    throw ioError("create a temporary directory beside", finalDir, e);
  }
}

function fsyncTree(dir: string): void {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) fsyncTree(p);
    else if (ent.isFile()) {
      const fd = fs.openSync(p, "r");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  fsyncDir(dir);
}

/**
 * Move a fully written `tmpDir` (from makeTempDirBeside) into place as `finalDir`. Files are fsynced
 * first. An existing `finalDir` is renamed aside, the new one renamed in, then the old one removed;
 * a crash between the two renames leaves the old version under a `.smol-tmp-…-old-…` name.
 */
export function replaceDirAtomic(tmpDir: string, finalDir: string): void {
  const parent = path.dirname(path.resolve(finalDir));
  try {
    fsyncTree(tmpDir);
    let aside: string | undefined;
    if (fs.existsSync(finalDir)) {
      aside = `${tmpNameBeside(finalDir)}-old`;
      fs.renameSync(finalDir, aside);
    }
    try {
      fs.renameSync(tmpDir, finalDir);
    } catch (e) {
      if (aside) fs.renameSync(aside, finalDir);
      throw e;
    }
    fsyncDir(parent);
    if (aside) fs.rmSync(aside, { recursive: true, force: true });
  } catch (e) {
    throw e instanceof SmolError ? e : ioError("move into place", finalDir, e);
  }
}

/**
 * Build a directory atomically: `fill` writes into a fresh temporary directory beside `finalDir`,
 * which then replaces `finalDir` (replaceDirAtomic); on any error the temporary directory is
 * removed and `finalDir` is untouched. Returns what `fill` returns.
 */
export function writeDirAtomic<T>(finalDir: string, fill: (tmp: string) => T): T {
  const tmp = makeTempDirBeside(finalDir);
  try {
    const out = fill(tmp);
    replaceDirAtomic(tmp, finalDir);
    return out;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
