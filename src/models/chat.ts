// Chat prompts: render the tokenizer's own chat template (chat_template.jinja, else
// tokenizer_config.json "chat_template", else a GGUF file's tokenizer.chat_template; a Jinja
// template run with @huggingface/jinja) or, when it has none, SmolLM2's ChatML format.
import * as fs from "node:fs";
import * as path from "node:path";
import { Template } from "@huggingface/jinja";
import { ConfigError } from "../errors.js";
import { openGguf } from "../io/gguf.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** SmolLM2-Instruct's template (ChatML with a default system prompt omitted). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The chat template stored with a model or tokenizer directory, if any. */
export function readChatTemplate(dir: string): { template: string; bosToken?: string; eosToken?: string } | undefined {
  if (/\.gguf$/i.test(dir) && fs.existsSync(dir) && fs.statSync(dir).isFile()) return ggufChatTemplate(dir);
  const file = path.join(dir, "tokenizer_config.json");
  const jinja = path.join(dir, "chat_template.jinja");
  // transformers ≥ 4.43 saves the template as chat_template.jinja, which wins over the JSON key.
  const fromJinja = fs.existsSync(jinja) ? fs.readFileSync(jinja, "utf8") : undefined;
  if (!fs.existsSync(file)) return fromJinja === undefined ? undefined : { template: fromJinja };
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const tokenText = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v && "content" in v ? String((v as { content: unknown }).content) : undefined);
  let template = fromJinja ?? cfg.chat_template;
  if (Array.isArray(template)) template = template.find((t) => t?.name === "default")?.template;
  if (typeof template !== "string") return undefined;
  return { template, bosToken: tokenText(cfg.bos_token), eosToken: tokenText(cfg.eos_token) };
}

/** Render messages into the prompt text the model expects, ending with the assistant's turn. */
export function renderChat(messages: ChatMessage[], dir?: string): string {
  const found = dir ? readChatTemplate(dir) : undefined;
  const tpl = new Template(found?.template ?? CHATML_TEMPLATE);
  return tpl.render({ messages, add_generation_prompt: true, bos_token: found?.bosToken ?? "", eos_token: found?.eosToken ?? "" });
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
