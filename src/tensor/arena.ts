// Bump allocators over backend memory. The activation arena hands out views for one step's
// forward/backward and is reset (not freed) between steps; after the first step it holds one
// chunk of the high-water size, so native memory stays flat over a run. mark()/release() free
// everything allocated after a mark (stack order): no-grad layers and activation checkpointing
// use them to keep one layer's intermediates at a time.
import type { Backend, FloatBuf } from "../backend/backend.js";

const ALIGN = 16; // elements: 64 bytes for float32
/** Largest chunk (elements): 2^28 floats = 1 GiB. V8 cannot hold one external buffer past 4 GiB. */
const MAX_CHUNK = 1 << 28;

/** A position in the arena (from mark()); views handed out after it die at release(). */
export interface ArenaMark {
  chunkIndex: number;
  offset: number;
  used: number;
}

export class Arena<F extends FloatBuf> {
  private chunks: F[] = [];
  private chunkIndex = 0;
  private offset = 0;
  private used = 0;
  /** Largest position reached since the last reset: elements of earlier chunks plus the offset. */
  private peakPos = 0;
  private highWater = 0;
  /** Set when this step had to add a chunk: the next reset() re-plans the chunks. */
  private grew = false;

  constructor(private readonly be: Backend<F>, private readonly initialElements = 1 << 20) {}

  /** A view of n elements, valid until reset() (or release() of an earlier mark). Zero-filled when `zero`. */
  alloc(n: number, zero = false): F {
    const need = Math.ceil(n / ALIGN) * ALIGN;
    for (;;) {
      const chunk = this.chunks[this.chunkIndex];
      if (chunk && this.offset + need <= chunk.length) {
        const view = chunk.subarray(this.offset, this.offset + n) as F;
        this.offset += need;
        this.used += need;
        let pos = this.offset;
        for (let k = 0; k < this.chunkIndex; k++) pos += this.chunks[k].length;
        if (pos > this.peakPos) this.peakPos = pos;
        if (zero) this.be.fill(view, 0, n);
        return view;
      }
      if (chunk) {
        this.chunkIndex++;
        this.offset = 0;
        continue;
      }
      const size = Math.max(need, Math.min(MAX_CHUNK, Math.max(this.initialElements, this.highWater - this.used)));
      this.chunks.push(this.be.alloc(size));
      this.grew = true;
      this.offset = 0;
    }
  }

  /** The current position, for release(). */
  mark(): ArenaMark {
    return { chunkIndex: this.chunkIndex, offset: this.offset, used: this.used };
  }

  /** Forget every view handed out since `m` (views from before it stay valid). */
  release(m: ArenaMark): void {
    this.chunkIndex = m.chunkIndex;
    this.offset = m.offset;
    this.used = m.used;
  }

  /**
   * Forget every view handed out. If the step had to add chunks, replace them with as few as
   * possible (one, unless the step needs more than MAX_CHUNK), sized from the high-water position
   * (which includes the space lost at chunk ends), so the next step allocates nothing.
   */
  reset(): void {
    this.highWater = Math.max(this.highWater, this.peakPos);
    if (this.grew && this.chunks.length > 1) {
      for (const c of this.chunks) this.be.free(c);
      this.chunks = [];
      let left = Math.ceil(this.highWater / ALIGN) * ALIGN;
      while (left > 0) {
        const n = Math.min(left, MAX_CHUNK);
        this.chunks.push(this.be.alloc(n));
        left -= n;
      }
    }
    this.grew = false;
    this.chunkIndex = 0;
    this.offset = 0;
    this.used = 0;
    this.peakPos = 0;
  }

  /** Elements reserved in chunks. */
  capacity(): number {
    return this.chunks.reduce((s, c) => s + c.length, 0);
  }

  /** Largest position reached since the last reset (elements). */
  peak(): number {
    return this.peakPos;
  }

  dispose(): void {
    for (const c of this.chunks) this.be.free(c);
    this.chunks = [];
    this.reset();
  }
}
