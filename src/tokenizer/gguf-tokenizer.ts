// Byte-level BPE tokenizers in GGUF metadata, as llama.cpp's converter writes them: the
// `tokenizer.ggml.*` keys (model "gpt2", a pre-tokenizer name, tokens with types, merges, special
// ids) and `tokenizer.chat_template`; and back, the tokenizer.json/tokenizer_config.json texts that
// rebuild the same tokenizer from a GGUF file (so `smol generate --model x.gguf` needs nothing else).
import { DataError } from "../errors.js";
import { gv, type GgufFile, type GgufValue } from "../io/gguf.js";
import { byteLevelSpec, byteLevelTokenizerJson, type HfTokenizer } from "./tokenizer.js";

/** llama_token_type values (llama.h): how llama.cpp treats each vocabulary entry. */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

type Json = Record<string, unknown>;

/**
 * The llama.cpp pre-tokenizer whose regexes split text as this tokenizer.json does: "gpt-2" (the
 * GPT-2 regex alone: SmolLab-trained and GPT-2 tokenizers) or "smollm" (each digit apart, then the
 * GPT-2 regex: SmolLM2's Sequence[Digits(individual), ByteLevel]).
 */
export function llamaCppPreName(tokenizerJson: Json, config: Json = {}): "gpt-2" | "smollm" {
  const spec = byteLevelSpec(tokenizerJson, config);
  if (typeof spec === "string") throw new DataError(`GGUF export needs a byte-level BPE tokenizer of the GPT-2 family: ${spec}`, "llama.cpp's gpt2/smollm pre-tokenizers only split text this way");
  if (spec.addPrefixSpace) throw new DataError("GGUF export: a ByteLevel pre-tokenizer with add_prefix_space has no llama.cpp equivalent");
  if (!spec.useRegex) throw new DataError("GGUF export: a ByteLevel pre-tokenizer without the GPT-2 regex has no llama.cpp equivalent");
  if (spec.digits === "runs") throw new DataError("GGUF export: a Digits pre-tokenizer that keeps digit runs together has no llama.cpp equivalent", "SmolLM2-style tokenizers split every digit (individual_digits: true)");
  return spec.digits === "individual" ? "smollm" : "gpt-2";
}

/** The tokenizer.* GGUF keys for a loaded Hugging Face tokenizer, padded to `vocabSize` entries. */
export function ggufTokenizerMetadata(tok: HfTokenizer, vocabSize: number, chatTemplate: string | undefined): Array<[string, GgufValue]> {
  const tj = JSON.parse(tok.files["tokenizer.json"] as string) as Json;
  const config = tok.files["tokenizer_config.json"] ? (JSON.parse(tok.files["tokenizer_config.json"]) as Json) : {};
  const pre = llamaCppPreName(tj, config);
  if (tok.vocabSize > vocabSize) throw new DataError(`the tokenizer has ${tok.vocabSize} tokens but the model's vocab_size is ${vocabSize}`, "export a model and tokenizer that belong together");
  const added = new Map<number, boolean>();
  for (const a of (tj.added_tokens as Json[] | undefined) ?? []) added.set(a.id as number, a.special === true);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const t = id < tok.vocabSize ? tok.idToToken(id) : undefined;
    if (t === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TOKEN_TYPE.UNUSED);
    } else {
      tokens.push(t);
      types.push(added.has(id) ? (added.get(id) ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED) : TOKEN_TYPE.NORMAL);
    }
  }
  const spec = byteLevelSpec(tj, config);
  const merges = typeof spec === "string" ? [] : spec.merges.map(([l, r]) => `${l} ${r}`);
  const out: Array<[string, GgufValue]> = [
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.pre", gv.str(pre)],
    ["tokenizer.ggml.tokens", gv.strs(tokens)],
    ["tokenizer.ggml.token_type", gv.i32s(types)],
    ["tokenizer.ggml.merges", gv.strs(merges)],
  ];
  const tokenText = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v !== null && typeof (v as Json).content === "string" ? ((v as Json).content as string) : undefined);
  const idOf = (key: string) => {
    const name = tokenText(config[key]);
    return name === undefined ? undefined : tok.tokenToId(name);
  };
  const bos = tok.bosId;
  const eos = tok.eosId;
  const unk = idOf("unk_token");
  const pad = idOf("pad_token");
  if (bos !== undefined) out.push(["tokenizer.ggml.bos_token_id", gv.u32(bos)]);
  if (eos !== undefined) out.push(["tokenizer.ggml.eos_token_id", gv.u32(eos)]);
  if (unk !== undefined) out.push(["tokenizer.ggml.unknown_token_id", gv.u32(unk)]);
  if (pad !== undefined) out.push(["tokenizer.ggml.padding_token_id", gv.u32(pad)]);
  // SmolLab's tokenizers add no BOS/EOS when encoding; say so, so llama.cpp does the same.
  out.push(["tokenizer.ggml.add_bos_token", gv.bool(config.add_bos_token === true)]);
  out.push(["tokenizer.ggml.add_eos_token", gv.bool(config.add_eos_token === true)]);
  if (chatTemplate !== undefined) out.push(["tokenizer.chat_template", gv.str(chatTemplate)]);
  return out;
}

/** tokenizer.json and tokenizer_config.json texts rebuilt from a GGUF file's tokenizer keys. */
export function tokenizerFilesFromGguf(f: GgufFile): { "tokenizer.json": string; "tokenizer_config.json": string } {
  const model = f.get("tokenizer.ggml.model");
  if (model !== "gpt2") throw new DataError(`${f.path}: tokenizer.ggml.model is ${JSON.stringify(model)}; SmolLab reads byte-level BPE ("gpt2") tokenizers only`);
  const tokens = f.get("tokenizer.ggml.tokens");
  const types = f.get("tokenizer.ggml.token_type");
  const merges = f.get("tokenizer.ggml.merges");
  if (!Array.isArray(tokens) || !Array.isArray(merges)) throw new DataError(`${f.path}: tokenizer.ggml.tokens and tokenizer.ggml.merges must be arrays`);
  const pre = f.get("tokenizer.ggml.pre") ?? "gpt-2";
  if (pre !== "gpt-2" && pre !== "smollm") throw new DataError(`${f.path}: tokenizer.ggml.pre "${String(pre)}" is not one SmolLab reproduces (gpt-2, smollm)`);
  const vocab: Array<[string, number]> = [];
  const added: Array<{ content: string; id: number; special: boolean }> = [];
  tokens.forEach((t, id) => {
    const type = Array.isArray(types) ? types[id] : TOKEN_TYPE.NORMAL;
    if (type === TOKEN_TYPE.UNUSED) return;
    vocab.push([String(t), id]);
    if (type === TOKEN_TYPE.CONTROL || type === TOKEN_TYPE.USER_DEFINED) added.push({ content: String(t), id, special: type === TOKEN_TYPE.CONTROL });
  });
  const mergePairs = merges.map((m) => {
    const s = String(m);
    const i = s.indexOf(" ", 1);
    return [s.slice(0, i), s.slice(i + 1)] as const;
  });
  let tj = byteLevelTokenizerJson({ vocab, merges: mergePairs, added });
  if (pre === "smollm") {
    const doc = JSON.parse(tj) as Json;
    doc.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, doc.pre_tokenizer] };
    tj = JSON.stringify(doc);
  }
  const config: Json = { add_bos_token: f.get("tokenizer.ggml.add_bos_token") === true, clean_up_tokenization_spaces: false, tokenizer_class: "PreTrainedTokenizerFast" };
  const tokenAt = (key: string) => {
    const id = f.get(key);
    return typeof id === "number" && id < tokens.length ? String(tokens[id]) : undefined;
  };
  for (const [k, key] of [["bos_token", "tokenizer.ggml.bos_token_id"], ["eos_token", "tokenizer.ggml.eos_token_id"], ["unk_token", "tokenizer.ggml.unknown_token_id"], ["pad_token", "tokenizer.ggml.padding_token_id"]]) {
    const t = tokenAt(key);
    if (t !== undefined) config[k] = t;
  }
  const tpl = f.get("tokenizer.chat_template");
  if (typeof tpl === "string") config.chat_template = tpl;
  return { "tokenizer.json": tj, "tokenizer_config.json": JSON.stringify(config, null, 2) + "\n" };
}
