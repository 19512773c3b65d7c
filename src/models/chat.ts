// Chat templates exactly as transformers applies them: read from a model or tokenizer directory
// (or a GGUF file's tokenizer.chat_template)
// (`chat_template.jinja`, what transformers 5 writes, else tokenizer_config.json "chat_template"),
// rendered with @huggingface/jinja. There is no silent fallback: a directory without a template is
// a clear error when chat is asked for. CHATML_TEMPLATE is what `add_chat_tokens` gives a base model.
import * as fs from "node:fs";
import * as path from "node:path";
import { Template } from "@huggingface/jinja";
import { ConfigError } from "../errors.js";
import { openGguf } from "../io/gguf.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** ChatML as SmolLM2-Instruct writes it (without its default system prompt). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The file transformers 5 saves the template in. */
export const CHAT_TEMPLATE_FILE = "chat_template.jinja";

/** The chat template stored with a model or tokenizer directory, if any. */
export function readChatTemplate(dir: string): { template: string; bosToken?: string; eosToken?: string; file: string } | undefined {
  if (/\.gguf$/i.test(dir) && fs.existsSync(dir) && fs.statSync(dir).isFile()) {
    const g = ggufChatTemplate(dir);
    return g && { ...g, file: dir };
  }
  const file = path.join(dir, "tokenizer_config.json");
  let cfg: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    try {
      cfg = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
    }
  }
  const tokenText = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v && "content" in v ? String((v as { content: unknown }).content) : undefined);
  const special = { bosToken: tokenText(cfg.bos_token), eosToken: tokenText(cfg.eos_token) };
  const jinja = path.join(dir, CHAT_TEMPLATE_FILE);
  if (fs.existsSync(jinja)) return { template: fs.readFileSync(jinja, "utf8"), ...special, file: jinja };
  let template = cfg.chat_template;
  if (Array.isArray(template)) template = template.find((t) => t?.name === "default")?.template;
  if (typeof template !== "string") return undefined;
  return { template, ...special, file };
}

/** A parsed chat template with the special tokens it may refer to. */
export class ChatTemplate {
  private readonly tpl: Template;
  constructor(readonly source: string, readonly bosToken = "", readonly eosToken = "", readonly where = "chat template") {
    try {
      this.tpl = new Template(source);
    } catch (e) {
      throw new ConfigError(`${where}: the chat template does not parse (${(e as Error).message})`);
    }
  }

  /** The template of a directory; a clear error when it has none. */
  static fromDir(dir: string): ChatTemplate {
    const found = readChatTemplate(dir);
    if (!found) {
      throw new ConfigError(`${dir} has no chat template (no ${CHAT_TEMPLATE_FILE}, no "chat_template" in tokenizer_config.json)`, [], "chat needs a chat model; a base model can gain ChatML tokens for SFT with model.add_chat_tokens: true in `smol sft`");
    }
    return new ChatTemplate(found.template, found.bosToken ?? "", found.eosToken ?? "", found.file);
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
    try {
      return this.tpl.render({ messages, add_generation_prompt: addGenerationPrompt, bos_token: this.bosToken, eos_token: this.eosToken });
    } catch (e) {
      throw new ConfigError(`${this.where}: rendering failed (${(e as Error).message})`);
    }
  }
}

/** Render messages into the prompt text the model expects, ending with the assistant's turn. */
export function renderChat(messages: ChatMessage[], dir: string): string {
  return ChatTemplate.fromDir(dir).render(messages, true);
}

function ggufChatTemplate(file: string): { template: string; bosToken?: string; eosToken?: string } | undefined {
  const f = openGguf(file);
  try {
    const template = f.get("tokenizer.chat_template");
    if (typeof template !== "string") return undefined;
    const tokens = f.get("tokenizer.ggml.tokens");
    const tokenAt = (key: string) => {
      const id = f.get(key);
      return Array.isArray(tokens) && typeof id === "number" ? String(tokens[id]) : undefined;
    };
    return { template, bosToken: tokenAt("tokenizer.ggml.bos_token_id"), eosToken: tokenAt("tokenizer.ggml.eos_token_id") };
  } finally {
    f.close();
  }
}
