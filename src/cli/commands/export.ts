// `smol export`: the shipping step. A checkpoint or model directory becomes a Hub-ready HF
// directory, a llama.cpp GGUF file, or an ONNX decoder folder for transformers.js/onnxruntime.
import * as fs from "node:fs";
import { UsageError } from "../../errors.js";
import { exportGguf } from "../../export/gguf.js";
import { exportHf, HF_DTYPES, type HfDtype } from "../../export/hf.js";
import { exportOnnx, ONNX_DTYPES, type OnnxDtype } from "../../export/onnx.js";
import { GGUF_DTYPES, type GgufDtype } from "../../models/gguf.js";
import { cliBackend } from "../backend.js";
import { parseCommandArgs, requireOpt, type Command } from "../command.js";

const FORMATS = ["hf", "gguf", "onnx"] as const;

export const command: Command = {
  name: "export",
  summary: "ship a model: Hub-ready HF directory, GGUF (llama.cpp, Ollama) or ONNX (transformers.js)",
  help: `Usage: smol export --model DIR --format hf|gguf|onnx --out PATH [--dtype T] [options]

Formats:
  hf     a clean Hugging Face directory: weights, config.json, generation_config.json, tokenizer
         files with the chat template (tokenizer_config.json and chat_template.jinja) and a model
         card README.md with Hub metadata and a training summary read from the run directory.
         No optimizer or trainer state. --dtype bf16 (default) | fp16 | fp32
  gguf   one .gguf file in llama.cpp's layout for the llama architecture, with the tokenizer and
         chat template inside. --dtype f32 | f16 (default) | bf16 | q8_0 | q4_0
         (norms stay F32; q4_0 keeps the output head in q8_0)
  onnx   a folder transformers.js loads: config.json, generation_config.json, tokenizer files and
         onnx/model.onnx, a decoder with KV cache (inputs input_ids, attention_mask, position_ids,
         past_key_values.N.key|value; outputs logits, present.N.key|value).
         --dtype fp32 (default: onnx/model.onnx) | int8 (weight-only: onnx/model_int8.onnx) | all

Options:
  --model DIR       a model directory or run checkpoint (RUN/step-N), or a .gguf file (required)
  --format F        hf, gguf or onnx (required)
  --out PATH        output directory (hf, onnx) or .gguf file (required)
  --dtype T         weight type, as above
  --run DIR         (hf) run directory for the card's training summary (default: the checkpoint's run)
  --name NAME       model name in the card / GGUF general.name (default: from the path)
  --license L       (hf) card license (default apache-2.0)
  --base-model ID   (hf) card base_model (a Hub id)
  --dataset ID      (hf) card datasets entry; repeat for several
  --tag T           (hf) extra card tag; repeat for several

Examples:
  smol export --model runs/demo/run/step-550 --format hf --out ship/demo
  smol export --model ship/demo --format gguf --dtype q8_0 --out ship/demo-q8_0.gguf
  smol export --model ship/demo --format onnx --dtype all --out ship/demo-onnx`,
  async run(argv) {
    const { values } = parseCommandArgs("export", argv, {
      model: { type: "string" }, format: { type: "string" }, out: { type: "string" }, dtype: { type: "string" },
      run: { type: "string" }, name: { type: "string" }, license: { type: "string" }, "base-model": { type: "string" },
      dataset: { type: "string", multiple: true }, tag: { type: "string", multiple: true },
    });
    const src = requireOpt("export", "model", values.model);
    const format = requireOpt("export", "format", values.format);
    const out = requireOpt("export", "out", values.out);
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`export: --format must be one of ${FORMATS.join(", ")}, got "${format}"`);
    if (!fs.existsSync(src)) throw new UsageError(`export: --model ${src} does not exist`);
    const dtype = values.dtype as string | undefined;
    const allowed: Record<string, readonly string[]> = { hf: Object.keys(HF_DTYPES), gguf: GGUF_DTYPES, onnx: [...ONNX_DTYPES, "all"] };
    if (dtype !== undefined && !allowed[format].includes(dtype)) throw new UsageError(`export: --dtype for --format ${format} must be one of ${allowed[format].join(", ")}, got "${dtype}"`);
    for (const k of ["run", "license", "base-model", "dataset", "tag"]) {
      if (values[k] !== undefined && format !== "hf") throw new UsageError(`export: --${k} applies to --format hf only`);
    }
    const be = cliBackend();
    const t0 = performance.now();
    if (format === "hf") {
      process.stderr.write(`exporting ${src} → ${out} (Hugging Face, ${dtype ?? "bf16"})…\n`);
      const res = await exportHf(src, out, be, {
        dtype: (dtype ?? "bf16") as HfDtype, runDir: values.run as string | undefined, name: values.name as string | undefined,
        license: (values.license as string | undefined) ?? "apache-2.0", baseModel: values["base-model"] as string | undefined,
        datasets: (values.dataset as string[] | undefined) ?? [], tags: (values.tag as string[] | undefined) ?? [],
      });
      console.log(`wrote ${out}/ (${res.files.join(", ")}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    } else if (format === "gguf") {
      process.stderr.write(`exporting ${src} → ${out} (GGUF, ${dtype ?? "f16"})…\n`);
      const res = await exportGguf(src, out, be, (dtype ?? "f16") as GgufDtype, values.name as string | undefined);
      const size = fs.statSync(out).size;
      console.log(`wrote ${out}: ${res.tensors} tensors (${Object.entries(res.types).map(([k, v]) => `${v} ${k}`).join(", ")}), pre-tokenizer "${res.pre}", ${(size / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    } else {
      const dts: OnnxDtype[] = dtype === "all" ? [...ONNX_DTYPES] : [(dtype ?? "fp32") as OnnxDtype];
      process.stderr.write(`exporting ${src} → ${out} (ONNX, ${dts.join(" + ")})…\n`);
      const res = await exportOnnx(src, out, be, dts);
      console.log(`wrote ${out}/ (${res.files.join(", ")}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    }
    return 0;
  },
};
