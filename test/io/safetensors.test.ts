// safetensors reader/writer: bit-exact round trips for every written dtype, the committed PyTorch
// fixture against parameterShapes(config), HF sharding + index, and one hand-built corrupt file per
// validation rule (each must raise a CheckpointError naming the file and the problem).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CheckpointError, ShapeError } from "../../src/errors.js";
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "../../src/io/dtypes.js";
import { readHfConfig } from "../../src/io/hf-config.js";
import {
  INDEX_FILE, openCheckpoint, openSafetensors, writeSafetensors, writeShardedCheckpoint, type TensorToWrite,
} from "../../src/io/safetensors.js";
import { parameterShapes } from "../../src/models/config.js";
import { randn } from "../helpers.js";

/** The repository root (works from test/ under tsx and from dist/test/ after a build). */
function repoRoot(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, "package.json"))) {
    if (path.dirname(d) === d) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    d = path.dirname(d);
  }
  return d;
}
const FIXTURE = path.join(repoRoot(), "test", "fixtures", "tiny-llama");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "smol-st-"));
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

test("round trip F32/I32/I64 is bit-identical; header is padded, ordered, carries metadata", () => {
  const dir = tmp();
  const file = path.join(dir, "a.safetensors");
  const special = new Uint32Array([0x7fc00001, 0xff800000, 0x7f800000, 0x80000000, 0x00000001, 0x7f7fffff]);
  const f = new Float32Array(6 * 7);
  f.set(Float32Array.from(randn(42, 1, 3)));
  f.set(new Float32Array(special.buffer), 0);
  const i32 = new Int32Array([-2147483648, 2147483647, 0, -1, 5, 6]);
  const i64 = new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]);
  const f64 = Float64Array.from(randn(5, 2));
  const tensors: TensorToWrite[] = [
    { name: "w", dtype: "F32", shape: [6, 7], data: f },
    { name: "ids", dtype: "I64", shape: [2, 2], data: i64 },
    { name: "i", dtype: "I32", shape: [6], data: i32 },
    { name: "widened", dtype: "I64", shape: [6], data: i32 },
    { name: "from64", dtype: "F32", shape: [5], data: f64 },
    { name: "scalar", dtype: "F32", shape: [], data: new Float32Array([2.5]) },
    { name: "empty", dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
  ];
  writeSafetensors(file, tensors, { format: "pt", note: "hi" });
  assert.deepEqual(fs.readdirSync(dir), ["a.safetensors"], "no temporary files left");

  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal(n % 8, 0, "header length is a multiple of 8");
  const text = bytes.subarray(8, 8 + n).toString("utf8");
  assert.match(text, /^\{.*\} *$/s, "header is JSON padded with spaces");
  const keys = Object.keys(JSON.parse(text));
  assert.deepEqual(keys, ["__metadata__", ...tensors.map((t) => t.name)], "tensors in the given order");

  const st = openSafetensors(file);
  try {
    assert.deepEqual(st.metadata, { format: "pt", note: "hi" });
    assert.deepEqual([...st.tensors.keys()], tensors.map((t) => t.name));
    assert.deepEqual(st.tensors.get("ids"), { dtype: "I64", shape: [2, 2], begin: 168, end: 200 });
    assert.deepEqual(bitsOf(st.read("w")), bitsOf(f), "F32 bits (incl. NaN payload, -0, subnormal)");
    assert.deepEqual(st.readInt("ids"), i64);
    assert.deepEqual(st.readInt("i"), i32);
    assert.deepEqual(st.readInt("widened"), BigInt64Array.from(i32, (v) => BigInt(v)));
    assert.deepEqual(st.read("from64"), Float32Array.from(f64), "float64 input rounded to float32");
    assert.deepEqual(st.read("scalar"), new Float32Array([2.5]));
    assert.equal(st.read("empty").length, 0);
    assert.deepEqual(st.readRaw("i"), new Uint8Array(i32.buffer));
    assert.throws(() => st.read("ids"), (e: Error) => e instanceof CheckpointError && /"ids" is I64, not a float/.test(e.message));
    assert.throws(() => st.readInt("w"), (e: Error) => e instanceof CheckpointError && /"w" is F32, not an integer/.test(e.message));
    assert.throws(() => st.read("nope"), (e: Error) => e instanceof CheckpointError && e.message.includes('a.safetensors: no tensor "nope"'));
  } finally {
    st.close();
  }
  assert.throws(() => st.read("w"), /read after close/);
});

test("BF16/F16: representable values round-trip exactly; others are rounded to nearest even", () => {
  const file = path.join(tmp(), "h.safetensors");
  // Every finite pattern, decoded: exactly representable, so it must come back unchanged.
  const allBf = new Float32Array(65536).map((_, h) => bf16BitsToF32(h)).filter((x) => !Number.isNaN(x));
  const allF16 = new Float32Array(65536).map((_, h) => f16BitsToF32(h)).filter((x) => !Number.isNaN(x));
  // Values that need rounding, across a chunk boundary of the streaming writer (2^20 elements).
  const big = Float32Array.from(randn((1 << 20) + 3, 9, 100));
  const raw = new Uint16Array([0x3f80, 0x7fc0, 0x0001]);
  writeSafetensors(file, [
    { name: "bf", dtype: "BF16", shape: [allBf.length], data: allBf },
    { name: "f16", dtype: "F16", shape: [allF16.length], data: allF16 },
    { name: "bigbf", dtype: "BF16", shape: [big.length], data: big },
    { name: "bigf16", dtype: "F16", shape: [big.length], data: big },
    { name: "raw", dtype: "BF16", shape: [3], data: raw },
    { name: "nan", dtype: "F16", shape: [3], data: new Float32Array([NaN, Infinity, -Infinity]) },
  ]);
  const st = openSafetensors(file);
  try {
    assert.deepEqual(bitsOf(st.read("bf")), bitsOf(allBf));
    assert.deepEqual(bitsOf(st.read("f16")), bitsOf(allF16));
    const bigBf = new Uint16Array(st.readRaw("bigbf").buffer);
    const bigF16 = new Uint16Array(st.readRaw("bigf16").buffer);
    for (let i = 0; i < big.length; i += 997) {
      assert.equal(bigBf[i], f32ToBf16Bits(big[i]), `bf16 bits at ${i}`);
      assert.equal(bigF16[i], f32ToF16Bits(big[i]), `f16 bits at ${i}`);
    }
    const last = big.length - 1;
    assert.equal(bigBf[last], f32ToBf16Bits(big[last]), "last element after the chunk boundary");
    assert.equal(st.read("bigbf")[last], bf16BitsToF32(bigBf[last]));
    assert.deepEqual(new Uint16Array(st.readRaw("raw").buffer), raw, "Uint16Array is written as raw bits");
    const nan = st.read("nan");
    assert.ok(Number.isNaN(nan[0]));
    assert.deepEqual([nan[1], nan[2]], [Infinity, -Infinity]);
  } finally {
    st.close();
  }
});

test("reads are lazy: tensor bytes come from disk at read() time, at the tensor's offset", () => {
  const file = path.join(tmp(), "lazy.safetensors");
  writeSafetensors(file, [
    { name: "a", dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
    { name: "b", dtype: "F32", shape: [2], data: new Float32Array([3, 4]) },
  ]);
  const st = openSafetensors(file);
  const b = st.tensors.get("b")!;
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, new Uint8Array(new Float32Array([7, 8]).buffer), 0, 8, st.dataStart + b.begin);
  fs.closeSync(fd);
  assert.deepEqual(st.read("b"), new Float32Array([7, 8]));
  assert.deepEqual(st.read("a"), new Float32Array([1, 2]));
  st.close();
});

test("writer rejects bad input with typed errors", () => {
  const file = path.join(tmp(), "bad.safetensors");
  const f = new Float32Array(6);
  assert.throws(() => writeSafetensors(file, [{ name: "x", dtype: "F32", shape: [2, 2], data: f }]),
    (e: Error) => e instanceof ShapeError && /"x" shape \[2,2\] needs 4 values, data has 6/.test(e.message));
  assert.throws(() => writeSafetensors(file, [{ name: "x", dtype: "I32", shape: [6], data: f }]),
    (e: Error) => e instanceof ShapeError && /cannot be written as I32 from a Float32Array/.test(e.message));
  assert.throws(() => writeSafetensors(file, [{ name: "x", dtype: "F32", shape: [6], data: f }, { name: "x", dtype: "F32", shape: [6], data: f }]),
    (e: Error) => e instanceof CheckpointError && /"x" is duplicated/.test(e.message));
  assert.throws(() => writeSafetensors(file, [{ name: "__metadata__", dtype: "F32", shape: [6], data: f }]), /reserved/);
  assert.equal(fs.existsSync(file), false, "nothing written");
});

test("tiny-llama fixture (PyTorch-written) matches parameterShapes(config)", () => {
  const config = readHfConfig(FIXTURE);
  const ck = openCheckpoint(FIXTURE);
  try {
    const want = parameterShapes(config);
    assert.deepEqual([...ck.names()].sort(), want.map((p) => p.name).sort());
    for (const p of want) {
      assert.deepEqual(ck.shape(p.name), p.shape, p.name);
      assert.equal(ck.dtype(p.name), "F32", p.name);
      const v = ck.read(p.name);
      assert.equal(v.length, p.shape.reduce((a, b) => a * b, 1));
      assert.ok(v.every(Number.isFinite), `${p.name} finite`);
      assert.deepEqual(v, new Float32Array(ck.readRaw(p.name).buffer), `${p.name} read == raw bytes`);
    }
    assert.equal(ck.metadata?.format, "pt");
    assert.deepEqual(ck.read("model.norm.weight").length, 64);
  } finally {
    ck.close();
  }
  const g = openSafetensors(path.join(FIXTURE, "golden.safetensors"));
  try {
    assert.deepEqual(g.tensors.get("input_ids")?.shape, [2, 16]);
    const ids = g.readInt("input_ids");
    assert.ok(ids instanceof BigInt64Array && ids.every((x) => x >= 0n && x < 256n), "token ids in vocab");
    assert.deepEqual(g.tensors.get("logits")?.shape, [2, 16, 256]);
    assert.ok(g.read("loss")[0] > 0);
    assert.ok(g.metadata?.adamw?.includes('"lr": 0.01'));
  } finally {
    g.close();
  }
});

test("sharded checkpoint: HF packing, names, index, stale-file cleanup, unified read", () => {
  const dir = tmp();
  const mk = (name: string, n: number, seed: number): TensorToWrite => ({ name, dtype: "F32", shape: [n], data: Float32Array.from(randn(n, seed)) });
  // Sizes 40,60,40,100,8 bytes with max 100: [40,60] (exactly full) [40] [100] [8].
  const ts = [mk("b.x", 10, 1), mk("a.y", 15, 2), mk("c", 10, 3), mk("big", 25, 4), mk("z", 2, 5)];
  const out = writeShardedCheckpoint(dir, ts, { maxShardBytes: 100 });
  const shard = (k: number) => `model-0000${k}-of-00004.safetensors`;
  assert.deepEqual(out, { files: [shard(1), shard(2), shard(3), shard(4), INDEX_FILE], totalSize: 248 });
  const indexText = fs.readFileSync(path.join(dir, INDEX_FILE), "utf8");
  const expected = {
    metadata: { total_size: 248 },
    weight_map: { "a.y": shard(1), "b.x": shard(1), big: shard(3), c: shard(2), z: shard(4) }, // "." < "i"
  };
  assert.equal(indexText, JSON.stringify(expected, null, 2) + "\n", "index exactly as transformers writes it (sorted keys)");
  const ck = openCheckpoint(dir);
  try {
    assert.deepEqual(ck.names(), ["a.y", "b.x", "big", "c", "z"]);
    assert.equal(ck.files.length, 4);
    for (const t of ts) assert.deepEqual(bitsOf(ck.read(t.name)), bitsOf(t.data as Float32Array), t.name);
    assert.deepEqual(ck.shape("big"), [25]);
    assert.throws(() => ck.read("nope"), (e: Error) => e instanceof CheckpointError && /no tensor "nope"/.test(e.message));
  } finally {
    ck.close();
  }
  assert.deepEqual(openSafetensors(path.join(dir, shard(1))).metadata, { format: "pt" });

  // Re-saving as one file removes the shards and the index (else readers could pick stale weights).
  fs.writeFileSync(path.join(dir, "config.json"), "{}");
  const one = writeShardedCheckpoint(dir, ts, { maxShardBytes: 1e9, metadata: { step: "3" } });
  assert.deepEqual(one.files, ["model.safetensors"]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
  const ck1 = openCheckpoint(dir);
  assert.deepEqual(ck1.metadata, { step: "3", format: "pt" });
  assert.deepEqual(ck1.names(), ts.map((t) => t.name));
  ck1.close();

  // And back to shards: the single file must go, since transformers would prefer it.
  writeShardedCheckpoint(dir, ts, { maxShardBytes: 100 });
  assert.equal(fs.existsSync(path.join(dir, "model.safetensors")), false);
});

test("sharded round trip of the fixture model", () => {
  const src = openCheckpoint(FIXTURE);
  const ts: TensorToWrite[] = src.names().map((name) => ({ name, dtype: "F32", shape: src.shape(name), data: src.read(name) }));
  const dir = tmp();
  const { files } = writeShardedCheckpoint(dir, ts, { maxShardBytes: 100_000 });
  assert.ok(files.length > 2, `expected several shards, got ${files.join(", ")}`);
  const ck = openCheckpoint(dir);
  for (const t of ts) assert.deepEqual(bitsOf(ck.read(t.name)), bitsOf(t.data as Float32Array), t.name);
  ck.close();
  src.close();
});

test("sharded index problems are CheckpointErrors naming the index and the shard/tensor", () => {
  const dir = tmp();
  const t = (name: string): TensorToWrite => ({ name, dtype: "F32", shape: [1], data: new Float32Array([1]) });
  writeSafetensors(path.join(dir, "s1.safetensors"), [t("a")]);
  const index = (wm: unknown) => fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: {}, weight_map: wm }));
  const expectErr = (re: RegExp) =>
    assert.throws(() => openCheckpoint(dir), (e: Error) => e instanceof CheckpointError && e.message.includes(INDEX_FILE) && re.test(e.message), re.source);
  index({ a: "s1.safetensors", b: "s2.safetensors" });
  expectErr(/shard "s2.safetensors" named in the weight_map does not exist/);
  index({ a: "s1.safetensors", b: "s1.safetensors" });
  expectErr(/tensor "b" is mapped to "s1.safetensors" but that shard does not hold it/);
  index({ a: "../s1.safetensors" });
  expectErr(/must be a file name in the same directory/);
  index(["a"]);
  expectErr(/"weight_map" must be an object/);
  fs.writeFileSync(path.join(dir, INDEX_FILE), "{nope");
  expectErr(/not valid JSON/);
  const empty = tmp();
  assert.throws(() => openCheckpoint(empty), (e: Error) => e instanceof CheckpointError && e.message.includes("no model.safetensors or model.safetensors.index.json"));
  // A corrupt shard is reported with the shard's own name.
  fs.writeFileSync(path.join(dir, "s1.safetensors"), "xx");
  index({ a: "s1.safetensors" });
  assert.throws(() => openCheckpoint(dir), /s1\.safetensors: file is 2 bytes, too short/);
});

// ---- corrupt files, built by hand ------------------------------------------------------------

function rawFile(header: string | Uint8Array, data: number, lenOverride?: bigint): string {
  const h = typeof header === "string" ? Buffer.from(header, "utf8") : Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lenOverride ?? BigInt(h.length));
  const file = path.join(tmp(), "model.safetensors");
  fs.writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(data)]));
  return file;
}
const entry = (dtype: unknown, shape: unknown, off: unknown) => ({ dtype, shape, data_offsets: off });
const hdr = (o: Record<string, unknown>) => JSON.stringify(o);

test("every corruption is a CheckpointError naming the file and the problem", () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ["too short", () => { const f = path.join(tmp(), "model.safetensors"); fs.writeFileSync(f, Buffer.alloc(5)); return f; },
      /file is 5 bytes, too short for a safetensors header/],
    ["absurd header length", () => rawFile("{}", 0, 2n ** 40n), /header length 1099511627776 bytes exceeds the 100 MB limit/],
    ["header past end of file", () => rawFile("{}", 0, 200n), /header length 200 runs past the end of the file \(10 bytes\)/],
    ["header not JSON", () => rawFile("{not json", 0), /header is not valid JSON/],
    ["header not an object", () => rawFile("[1, 2]", 0), /header must be a JSON object starting with "\{"/],
    ["header not UTF-8", () => rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 0), /header is not valid UTF-8/],
    ["unknown dtype", () => rawFile(hdr({ x: entry("F12", [1], [0, 4]) }), 4), /tensor "x" has unknown dtype "F12" \(known: BOOL, .*BF16.*\)/],
    ["entry not an object", () => rawFile(hdr({ x: [1, 2] }), 0), /tensor "x" entry must be an object/],
    ["negative dim", () => rawFile(hdr({ x: entry("F32", [2, -1], [0, 0]) }), 0), /tensor "x" shape must be an array of non-negative integers, got \[2,-1\]/],
    ["fractional dim", () => rawFile(hdr({ x: entry("F32", [2.5], [0, 10]) }), 10), /shape must be an array of non-negative integers/],
    ["shape not array", () => rawFile(hdr({ x: entry("F32", "3", [0, 12]) }), 12), /shape must be an array of non-negative integers, got "3"/],
    ["offsets wrong arity", () => rawFile(hdr({ x: entry("F32", [1], [0]) }), 4), /tensor "x" data_offsets must be \[begin, end\] non-negative integers, got \[0\]/],
    ["offsets missing", () => rawFile(hdr({ x: { dtype: "F32", shape: [1] } }), 4), /data_offsets must be \[begin, end\]/],
    ["offsets negative", () => rawFile(hdr({ x: entry("F32", [1], [-4, 0]) }), 4), /data_offsets must be \[begin, end\]/],
    ["offsets reversed", () => rawFile(hdr({ x: entry("F32", [0], [8, 0]) }), 8), /tensor "x" data_offsets \[8,0\] are out of order/],
    ["size mismatch", () => rawFile(hdr({ x: entry("F32", [2, 3], [0, 20]) }), 20), /tensor "x" data_offsets \[0,20\] hold 20 bytes but F32 \[2,3\] needs 24/],
    ["past end of data", () => rawFile(hdr({ x: entry("F32", [25], [0, 100]) }), 64), /model\.safetensors: tensor "x" data_offsets \[0,100\] run past the end of the data \(64 bytes\)/],
    ["overlap", () => rawFile(hdr({ a: entry("F32", [16], [0, 64]), b: entry("F32", [16], [32, 96]) }), 96), /tensors "a" \[0,64\] and "b" \[32,96\] overlap/],
    ["duplicate offsets", () => rawFile(hdr({ a: entry("F32", [4], [0, 16]), b: entry("F32", [4], [0, 16]) }), 16), /tensors "a" \[0,16\] and "b" \[0,16\] overlap/],
    ["gap between", () => rawFile(hdr({ a: entry("F32", [8], [0, 32]), b: entry("F32", [8], [40, 72]) }), 72), /data bytes \[32,40\) belong to no tensor \(gap before "b"\)/],
    ["gap at start", () => rawFile(hdr({ a: entry("F32", [8], [8, 40]) }), 40), /data bytes \[0,8\) belong to no tensor \(gap before "a"\)/],
    ["trailing bytes", () => rawFile(hdr({ a: entry("F32", [8], [0, 32]) }), 40), /data bytes \[32,40\) at the end of the file belong to no tensor/],
    ["duplicate name", () => rawFile('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
      /tensor "x" appears more than once in the header/],
    ["metadata not strings", () => rawFile(hdr({ __metadata__: { step: 3 } }), 0), /__metadata__ key "step" must be a string, got 3/],
    ["metadata not object", () => rawFile(hdr({ __metadata__: "x" }), 0), /__metadata__ must be an object of strings/],
  ];
  for (const [what, make, re] of cases) {
    const file = make();
    assert.throws(() => openSafetensors(file), (e: Error) => {
      assert.ok(e instanceof CheckpointError, `${what}: ${e.name} is not a CheckpointError`);
      assert.ok(e.message.startsWith(file + ": "), `${what}: message must start with the file name: ${e.message}`);
      assert.match(e.message, re, what);
      return true;
    }, what);
  }
  assert.throws(() => openSafetensors(path.join(tmp(), "missing.safetensors")), (e: Error) => e instanceof CheckpointError && /missing\.safetensors: cannot open \(ENOENT\)/.test(e.message));
});

test("valid edge cases are accepted: empty file body, zero-size tensors, header order ≠ data order", () => {
  assert.equal(openSafetensors(rawFile("{}", 0)).tensors.size, 0);
  assert.equal(openSafetensors(rawFile("{}      ", 0)).tensors.size, 0, "space padding");
  const st = openSafetensors(rawFile(hdr({ b: entry("F32", [1], [4, 8]), e: entry("I64", [0], [4, 4]), a: entry("F32", [1], [0, 4]) }), 8));
  assert.deepEqual([...st.tensors.keys()], ["b", "e", "a"]);
  assert.equal(st.readInt("e").length, 0);
  st.close();
});
