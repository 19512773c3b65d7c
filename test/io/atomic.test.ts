// Atomic writes: files and directories are replaced whole, temporaries never linger, and a failed
// write leaves the previous version untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SmolError } from "../../src/errors.js";
import { makeTempDirBeside, replaceDirAtomic, withAtomicFile, writeFileAtomic, writeJsonAtomic } from "../../src/io/atomic.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "smol-atomic-"));

test("writeFileAtomic creates and replaces; writeJsonAtomic is pretty with a newline", () => {
  const dir = tmp();
  const f = path.join(dir, "a.txt");
  writeFileAtomic(f, "one");
  writeFileAtomic(f, new Uint8Array([0x74, 0x77, 0x6f]));
  assert.equal(fs.readFileSync(f, "utf8"), "two");
  writeJsonAtomic(path.join(dir, "b.json"), { x: [1, 2], y: "z" });
  assert.equal(fs.readFileSync(path.join(dir, "b.json"), "utf8"), '{\n  "x": [\n    1,\n    2\n  ],\n  "y": "z"\n}\n');
  assert.deepEqual(fs.readdirSync(dir).sort(), ["a.txt", "b.json"], "no temporaries left");
});

test("a failed write keeps the old file and removes the temporary", () => {
  const dir = tmp();
  const f = path.join(dir, "a.txt");
  writeFileAtomic(f, "old");
  assert.throws(() => withAtomicFile(f, (fd) => {
    fs.writeSync(fd, "partial");
    throw new Error("disk full");
  }), (e: Error) => e instanceof SmolError && e.message.includes(f) && /disk full/.test(e.message));
  assert.equal(fs.readFileSync(f, "utf8"), "old");
  assert.deepEqual(fs.readdirSync(dir), ["a.txt"]);
  assert.throws(() => writeFileAtomic(path.join(dir, "no", "such", "dir.txt"), "x"), (e: Error) => e instanceof SmolError && /cannot write/.test(e.message));
});

test("replaceDirAtomic installs a new directory and replaces an existing one", () => {
  const root = tmp();
  const final = path.join(root, "runs", "step-10");
  const t1 = makeTempDirBeside(final);
  assert.equal(path.dirname(t1), path.dirname(final), "temp dir is a sibling");
  fs.writeFileSync(path.join(t1, "a"), "1");
  fs.mkdirSync(path.join(t1, "sub"));
  fs.writeFileSync(path.join(t1, "sub", "b"), "2");
  replaceDirAtomic(t1, final);
  assert.equal(fs.readFileSync(path.join(final, "sub", "b"), "utf8"), "2");

  const t2 = makeTempDirBeside(final);
  fs.writeFileSync(path.join(t2, "c"), "3");
  replaceDirAtomic(t2, final);
  assert.deepEqual(fs.readdirSync(final), ["c"], "old contents gone");
  assert.deepEqual(fs.readdirSync(path.dirname(final)), ["step-10"], "nothing left aside");
});
