// llama.cpp through node-llama-cpp (its prebuilt CPU binaries ship inside the npm packages), as the
// independent runtime the GGUF export tests compare against. `loadLlamaCpp` returns undefined,
// with the reason, when the package or its binary cannot be loaded on this machine.
import type { Llama, LlamaModel as LlamaCppModel, Token } from "node-llama-cpp";

export interface LlamaCppRuntime {
  /** log p(ids[t+1] | ids[..t]) for every position, from llama.cpp's next-token probabilities. */
  logprobs(file: string, ids: number[]): Promise<number[]>;
  /** Greedy continuation of `prompt` (llama.cpp's own sampler at temperature 0). */
  greedy(file: string, prompt: number[], n: number): Promise<number[]>;
  /** Full next-token distributions (log-probs) at each position. */
  distributions(file: string, ids: number[]): Promise<Float64Array[]>;
  tokenize(file: string, text: string): Promise<number[]>;
  /** Decode speed: tokens/s generating n tokens after the prompt. */
  decodeSpeed(file: string, prompt: number[], n: number, threads?: number): Promise<number>;
  dispose(): Promise<void>;
}

export async function loadLlamaCpp(): Promise<LlamaCppRuntime | string> {
  let llama: Llama;
  let mod: typeof import("node-llama-cpp");
  try {
    mod = await import("node-llama-cpp");
    llama = await mod.getLlama({ gpu: false, build: "never", logLevel: mod.LlamaLogLevel.warn, progressLogs: false });
  } catch (e) {
    return `node-llama-cpp is not usable here: ${(e as Error).message.split("\n")[0]}`;
  }
  const models = new Map<string, LlamaCppModel>();
  const model = async (file: string) => {
    let m = models.get(file);
    if (!m) {
      m = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      models.set(file, m);
    }
    return m;
  };
  // One thread by default: llama.cpp's threads spin at barriers, which collapses on a machine whose
  // cores are shared with other work (tests do not measure speed).
  const withSeq = async <R>(file: string, n: number, fn: (seq: import("node-llama-cpp").LlamaContextSequence) => Promise<R>, threads = 1): Promise<R> => {
    const m = await model(file);
    // F32 KV cache (llama.cpp defaults to F16) so the comparison tests the weights and their
    // layout, not the cache's rounding; no flash attention.
    const ctx = await m.createContext({
      contextSize: Math.max(64, n + 8), batchSize: Math.max(64, n + 8), threads, sequences: 1,
      experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false,
    });
    try {
      return await fn(ctx.getSequence());
    } finally {
      await ctx.dispose();
    }
  };
  const dists = async (file: string, ids: number[]) =>
    withSeq(file, ids.length, async (seq) => {
      const res = await seq.controlledEvaluate(ids.map((t) => [t as Token, { generateNext: { probabilities: true } }]));
      return res.map((r, i) => {
        const p = r?.next.probabilities;
        if (!p) throw new Error(`llama.cpp gave no probabilities at position ${i}`);
        const out = new Float64Array(p.size);
        for (const [tok, prob] of p) out[tok] = Math.log(prob);
        return out;
      });
    });
  return {
    distributions: dists,
    async logprobs(file, ids) {
      const d = await dists(file, ids);
      return ids.slice(1).map((t, i) => d[i][t]);
    },
    async greedy(file, prompt, n) {
      return withSeq(file, prompt.length + n, async (seq) => {
        const out: number[] = [];
        let input: import("node-llama-cpp").ControlledEvaluateInputItem[] = [...prompt.slice(0, -1).map((t) => t as Token), [prompt[prompt.length - 1] as Token, { generateNext: { token: true, options: { temperature: 0 } } }]];
        while (out.length < n) {
          const res = await seq.controlledEvaluate(input);
          const next = res[res.length - 1]?.next.token;
          if (next === undefined || next === null) throw new Error("llama.cpp produced no token");
          out.push(next);
          input = [[next, { generateNext: { token: true, options: { temperature: 0 } } }]];
        }
        return out;
      });
    },
    async tokenize(file, text) {
      return (await model(file)).tokenize(text, false).map(Number);
    },
    async decodeSpeed(file, prompt, n, threads = 1) {
      return withSeq(file, prompt.length + n, async (seq) => {
        let input: import("node-llama-cpp").ControlledEvaluateInputItem[] = [...prompt.slice(0, -1).map((t) => t as Token), [prompt[prompt.length - 1] as Token, { generateNext: { token: true, options: { temperature: 0 } } }]];
        let res = await seq.controlledEvaluate(input);
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const next = res[res.length - 1]?.next.token as Token;
          input = [[next, { generateNext: { token: true, options: { temperature: 0 } } }]];
          res = await seq.controlledEvaluate(input);
        }
        return n / ((performance.now() - t0) / 1000);
      }, threads);
    },
    async dispose() {
      for (const m of models.values()) await m.dispose();
      await llama.dispose();
    },
  };
}
