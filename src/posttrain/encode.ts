// Conversations to training tokens. Assistant spans are taken from the rendered template, not
// guessed: for the i-th assistant message, the text the template renders for the conversation
// before it with add_generation_prompt is where the answer starts, and the rendering of the
// conversation up to and including it is where the answer ends (both must be prefixes of the full
// rendering, else the template cannot be split and that is an error). Each span is tokenized on its
// own and the pieces concatenated, so the mask is exact at token level. Preference pairs are
// prompt + completion, per the DPO contract.
import { DataError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { ChatMessage, ChatTemplate } from "../models/chat.js";

/** A text segment of a rendered conversation and whether the loss covers it. */
export interface Segment {
  text: string;
  train: boolean;
}

/** Token ids and the loss mask (1: the token is an assistant token the loss covers). */
export interface EncodedChat {
  ids: number[];
  mask: number[];
}

/** Split a conversation's rendering into prompt and assistant segments. */
export function assistantSegments(tpl: ChatTemplate, messages: readonly ChatMessage[]): Segment[] {
  const full = tpl.render(messages, false);
  const segs: Segment[] = [];
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== "assistant") continue;
    const start = tpl.render(messages.slice(0, i), true);
    const end = tpl.render(messages.slice(0, i + 1), false);
    if (!full.startsWith(start) || !full.startsWith(end) || start.length < at || end.length < start.length) {
      throw new DataError(`the chat template does not render conversations prefix by prefix (assistant message ${i} cannot be located)`, "use a template whose rendering of a shorter conversation is a prefix of the longer one (ChatML is)");
    }
    if (start.length > at) segs.push({ text: full.slice(at, start.length), train: false });
    if (end.length > start.length) segs.push({ text: full.slice(start.length, end.length), train: true });
    at = end.length;
  }
  if (at < full.length) segs.push({ text: full.slice(at), train: false });
  return segs;
}

/** Tokenize segments one by one (special tokens in the text are recognised). */
export function encodeSegments(tok: Tokenizer, segs: readonly Segment[]): EncodedChat {
  const ids: number[] = [];
  const mask: number[] = [];
  for (const s of segs) {
    const t = tok.encode(s.text);
    for (const id of t) {
      ids.push(id);
      mask.push(s.train ? 1 : 0);
    }
  }
  return { ids, mask };
}

/** A preference example's token ids: prompt, then chosen or rejected completion. */
export interface EncodedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/**
 * String rows: tokens(prompt), tokens(completion) + [eos]. Message rows: the prompt is the template
 * with add_generation_prompt; each completion is the rest of the rendered conversation.
 */
export function encodePair(tok: Tokenizer, tpl: ChatTemplate | undefined, prompt: string | ChatMessage[], chosen: string | ChatMessage[], rejected: string | ChatMessage[]): EncodedPair {
  if (typeof prompt === "string") {
    if (tok.eosId === undefined) throw new DataError("the tokenizer has no EOS token, which string preference rows end with");
    return { prompt: tok.encode(prompt), chosen: [...tok.encode(chosen as string), tok.eosId], rejected: [...tok.encode(rejected as string), tok.eosId] };
  }
  if (!tpl) throw new DataError("message-list preference rows need a chat template");
  const p = tpl.render(prompt, true);
  const completion = (c: ChatMessage[]) => {
    const full = tpl.render([...prompt, ...c], false);
    if (!full.startsWith(p)) throw new DataError("the chat template's generation prompt is not a prefix of the rendered conversation; cannot split prompt and completion");
    return tok.encode(full.slice(p.length));
  };
  return { prompt: tok.encode(p), chosen: completion(chosen as ChatMessage[]), rejected: completion(rejected as ChatMessage[]) };
}

/** TRL's truncation: the prompt keeps its last `maxPrompt` tokens, then completions are cut to fit `maxLength`. */
export function truncatePair(p: EncodedPair, maxPrompt: number, maxLength: number): EncodedPair {
  const prompt = p.prompt.length > maxPrompt ? p.prompt.slice(p.prompt.length - maxPrompt) : p.prompt;
  const room = Math.max(0, maxLength - prompt.length);
  return { prompt, chosen: p.chosen.slice(0, room), rejected: p.rejected.slice(0, room) };
}
