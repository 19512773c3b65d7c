// Choosing a backend: the native addon when it loads, else the reference backend with the
// reason reported (never silently). SMOL_BACKEND=reference|native forces one.
import { BackendError } from "../errors.js";
import type { Backend, FloatBuf } from "./backend.js";
import { loadNative } from "./native.js";
import { ReferenceBackend } from "./reference.js";
import { defaultThreadCount } from "./threads.js";

export type { Backend, FloatBuf } from "./backend.js";

export interface BackendChoice {
  backend: Backend<FloatBuf>;
  /** Set when the native backend was wanted but could not load: print it to the user. */
  fallbackReason?: string;
}

let cached: BackendChoice | undefined;

/** The process-wide default backend (threads from SMOL_THREADS, default: the CPUs this process may use). */
export function defaultBackend(): BackendChoice {
  if (cached) return cached;
  const want = process.env.SMOL_BACKEND ?? "native";
  if (want !== "native" && want !== "reference") {
    throw new BackendError(`SMOL_BACKEND must be "native" or "reference", got "${want}"`);
  }
  const threads = process.env.SMOL_THREADS;
  const n = threads === undefined ? undefined : Number(threads);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new BackendError(`SMOL_THREADS must be a positive integer, got "${threads}"`);
  if (want === "reference") return (cached = { backend: new ReferenceBackend() });
  try {
    const be = loadNative();
    if (n !== undefined) be.setThreads(n);
    // Without SMOL_THREADS or OMP_NUM_THREADS: the affinity mask capped by a cgroup CPU quota
    // (backend/threads.ts); OpenMP's own default ignores the quota.
    else if (process.env.OMP_NUM_THREADS === undefined) be.setThreads(defaultThreadCount());
    return (cached = { backend: be });
  } catch (e) {
    // A kernel-table setting the user chose (SMOL_ISA, SMOL_BF16) that cannot be met is their
    // error to fix, not a reason to fall back quietly to the slow backend.
    if (e instanceof BackendError && /SMOL_ISA|SMOL_BF16/.test(e.message)) throw e;
    return (cached = {
      backend: new ReferenceBackend(),
      fallbackReason: `native addon unavailable (${(e as Error).message}); using the slow reference backend — run \`npm rebuild smollab\` after installing g++, make and python3`,
    });
  }
}
