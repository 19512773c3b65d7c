// Hugging Face config.json ⇄ LlamaConfig: the fixture, both key spellings, transformers' defaults,
// one case per validation rule (ConfigError naming file and key), and write → parse round trips.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../src/errors.js";
import { hfConfigJson, parseHfConfig, readHfConfig, writeHfConfig } from "../../src/io/hf-config.js";
import type { LlamaConfig } from "../../src/models/config.js";
import { PRESETS } from "../../src/models/presets.js";

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

const base = () => ({
  architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: 256, hidden_size: 64,
  intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 10000.0, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 128,
  bos_token_id: 0, eos_token_id: 0, torch_dtype: "float32", hidden_act: "silu",
} as Record<string, unknown>);

const tiny: LlamaConfig = {
  vocab: 256, d: 64, ffn: 160, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ropeTheta: 10000,
  normEps: 1e-5, tied: true, maxSeq: 128, initStd: 0.02, bosTokenId: 0, eosTokenId: 0,
};

test("the fixture's config.json parses to the tiny-llama shape", () => {
  assert.deepEqual(readHfConfig(FIXTURE), tiny);
});

test("new spellings (rope_parameters, dtype) parse like the old ones", () => {
  const j = base();
  delete j.rope_theta;
  delete j.torch_dtype;
  j.rope_parameters = { rope_type: "default", rope_theta: 130000 };
  j.dtype = "bfloat16";
  assert.deepEqual(parseHfConfig(j, "config.json"), { ...tiny, ropeTheta: 130000 });
  j.rope_theta = 130000; // both present and equal: fine
  assert.equal(parseHfConfig(j, "config.json").ropeTheta, 130000);
});

test("absent optional keys take transformers' LlamaConfig defaults", () => {
  const j = base();
  for (const k of ["num_key_value_heads", "rope_theta", "rms_norm_eps", "tie_word_embeddings", "max_position_embeddings",
    "bos_token_id", "eos_token_id", "hidden_act", "torch_dtype", "architectures"]) delete j[k];
  const { bosTokenId: _b, eosTokenId: _e, ...noIds } = tiny;
  assert.deepEqual(parseHfConfig(j, "c.json"), { ...noIds, kvHeads: 4, ropeTheta: 10000, normEps: 1e-6, tied: false, maxSeq: 2048 }, "defaults");
  const c = parseHfConfig({ ...base(), head_dim: 32, eos_token_id: [0, 5], rope_scaling: null }, "c.json");
  assert.equal(c.headDim, 32, "explicit head_dim wins");
  assert.deepEqual(c.eosTokenId, [0, 5]);
});

test("every validation rule gives a ConfigError naming the file and the key", () => {
  const cases: Array<[string, (j: Record<string, unknown>) => void, RegExp]> = [
    ["missing hidden_size", (j) => delete j.hidden_size, /hidden_size: missing \(a positive integer is required\)/],
    ["missing vocab_size", (j) => (j.vocab_size = null), /vocab_size: missing/],
    ["zero", (j) => (j.num_hidden_layers = 0), /num_hidden_layers: must be a positive integer, got 0/],
    ["negative", (j) => (j.intermediate_size = -4), /intermediate_size: must be a positive integer, got -4/],
    ["fractional", (j) => (j.num_attention_heads = 2.5), /num_attention_heads: must be a positive integer, got 2.5/],
    ["string", (j) => (j.num_key_value_heads = "2"), /num_key_value_heads: must be a positive integer, got "2"/],
    ["heads do not divide", (j) => (j.num_attention_heads = 5, j.num_key_value_heads = 5), /num_attention_heads: 5 does not divide hidden_size 64 \(and no head_dim is given\)/],
    ["kv heads do not divide", (j) => (j.num_key_value_heads = 3), /num_key_value_heads: 3 does not divide num_attention_heads 4/],
    ["model_type", (j) => (j.model_type = "mistral"), /model_type: "mistral" is not supported; only "llama"/],
    ["no model_type", (j) => (delete j.model_type, delete j.architectures), /model_type: missing/],
    ["architectures", (j) => (j.architectures = ["MistralForCausalLM"]), /architectures: \["MistralForCausalLM"\] is not supported; only \["LlamaForCausalLM"\]/],
    ["hidden_act", (j) => (j.hidden_act = "gelu"), /hidden_act: "gelu" is not supported \(only "silu"/],
    ["rope_scaling", (j) => (j.rope_scaling = { type: "linear", factor: 2 }), /rope_scaling: \{"type":"linear","factor":2\} is not supported \(plain RoPE only\); it must be null/],
    ["rope_parameters type", (j) => (j.rope_parameters = { rope_type: "llama3", rope_theta: 10000 }), /rope_parameters.rope_type: "llama3" is not supported/],
    ["rope thetas disagree", (j) => (j.rope_parameters = { rope_type: "default", rope_theta: 5e5 }), /rope_parameters.rope_theta: 500000 disagrees with rope_theta 10000/],
    ["rope_theta", (j) => (j.rope_theta = -1), /rope_theta: must be a positive number, got -1/],
    ["rms_norm_eps", (j) => (j.rms_norm_eps = "1e-5"), /rms_norm_eps: must be a positive number, got "1e-5"/],
    ["attention_bias", (j) => (j.attention_bias = true), /attention_bias: true is not supported/],
    ["mlp_bias", (j) => (j.mlp_bias = true), /mlp_bias: true is not supported/],
    ["tie_word_embeddings", (j) => (j.tie_word_embeddings = "yes"), /tie_word_embeddings: must be true or false, got "yes"/],
    ["torch_dtype", (j) => (j.torch_dtype = "int4"), /torch_dtype: "int4" is not one of float32/],
    ["dtype", (j) => (j.dtype = 16), /dtype: 16 is not one of/],
    ["eos", (j) => (j.eos_token_id = [1, -2]), /eos_token_id: must be a non-negative integer, a list of them, or null, got \[1,-2\]/],
    ["bos", (j) => (j.bos_token_id = 1.5), /bos_token_id: must be a non-negative integer or null/],
  ];
  for (const [what, edit, re] of cases) {
    const j = base();
    edit(j);
    assert.throws(() => parseHfConfig(j, "models/x/config.json"), (e: Error) => {
      assert.ok(e instanceof ConfigError, `${what}: got ${e.name}`);
      assert.ok(e.message.startsWith("models/x/config.json: "), `${what}: names the file: ${e.message}`);
      assert.match(e.message, re, what);
      assert.equal(e.problems.length, 1, `${what}: exactly one problem, got ${e.problems.join(" | ")}`);
      return true;
    }, what);
  }
  assert.throws(() => parseHfConfig([1], "c.json"), (e: Error) => e instanceof ConfigError && /c\.json: expected a JSON object/.test(e.message));
});

test("all problems are reported at once", () => {
  const j = base();
  j.vocab_size = 0;
  j.model_type = "gpt2";
  j.rope_scaling = { rope_type: "yarn" };
  assert.throws(() => parseHfConfig(j, "c.json"), (e: Error) => e instanceof ConfigError && e.problems.length === 3);
});

test("readHfConfig: missing file and bad JSON name the file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-cfg-"));
  const file = path.join(dir, "config.json");
  assert.throws(() => readHfConfig(dir), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${file}: cannot read (ENOENT)`));
  fs.writeFileSync(file, "{ nope");
  assert.throws(() => readHfConfig(dir), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${file}: not valid JSON`));
});

test("hfConfigJson writes exactly transformers' LlamaConfig keys, sorted", () => {
  const j = hfConfigJson(tiny, { dtype: "bfloat16" });
  const keys = [
    "architectures", "attention_bias", "attention_dropout", "bos_token_id", "eos_token_id", "head_dim", "hidden_act",
    "hidden_size", "initializer_range", "intermediate_size", "max_position_embeddings", "mlp_bias", "model_type",
    "num_attention_heads", "num_hidden_layers", "num_key_value_heads", "pretraining_tp", "rms_norm_eps", "rope_scaling",
    "rope_theta", "tie_word_embeddings", "torch_dtype", "transformers_version", "use_cache", "vocab_size",
  ];
  assert.deepEqual(Object.keys(j), keys);
  assert.deepEqual(
    { ...j, transformers_version: "-" },
    {
      architectures: ["LlamaForCausalLM"], attention_bias: false, attention_dropout: 0, bos_token_id: 0, eos_token_id: 0,
      head_dim: 16, hidden_act: "silu", hidden_size: 64, initializer_range: 0.02, intermediate_size: 160,
      max_position_embeddings: 128, mlp_bias: false, model_type: "llama", num_attention_heads: 4, num_hidden_layers: 2,
      num_key_value_heads: 2, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000,
      tie_word_embeddings: true, torch_dtype: "bfloat16", transformers_version: "-", use_cache: true, vocab_size: 256,
    },
  );
  assert.equal(hfConfigJson(tiny).torch_dtype, "float32", "default dtype");
});

test("hfConfigJson → JSON → parseHfConfig round-trips every preset and an untied variant", () => {
  const configs: LlamaConfig[] = [
    ...PRESETS.map((p) => p.config),
    { ...tiny, tied: false, bosTokenId: undefined, eosTokenId: [2, 7], headDim: 32 },
  ];
  for (const c of configs) {
    const back = parseHfConfig(JSON.parse(JSON.stringify(hfConfigJson(c))), "config.json");
    const want = { ...c };
    if (want.bosTokenId === undefined) delete want.bosTokenId;
    assert.deepEqual(back, want);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-cfg-"));
  writeHfConfig(dir, tiny, { dtype: "bfloat16" });
  assert.deepEqual(readHfConfig(dir), tiny);
  assert.ok(fs.readFileSync(path.join(dir, "config.json"), "utf8").endsWith("}\n"));
});
