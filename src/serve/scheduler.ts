// Continuous batching for `smol serve`: requests join a queue; the loop admits up to `maxBatch`
// of them (a prefill each), then advances every active sequence by one token in one batched step
// (models/batch-decode.ts), hands each new token to its request, and drops sequences that are
// finished or whose client went away. Between steps it yields to the event loop so new requests,
// streamed writes and disconnects are handled while others decode.
import type { FloatBuf } from "../backend/backend.js";
import { decodeStepCaches as decodeStep } from "../models/batch-decode.js";
import { sampleToken, type SampleOptions } from "../models/generate.js";
import { KVCache, type LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import { Rng } from "../util/rng.js";

export interface GenRequest extends SampleOptions {
  prompt: number[];
  maxTokens: number;
  stopIds: readonly number[];
  /** A new token; return false to finish now (e.g. a stop string was produced). */
  onToken(id: number): boolean | void;
  onDone(reason: "stop" | "length" | "cancelled", err?: Error): void;
  /** Set by the server when the client disconnects. */
  cancelled?: boolean;
}

interface Active {
  req: GenRequest;
  cache: KVCache<FloatBuf>;
  rng: Rng;
  last: number;
  produced: number;
}

export class Scheduler {
  private queue: GenRequest[] = [];
  private active: Active[] = [];
  private running = false;
  private readonly e: Engine<FloatBuf>;
  /** Tokens produced and steps run (for the server's /metrics-like logging and tests). */
  stats = { tokens: 0, steps: 0, maxBatch: 0 };

  constructor(readonly model: LlamaModel<FloatBuf>, readonly maxBatch = 16) {
    this.e = new Engine(model.be);
  }

  submit(req: GenRequest): void {
    this.queue.push(req);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.loop());
    }
  }

  get load(): { active: number; queued: number } {
    return { active: this.active.length, queued: this.queue.length };
  }

  private finish(a: Active, reason: "stop" | "length" | "cancelled"): void {
    a.cache.dispose(this.model.be);
    a.req.onDone(reason);
  }

  /** Take a token for a sequence; true when it continues. */
  private emit(a: Active, id: number): boolean {
    a.produced++;
    a.last = id;
    this.stats.tokens++;
    if (a.req.onToken(id) === false || a.req.stopIds.includes(id)) {
      this.finish(a, "stop");
      return false;
    }
    if (a.produced >= a.req.maxTokens || a.cache.length >= a.cache.maxT) {
      this.finish(a, "length");
      return false;
    }
    return true;
  }

  private async loop(): Promise<void> {
    const V = this.model.config.vocab;
    try {
      while (this.queue.length || this.active.length) {
        // Admit: prefill new sequences (each alone; the prompt is one forward with the cache).
        while (this.queue.length && this.active.length < this.maxBatch) {
          const req = this.queue.shift()!;
          if (req.cancelled) {
            req.onDone("cancelled");
            continue;
          }
          const cache = new KVCache(this.model.be, this.model.config, 1, Math.min(this.model.config.maxSeq, req.prompt.length + req.maxTokens));
          const a: Active = { req, cache, rng: new Rng(req.seed), last: -1, produced: 0 };
          try {
            const row = this.e.noGrad(() => {
              const h = this.model.hidden(this.e, Int32Array.from(req.prompt), 1, req.prompt.length, cache);
              return this.model.logits(this.e, h, Int32Array.of(req.prompt.length - 1)).data.subarray(0, V);
            });
            const id = sampleToken(row, req, a.rng);
            this.e.reset();
            if (this.emit(a, id)) this.active.push(a);
          } catch (err) {
            this.e.reset();
            cache.dispose(this.model.be);
            req.onDone("cancelled", err as Error);
          }
          await new Promise<void>((r) => setImmediate(r));
        }
        this.active = this.active.filter((a) => {
          if (!a.req.cancelled) return true;
          this.finish(a, "cancelled");
          return false;
        });
        if (this.active.length) {
          const batch = this.active;
          this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
          const logits = decodeStep(this.model, this.e, Int32Array.from(batch, (a) => a.last), batch.map((a) => a.cache));
          const next = batch.map((a, i) => sampleToken(logits.subarray(i * V, (i + 1) * V), a.req, a.rng));
          this.e.reset();
          this.stats.steps++;
          this.active = batch.filter((a, i) => this.emit(a, next[i]));
        }
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }

  dispose(): void {
    for (const a of this.active) this.finish(a, "cancelled");
    this.active = [];
    this.e.arena.dispose();
  }
}
