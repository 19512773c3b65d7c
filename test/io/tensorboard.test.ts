// TensorBoard event files read back by an independent reader written here (its own bitwise
// CRC32C, TFRecord framing and protobuf wire-format decoding; nothing shared with the writer):
// every scalar of a real run's metrics.jsonl comes back with its tag, step and value (float32, as
// the format stores it), the CRCs check, and a flipped byte is caught. Also `smol tensorboard-export`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createTensorboardWriter, maskedCrc32c } from "../../src/io/tensorboard.js";
import { packageRoot } from "../../src/util/paths.js";
import { readRunStatus } from "../../src/io/run-status.js";
import { train } from "../../src/train/run.js";
import { runSmol } from "../helpers.js";
import { makeShardDir, tinyConfig } from "../train/fixture.js";

// ---- the independent reader ---------------------------------------------------------------------
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const mask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: Array<{ tag: string; value: number }>;
}

/** Protobuf wire format: a list of [field, wireType, value] of one message. */
function fields(buf: Buffer): Array<[number, number, number | Buffer]> {
  const out: Array<[number, number, number | Buffer]> = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const f = key >> 3, wt = key & 7;
    if (wt === 0) out.push([f, wt, Number(varint())]);
    else if (wt === 1) { out.push([f, wt, buf.readDoubleLE(i)]); i += 8; }
    else if (wt === 5) { out.push([f, wt, buf.readFloatLE(i)]); i += 4; }
    else if (wt === 2) { const n = Number(varint()); out.push([f, wt, buf.subarray(i, i + n)]); i += n; }
    else throw new Error(`wire type ${wt}`);
  }
  return out;
}

function readEventFile(file: string): ReadEvent[] {
  const buf = fs.readFileSync(file);
  const events: ReadEvent[] = [];
  let i = 0;
  while (i < buf.length) {
    const len = Number(buf.readBigUInt64LE(i));
    if (mask(crc32cBitwise(buf.subarray(i, i + 8))) !== buf.readUInt32LE(i + 8)) throw new Error(`bad length CRC at ${i}`);
    const data = buf.subarray(i + 12, i + 12 + len);
    if (mask(crc32cBitwise(data)) !== buf.readUInt32LE(i + 12 + len)) throw new Error(`bad data CRC at ${i}`);
    i += 16 + len;
    const ev: ReadEvent = { wallTime: 0, step: 0, values: [] };
    for (const [f, , v] of fields(data)) {
      if (f === 1) ev.wallTime = v as number;
      else if (f === 2) ev.step = v as number;
      else if (f === 3) ev.fileVersion = (v as Buffer).toString("utf8");
      else if (f === 5) {
        for (const [sf, , sv] of fields(v as Buffer)) {
          if (sf !== 1) continue;
          const val = { tag: "", value: NaN };
          for (const [vf, , vv] of fields(sv as Buffer)) {
            if (vf === 1) val.tag = (vv as Buffer).toString("utf8");
            else if (vf === 2) val.value = vv as number;
          }
          ev.values.push(val);
        }
      }
    }
    events.push(ev);
  }
  return events;
}

/** What the event files must hold: every number of every record, tagged type/key[/subkey]. */
function expectedScalars(recs: any[]): Array<{ step: number; tag: string; value: number }> {
  const out: Array<{ step: number; tag: string; value: number }> = [];
  for (const r of recs) {
    const walk = (o: any, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (prefix === `${r.type}/` && (k === "step" || k === "type")) continue;
        if (typeof v === "number") out.push({ step: r.step, tag: prefix + k, value: Math.fround(v) });
        else if (v && typeof v === "object") walk(v, `${prefix}${k}/`);
      }
    };
    walk(r, `${r.type}/`);
  }
  return out;
}

const FIXTURE = path.join(packageRoot(), "test/fixtures/dashboard/demo");
const recs = fs.readFileSync(path.join(FIXTURE, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("tensorboard: event files", () => {
  it("CRC32C agrees with the standard check value and with the reader's own", () => {
    const s = Buffer.from("123456789");
    assert.equal(crc32cBitwise(s), 0xe3069283);
    assert.equal(maskedCrc32c(s), mask(0xe3069283));
  });

  it("smol tensorboard-export writes every scalar of a real run, read back equal", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-tb-"));
    try {
      const run = path.join(dir, "run");
      fs.mkdirSync(run);
      for (const f of ["metrics.jsonl", "config.resolved.json"]) fs.copyFileSync(path.join(FIXTURE, f), path.join(run, f));
      const r = await runSmol(["tensorboard-export", run]);
      assert.equal(r.code, 0, r.stderr);
      const files = fs.readdirSync(run).filter((n) => n.includes("tfevents"));
      assert.equal(files.length, 1);
      const events = readEventFile(path.join(run, files[0]));
      assert.equal(events[0].fileVersion, "brain.Event:2");
      const got = events.slice(1).flatMap((e) => e.values.map((v) => ({ step: e.step, tag: v.tag, value: v.value })));
      const want = expectedScalars(recs);
      assert.ok(want.length > 300, `the fixture has ${want.length} scalars`);
      assert.deepEqual(got, want);
      assert.ok(want.some((w) => w.tag === "train/loss") && want.some((w) => w.tag.startsWith("eval/val_loss/")));
      // Wall times rise with the recorded training seconds.
      const walls = events.slice(1).map((e) => e.wallTime);
      assert.ok(walls.every((w, i) => i === 0 || w >= walls[i - 1]) && walls[walls.length - 1] > walls[0]);
      // A second export refuses to add a duplicate; --force replaces it.
      const again = await runSmol(["tensorboard-export", run]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already holds event files/);
      assert.equal((await runSmol(["tensorboard-export", run, "--force"])).code, 0);
      assert.equal(fs.readdirSync(run).filter((n) => n.includes("tfevents")).length, 1);
      // A flipped byte is caught by the CRC.
      const file = path.join(run, fs.readdirSync(run).find((n) => n.includes("tfevents"))!);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 9] ^= 0x10;
      fs.writeFileSync(file, bytes);
      assert.throws(() => readEventFile(file), /bad data CRC/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the live writer appends events a reader can follow, zero values included", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-tb-"));
    try {
      const w = createTensorboardWriter(dir, { wallTime: 1700000000 });
      w.addScalar("train/zero", 3, 0, 1700000001);
      const partial = readEventFile(w.file);
      assert.deepEqual(partial[1].values, [{ tag: "train/zero", value: 0 }], "a zero is stored, not dropped");
      for (const r of recs.slice(0, 20)) w.addRecord(r, 1700000002);
      w.close();
      const events = readEventFile(w.file);
      assert.equal(events[0].wallTime, 1700000000);
      const got = events.slice(2).flatMap((e) => e.values.map((v) => ({ step: e.step, tag: v.tag, value: v.value })));
      assert.deepEqual(got, expectedScalars(recs.slice(0, 20)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the CLI says what is wrong in one line", async () => {
    const r = await runSmol(["tensorboard-export", path.join(os.tmpdir(), "no-such-run-dir")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /metrics\.jsonl does not exist/);
    assert.equal((await runSmol(["tensorboard-export"])).code, 2);
  });

  it("a training run with log.tensorboard: true writes the event file live, and status.json says finished", async () => {
    const data = await makeShardDir();
    const run = path.join(path.dirname(data), "tb-run");
    await train({ config: tinyConfig(data, { log: { every: 1, tensorboard: true } }), runDir: run });
    const files = fs.readdirSync(run).filter((n) => n.includes("tfevents"));
    assert.equal(files.length, 1);
    const events = readEventFile(path.join(run, files[0]));
    const got = events.slice(1).flatMap((e) => e.values.map((v) => ({ step: e.step, tag: v.tag, value: v.value })));
    const recs = fs.readFileSync(path.join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(got, expectedScalars(recs));
    assert.equal(readRunStatus(run)?.state, "finished");
    // Off by default: no event file.
    const plain = path.join(path.dirname(data), "plain-run");
    await train({ config: tinyConfig(data), runDir: plain });
    assert.equal(fs.readdirSync(plain).filter((n) => n.includes("tfevents")).length, 0);
  });
});
