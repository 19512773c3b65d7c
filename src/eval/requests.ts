// The requests a task sends to the model, as text: the one shape behind both scoring and
// `smol eval --dump-requests` (one JSON line per request), so what is dumped is exactly what is
// scored and anyone can diff it against lighteval's details. Log-likelihood requests are shown
// after lighteval's whitespace move (trailing context whitespace goes to the front of every
// continuation); generation requests carry the full prompt, stop sequences and token budget.
import type { ChoiceDoc } from "./encode.js";

export interface LoglikTextRequest {
  task: string;
  doc_id: number;
  kind: "loglikelihood";
  context: string;
  continuations: string[];
  gold: number;
}

export interface GenerateTextRequest {
  task: string;
  doc_id: number;
  kind: "generate";
  context: string;
  stop: string[];
  max_new_tokens: number;
}

export type TextRequest = LoglikTextRequest | GenerateTextRequest;

/**
 * The request of a multiple-choice item. Every task builds one shared context per item; the
 * trailing whitespace of the context moves to each continuation, as lighteval's tok_encode_pair
 * does before tokenising (e.g. HellaSwag: context "…he", continuation "  is ripping…").
 */
export function choiceRequest(task: string, docId: number, doc: ChoiceDoc): LoglikTextRequest {
  const ctx = doc.contexts[0];
  if (doc.contexts.some((c) => c !== ctx)) throw new Error(`internal: ${task} item ${docId} has per-choice contexts`);
  const trimmed = ctx.replace(/\s+$/u, "");
  const moved = ctx.slice(trimmed.length);
  return { task, doc_id: docId, kind: "loglikelihood", context: trimmed, continuations: doc.continuations.map((c) => moved + c), gold: doc.gold };
}

/** One JSON line per request, keys in the contract's order. */
export function requestLine(r: TextRequest): string {
  return r.kind === "loglikelihood"
    ? JSON.stringify({ task: r.task, doc_id: r.doc_id, kind: r.kind, context: r.context, continuations: r.continuations, gold: r.gold })
    : JSON.stringify({ task: r.task, doc_id: r.doc_id, kind: r.kind, context: r.context, stop: r.stop, max_new_tokens: r.max_new_tokens });
}
