// The collective seam beside the compute backend: what data-parallel training needs from its
// peers — a sum all-reduce of the flat gradient buffer (in buckets), small all-reduces and string
// all-gathers for per-step scalars and weight checksums. Two implementations: `single` (one
// process, every call a no-op) and `mpi` (native/mpi's optional addon over MPI_COMM_WORLD,
// chosen when the process was started by mpirun/srun). Training code never knows which it has.
import * as os from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BackendError } from "../errors.js";
import { packageRoot } from "../util/paths.js";

export interface CollectiveStats {
  /** Gradient all-reduce calls, seconds spent in them and bytes reduced (per rank). */
  calls: number;
  seconds: number;
  bytes: number;
  /** Seconds spent in barrier() (the trainer's wait for the slowest rank before the all-reduce). */
  waitSeconds: number;
}

export interface Collective {
  readonly kind: "single" | "mpi";
  readonly rank: number;
  readonly size: number;
  /** For the user: e.g. "MPI, 2 ranks (Open MPI v4.1.4)" or "single process". */
  readonly description: string;
  /** In-place sum over ranks (the gradient buffer); counted in `stats`. */
  allreduceSum(buf: Float32Array | Float64Array): void;
  /** Every rank's string, in rank order. */
  allgather(s: string): string[];
  /** In place: root's values everywhere. */
  broadcast(buf: Float32Array | Float64Array, root: number): void;
  barrier(): void;
  readonly stats: CollectiveStats;
}

/** One process: nothing to exchange. */
export class SingleProcess implements Collective {
  readonly kind = "single" as const;
  readonly rank = 0;
  readonly size = 1;
  readonly description = "single process";
  readonly stats: CollectiveStats = { calls: 0, seconds: 0, bytes: 0, waitSeconds: 0 };
  allreduceSum(): void {}
  allgather(s: string): string[] {
    return [s];
  }
  broadcast(): void {}
  barrier(): void {}
}

interface MpiAddon {
  init(): { rank: number; size: number; version: string };
  allreduceF32(buf: Float32Array, bucketElems: number): void;
  allreduceF64(buf: Float64Array): void;
  allgather(s: string): string[];
  broadcastF32(buf: Float32Array, root: number): void;
  barrier(): void;
  finalize(): void;
  abort(code: number): void;
  wtime(): number;
}

/** The MPI addon's path (built by scripts/build-mpi.js when mpicxx exists). */
export function mpiAddonPath(): string {
  return join(packageRoot(), "native", "mpi", "build", "Release", "smollab_mpi.node");
}

export function mpiAddonBuilt(): boolean {
  return existsSync(mpiAddonPath());
}

/** True when an MPI launcher (mpirun/mpiexec, or srun with PMI/PMIx) started this process. */
export function launchedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"].some((k) => env[k] !== undefined);
}

class MpiCollective implements Collective {
  readonly kind = "mpi" as const;
  readonly rank: number;
  readonly size: number;
  readonly description: string;
  readonly stats: CollectiveStats = { calls: 0, seconds: 0, bytes: 0, waitSeconds: 0 };

  constructor(private readonly m: MpiAddon, private readonly bucketElems: number) {
    const info = m.init();
    this.rank = info.rank;
    this.size = info.size;
    this.description = `MPI, ${info.size} rank${info.size === 1 ? "" : "s"} (${info.version.trim()})`;
    // A clean exit (0, or a stop by SIGINT/SIGTERM that every rank agreed on) finalizes; any other
    // exit aborts the whole job so that no rank is left waiting in a collective.
    process.on("exit", (code) => {
      if (code === 0 || code === 130 || code === 143) m.finalize();
      else m.abort(code || 1);
    });
  }

  allreduceSum(buf: Float32Array | Float64Array): void {
    const t0 = performance.now();
    if (buf instanceof Float32Array) this.m.allreduceF32(buf, this.bucketElems);
    else this.m.allreduceF64(buf);
    this.stats.calls++;
    this.stats.seconds += (performance.now() - t0) / 1000;
    this.stats.bytes += buf.byteLength;
  }
  allgather(s: string): string[] {
    return this.m.allgather(s);
  }
  broadcast(buf: Float32Array | Float64Array, root: number): void {
    if (buf instanceof Float32Array) this.m.broadcastF32(buf, root);
    else {
      // Float64 (reference backend): through a float32 view of its bytes, which moves them unchanged.
      this.m.broadcastF32(new Float32Array(buf.buffer, buf.byteOffset, buf.length * 2), root);
    }
  }
  barrier(): void {
    const t0 = performance.now();
    this.m.barrier();
    this.stats.waitSeconds += (performance.now() - t0) / 1000;
  }
}

let cached: Collective | undefined;

/**
 * The process's collective: MPI when an MPI launcher started it (SMOL_COLLECTIVE=single|mpi
 * forces one), else a single process. Under a launcher without the MPI addon built this throws:
 * N copies of one single-process run would each train alone and fight over the run directory.
 */
export function defaultCollective(opts: { bucketMB?: number } = {}): Collective {
  if (cached) return cached;
  const forced = process.env.SMOL_COLLECTIVE;
  if (forced !== undefined && forced !== "single" && forced !== "mpi") throw new BackendError(`SMOL_COLLECTIVE must be "single" or "mpi", got "${forced}"`);
  const want = forced ?? (launchedByMpi() ? "mpi" : "single");
  if (want === "single") return (cached = new SingleProcess());
  const file = mpiAddonPath();
  if (!existsSync(file)) {
    throw new BackendError(
      "started by an MPI launcher, but SmolLab's MPI addon is not built (native/mpi)",
      "install openmpi-bin libopenmpi-dev, then run `npm rebuild smollab` (or unset SMOL_COLLECTIVE / run without mpirun)",
    );
  }
  const mod = { exports: {} as MpiAddon };
  try {
    // RTLD_GLOBAL: Open MPI's plugins resolve symbols of libmpi, which this addon brings in.
    process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL);
  } catch (e) {
    throw new BackendError(`cannot load the MPI addon ${file}: ${(e as Error).message}`, "rebuild it with `npm rebuild smollab` against the installed MPI");
  }
  const bucketElems = Math.max(1, Math.round(((opts.bucketMB ?? 16) * 1024 * 1024) / 4));
  return (cached = new MpiCollective(mod.exports, bucketElems));
}
