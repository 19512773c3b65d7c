// `smol models`: the model presets with parameter counts and FLOPs per token.
import { parameterCount } from "../../models/config.js";
import { PRESETS } from "../../models/presets.js";
import { flopsPerToken } from "../../scaling/flops.js";
import { parseCommandArgs, numberOpt, type Command } from "../command.js";
import { human, table } from "../output.js";

export const command: Command = {
  name: "models",
  summary: "list model presets with parameter counts and FLOPs per token",
  help: `Usage: smol models [--json] [--seq T]

Lists the built-in model presets: the three SmolLM2 sizes (exact published shapes) and small
research presets for quick studies on a CPU.

Options:
  --json      one JSON object per preset: name, params, shape, flops_per_token
  --seq T     sequence length for the attention FLOPs (default 2048)

Example:
  smol models
  smol init --preset research-2m --out models/r2m`,
  async run(argv) {
    const { values } = parseCommandArgs("models", argv, { json: { type: "boolean" }, seq: { type: "string" } });
    const seq = numberOpt("models", "seq", values.seq, { int: true, min: 1 }) ?? 2048;
    const rows = PRESETS.map((p) => {
      const f = flopsPerToken(p.config, seq);
      return { p, params: parameterCount(p.config), f };
    });
    if (values.json) {
      for (const { p, params, f } of rows) {
        const c = p.config;
        console.log(JSON.stringify({
          name: p.name, params, description: p.description,
          shape: { vocab: c.vocab, d_model: c.d, layers: c.layers, heads: c.heads, kv_heads: c.kvHeads, head_dim: c.headDim, ffn: c.ffn, tied: c.tied, rope_theta: c.ropeTheta, max_seq: c.maxSeq, init_std: c.initStd },
          flops_per_token: { seq, forward: f.forward, train: f.train, six_n: f.sixN },
        }));
      }
      return 0;
    }
    console.log(table(
      ["preset", "params", "vocab", "d", "layers", "heads/kv", "ffn", `train FLOPs/token (T=${seq})`, "description"],
      rows.map(({ p, params, f }) => [p.name, params, p.config.vocab, p.config.d, p.config.layers, `${p.config.heads}/${p.config.kvHeads}`, p.config.ffn, human(f.train), p.description]),
    ));
    return 0;
  },
};
