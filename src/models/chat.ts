// Chat prompts: render the tokenizer's own chat template (tokenizer_config.json "chat_template",
// a Jinja template run with @huggingface/jinja) or, when it has none, SmolLM2's ChatML format.
import * as fs from "node:fs";
import * as path from "node:path";
import { Template } from "@huggingface/jinja";
import { ConfigError } from "../errors.js";

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
  const file = path.join(dir, "tokenizer_config.json");
  if (!fs.existsSync(file)) return undefined;
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const tokenText = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v && "content" in v ? String((v as { content: unknown }).content) : undefined);
  let template = cfg.chat_template;
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
