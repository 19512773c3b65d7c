// Typed errors shared by every layer. Library code throws these; only cli/ turns them into
// one printed line and an exit code. Each carries an optional `hint`: the next step for the user.

export class SmolError extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** An op received tensors whose shapes or dtypes do not fit: the message names the op and shapes. */
export class ShapeError extends SmolError {}
/** A config file or option is invalid; `problems` lists every problem with its dotted path. */
export class ConfigError extends SmolError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], hint?: string) {
    super(problems.length ? `${message}\n  - ${problems.join("\n  - ")}` : message, hint);
    this.problems = problems;
  }
}
/** A model or checkpoint file is missing, truncated, corrupt or inconsistent. */
export class CheckpointError extends SmolError {}
/** Input data (text, JSONL, shards, tokens) is missing or malformed. */
export class DataError extends SmolError {}
/** The native addon is missing or failed; the reference backend may be used instead. */
export class BackendError extends SmolError {}
/** Command-line usage error (unknown flag, missing argument). */
export class UsageError extends SmolError {}
/** A model produced NaN or ±Inf (logits, losses, log-probabilities) from finite weights. */
export class NonFiniteError extends SmolError {}

/** Format a shape for messages: [4,8]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
