// The native backend: the C++ addon (build/Release/smollab.node) behind the Backend interface.
// The addon's type is derived from Backend (its kernels) plus a few runtime calls, so there is no
// second hand-written list of kernels; every argument is checked once, by CheckedBackend
// (checked.ts), before it reaches C++, which only checks argument types. Kernel semantics are
// those of backend.ts; the addon picks its kernel table at load (`isa`, `bf16`; `useIsa` switches).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BackendError, ShapeError } from "../errors.js";
import { packageRoot } from "../util/paths.js";
import { CheckedBackend, ints, need, type Kernels } from "./checked.js";

type F = Float32Array;

/** The addon's exports (native/addon.cc): every kernel of the seam, plus kernel-table control. */
type Addon = Kernels<F> & {
  isa(): string;
  bf16(): string;
  availableIsas(): string[];
  useIsa(isa: string, bf16: string): void;
  minhashBands(keys: Uint32Array, ok: Uint8Array, shingles: Int32Array, offsets: Int32Array, xor: Int32Array,
    mul: Int32Array, nDocs: number, bands: number, rows: number): void;
};

/** The most float32 elements one native buffer may hold (4 GiB less a cache line). */
export const MAX_ALLOC_ELEMENTS = 2 ** 30 - 16;

export class NativeBackend extends CheckedBackend<Float32Array> {
  readonly name = "native";
  readonly bytesPerElement = 4;

  constructor(private readonly addon: Addon) {
    super(addon);
  }

  /**
   * MinHash-LSH band keys (not a tensor op; used by curate/minhash.ts, whose TypeScript loop is the
   * reference): documents' 32-bit shingle hashes shingles[offsets[d]..offsets[d+1]) → keys
   * [nDocs, bands, 2] and ok[d] (0 for a document without shingles).
   */
  minhashBands(keys: Uint32Array, ok: Uint8Array, shingles: Int32Array, offsets: Int32Array, xor: Int32Array, mul: Int32Array, nDocs: number, bands: number, rows: number): void {
    const op = "minhashBands";
    ints(op, { nDocs, bands, rows }, 2 ** 31 - 1);
    if (bands * rows > 4096 || bands * rows < 1) throw new ShapeError(`${op}: bands*rows must be in [1, 4096], got ${bands * rows}`);
    need(op, "keys", keys, nDocs * bands * 2);
    need(op, "ok", ok, nDocs);
    need(op, "offsets", offsets, nDocs + 1);
    need(op, "xor", xor, bands * rows);
    need(op, "mul", mul, bands * rows);
    for (let d = 0; d < nDocs; d++) {
      if (offsets[d] < 0 || offsets[d + 1] < offsets[d]) throw new ShapeError(`${op}: offsets must be non-decreasing from 0, got offsets[${d}..${d + 1}] = ${offsets[d]}, ${offsets[d + 1]}`);
    }
    need(op, "shingles", shingles, nDocs > 0 ? offsets[nDocs] : 0);
    this.addon.minhashBands(keys, ok, shingles, offsets, xor, mul, nDocs, bands, rows);
  }

  /** The instruction set of the active kernel table: "avx512", "avx2" or "generic". */
  get isa(): string {
    return this.addon.isa();
  }

  /** The bf16 GEMM in use: "avx512bf16" (vdpbf16ps) or "emulated" (bf16-rounded inputs, fp32 sgemm). */
  get bf16(): string {
    return this.addon.bf16();
  }

  /** Instruction sets this CPU supports (SMOL_ISA may force any of them before loading). */
  availableIsas(): string[] {
    return this.addon.availableIsas();
  }

  /**
   * Switch the kernel table (and the bf16 GEMM: "auto" = AVX512-BF16 where the table is avx512 and
   * the CPU has it). Results stay bit-identical per table; used to test every table in one process.
   */
  useIsa(isa: string, bf16: "auto" | "native" | "emulated" = "auto"): void {
    try {
      this.addon.useIsa(isa, bf16);
    } catch (e) {
      throw new BackendError((e as Error).message, `this CPU runs: ${this.availableIsas().join(", ")}`);
    }
  }

  override alloc(n: number): F {
    // V8 cannot wrap one external buffer of more than 4 GiB (it crashes); arenas split below it.
    if (n > MAX_ALLOC_ELEMENTS) throw new BackendError(`alloc: ${n} floats (${(n * 4 / 2 ** 30).toFixed(1)} GiB) exceed the 4 GiB limit of one buffer`, "use a smaller batch or sequence length");
    return super.alloc(n);
  }
}

let loaded: NativeBackend | undefined;

/** The native backend (one per process); throws BackendError when the addon is missing or fails. */
export function loadNative(): NativeBackend {
  if (loaded) return loaded;
  const hint = "run `npm rebuild smollab` after installing a C++ compiler (g++), make and python3";
  const file = join(packageRoot(), "build", "Release", "smollab.node");
  if (!existsSync(file)) throw new BackendError(`native addon not built (${file} is missing)`, hint);
  // libgomp reads its settings when the addon loads it. Idle workers spin 300k iterations by
  // default, which starves a busy machine; a shorter spin keeps a quiet machine's speed (measured
  // equal on training and decoding) and degrades gracefully when other processes share the cores.
  if (process.env.GOMP_SPINCOUNT === undefined && process.env.OMP_WAIT_POLICY === undefined) process.env.GOMP_SPINCOUNT = "20000";
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    const message = (e as Error).message;
    const isaHint = "unset SMOL_ISA, or set it to one of the instruction sets this CPU supports (avx512, avx2, generic)";
    const bf16Hint = "unset SMOL_BF16, or set it to emulated (or native on a CPU with AVX512-BF16)";
    throw new BackendError(`native addon failed to load: ${message}`, /SMOL_ISA/.test(message) ? isaHint : /SMOL_BF16|AVX512-BF16/.test(message) ? bf16Hint : hint, { cause: e });
  }
  return (loaded = new NativeBackend(addon));
}
