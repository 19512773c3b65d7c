// The OpenAI-compatible request bodies `smol serve` accepts (zod, strict: an unknown field is a
// 400 naming it) and the error shape ({"error": {message, type, param, code}}) it answers with.
import { z } from "zod";

const common = {
  model: z.string(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1).nullish(),
  user: z.string().nullish(),
};

export const COMPLETION_REQUEST = z.strictObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
});

const message = z.strictObject({
  role: z.enum(["system", "user", "assistant"]),
  content: z.union([z.string(), z.array(z.strictObject({ type: z.literal("text"), text: z.string() }))]),
  name: z.string().optional(),
});

export const CHAT_REQUEST = z.strictObject({
  ...common,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
});

export type CompletionRequest = z.output<typeof COMPLETION_REQUEST>;
export type ChatRequest = z.output<typeof CHAT_REQUEST>;

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly code: string | null = null) {
    super(message);
  }
  body(): object {
    return { error: { message: this.message, type: this.status >= 500 ? "server_error" : "invalid_request_error", param: this.param, code: this.code } };
  }
}

/** Parse a body against a schema; the first problem becomes a 400 naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const keys = (issue as { keys: string[] }).keys;
    const at = where ? `${where}.` : "";
    throw new HttpError(400, `unknown field(s): ${keys.map((k) => at + k).join(", ")}`, at + keys[0], "unknown_parameter");
  }
  throw new HttpError(400, `${where || "body"}: ${issue.message}`, where || null, "invalid_value");
}
