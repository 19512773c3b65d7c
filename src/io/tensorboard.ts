// TensorBoard event files: scalar summaries as `Event` protocol buffers (a minimal subset of
// TensorFlow's event.proto and summary.proto, encoded with protobufjs) in TFRecord framing:
// uint64 length, masked CRC32C of the length, the bytes, masked CRC32C of the bytes (all
// little-endian). Values are stored as `simple_value`, a float32, as TensorBoard's own writers do.
// `createTensorboardWriter` appends live (a training run); `eventFileBytes` builds a whole file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { crc32c } from "@aws-crypto/crc32c";
import protobuf from "protobufjs";

// Field numbers as in tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto;
// simple_value sits in a oneof there too, so a value of 0 is still written (TensorBoard checks presence).
const PROTO = `
syntax = "proto3";
package tensorboard;
message SummaryValue { string tag = 1; oneof value { float simple_value = 2; } }
message Summary { repeated SummaryValue value = 1; }
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; Summary summary = 5; }
}`;

const EventType = protobuf.parse(PROTO).root.lookupType("tensorboard.Event");

/** TFRecord's CRC mask: rotate right by 15 bits and add a constant (mod 2³²). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes) >>> 0;
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: header (length + its masked CRC), payload, payload CRC. */
export function tfRecord(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + payload.length + 4);
  out.writeBigUInt64LE(BigInt(payload.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(payload, 12);
  out.writeUInt32LE(maskedCrc32c(payload), 12 + payload.length);
  return out;
}

export interface Scalar {
  tag: string;
  step: number;
  value: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
}

/** The first record of every event file. */
export function fileVersionEvent(wallTime: number): Buffer {
  return tfRecord(EventType.encode(EventType.create({ wallTime, step: 0, fileVersion: "brain.Event:2" })).finish());
}

/** One Event holding the scalars of one step (all with the same step and wall time). */
export function scalarsEvent(step: number, wallTime: number, values: ReadonlyArray<{ tag: string; value: number }>): Buffer {
  const ev = EventType.create({ wallTime, step, summary: { value: values.map((v) => ({ tag: v.tag, simpleValue: v.value })) } });
  return tfRecord(EventType.encode(ev).finish());
}

/**
 * The scalars of one metrics.jsonl record: every number, nested objects flattened with "/", tagged
 * "<type>/<key>" (train/loss, train/lr, train/tokens_by_source/web, eval/val_loss/code, …); `step`
 * itself is the event's step, not a scalar.
 */
export function recordScalars(rec: { type: string; step: number } & Record<string, unknown>): Array<{ tag: string; value: number }> {
  const out: Array<{ tag: string; value: number }> = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (prefix === `${rec.type}/` && (k === "step" || k === "type")) continue;
      if (typeof v === "number" && Number.isFinite(v)) out.push({ tag: prefix + k, value: v });
      else if (v && typeof v === "object" && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}/`);
    }
  };
  walk(rec, `${rec.type}/`);
  return out;
}

/** The event file name TensorBoard looks for ("tfevents" in the name), unique per process. */
export function eventFileName(wallTime: number, suffix = ""): string {
  return `events.out.tfevents.${Math.floor(wallTime)}.${os.hostname()}.${process.pid}${suffix}`;
}

/** A whole event file for `records` (a file-version event, then one event per record). */
export function eventFileBytes(records: ReadonlyArray<{ type: string; step: number } & Record<string, unknown>>, wallTimeOf: (rec: { step: number } & Record<string, unknown>) => number): Buffer {
  const parts: Buffer[] = [fileVersionEvent(records.length ? wallTimeOf(records[0]) : Date.now() / 1000)];
  for (const r of records) {
    const vals = recordScalars(r);
    if (vals.length) parts.push(scalarsEvent(r.step, wallTimeOf(r), vals));
  }
  return Buffer.concat(parts);
}

export interface TensorboardWriter {
  readonly file: string;
  /** Append one scalar now. */
  addScalar(tag: string, step: number, value: number, wallTime?: number): void;
  /** Append every scalar of a metrics.jsonl record as one event (see recordScalars). */
  addRecord(rec: { type: string; step: number } & Record<string, unknown>, wallTime?: number): void;
  close(): void;
}

/**
 * Open a new event file in `dir` for appending (the trainer calls addRecord beside each
 * metrics.jsonl append; TensorBoard picks up the file as it grows). Each event is written whole.
 */
export function createTensorboardWriter(dir: string, opts: { wallTime?: number } = {}): TensorboardWriter {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, eventFileName(opts.wallTime ?? Date.now() / 1000));
  let fd: number | undefined = fs.openSync(file, "a");
  const write = (b: Buffer) => {
    if (fd === undefined) throw new Error(`tensorboard: ${file} is closed`);
    fs.writeSync(fd, b);
  };
  write(fileVersionEvent(opts.wallTime ?? Date.now() / 1000));
  return {
    file,
    addScalar(tag, step, value, wallTime = Date.now() / 1000) {
      write(scalarsEvent(step, wallTime, [{ tag, value }]));
    },
    addRecord(rec, wallTime = Date.now() / 1000) {
      const vals = recordScalars(rec);
      if (vals.length) write(scalarsEvent(rec.step, wallTime, vals));
    },
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}
