// The CLI's view of the compute backend: the default choice, with the fallback reported once
// on stderr (a missing native addon is never silent).
import type { Backend, FloatBuf } from "../backend/backend.js";
import { defaultBackend } from "../backend/index.js";

let warned = false;

export function cliBackend(): Backend<FloatBuf> {
  const choice = defaultBackend();
  if (choice.fallbackReason && !warned) {
    warned = true;
    process.stderr.write(`smol: warning: ${choice.fallbackReason}\n`);
  }
  return choice.backend;
}
