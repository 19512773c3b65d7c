// The one owner of a run directory: its resolved config (validated when read), the run identity
// (config hash + data identity: shard index hash and tokenizer fingerprint), checkpoint listing
// with SHA-256 manifests (a corrupt newest checkpoint falls back to the previous complete one),
// the lock that keeps a second process out (a stale lock of a dead process is taken over), and the
// removal of temp directories that killed writes left. Trainer, cooldown, sweep, eval and report
// find a run's files through here (names in io/run-layout.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { CheckpointError, ConfigError, SmolError } from "../errors.js";
import { TMP_PREFIX, writeJsonAtomic } from "../io/atomic.js";
import {
  EVAL_DIR, LOCK_FILE, MANIFEST_FILE, METRICS_FILE, RESOLVED_CONFIG, STATE_FILE, SWA_DIR, checkpointDir, listCheckpoints,
} from "../io/run-layout.js";
import type { LlamaConfig } from "../models/config.js";
import type { TrainConfig } from "./config.js";

/** A second process wants a run directory that a live process holds. */
export class RunLockedError extends SmolError {}

/** What makes two runs the same run: the numbers-relevant config and the exact data. */
export interface RunIdentity {
  config_hash: string;
  /** SHA-256 of the shard index (index.json): re-tokenized shards change it. */
  data_index_sha256: string;
  /** Fingerprint of the tokenizer the shards were made with. */
  tokenizer_fingerprint: string;
}

export interface ResolvedRunFile {
  format: "smollab-run";
  version: 2;
  config_hash: string;
  identity: RunIdentity;
  config: TrainConfig;
  model: LlamaConfig;
}

/** The numbers-relevant part of a config, hashed to detect a run directory from another config. */
export function configHash(cfg: TrainConfig): string {
  // activation_checkpointing changes memory, not numbers (bit-identical gradients): not identity.
  const { name: _n, eval: _e, checkpoint: _c, log: _l, threads: _t, parallel: _p, activation_checkpointing: _a, precision, ...rest } = cfg;
  // fp32 (the default) leaves the hash as it was before the precision key existed; the same for
  // the optimizer's moment storage.
  if (precision && precision !== "fp32") (rest as Record<string, unknown>).precision = precision;
  if (rest.optimizer?.moments === "fp32") {
    const { moments: _m, ...opt } = rest.optimizer;
    (rest as Record<string, unknown>).optimizer = opt;
  }
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}

export function sha256File(file: string): string {
  const h = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

function filesUnder(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...filesUnder(dir, r));
    else if (ent.isFile() && r !== MANIFEST_FILE) out.push(r);
  }
  return out.sort();
}

/** Write MANIFEST_FILE into a (temporary) checkpoint directory: size and SHA-256 of every file. */
export function writeManifest(dir: string): void {
  const files: Record<string, { bytes: number; sha256: string }> = {};
  for (const f of filesUnder(dir)) files[f] = { bytes: fs.statSync(path.join(dir, f)).size, sha256: sha256File(path.join(dir, f)) };
  writeJsonAtomic(path.join(dir, MANIFEST_FILE), { format: "smollab-manifest", version: 1, files });
}

/** Check a checkpoint against its manifest; throws CheckpointError naming the first bad file. */
export function verifyManifest(dir: string): void {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return; // written before manifests existed
  let m: { files?: Record<string, { bytes: number; sha256: string }> };
  try {
    m = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    throw new CheckpointError(`${file}: unreadable manifest`);
  }
  for (const [name, want] of Object.entries(m.files ?? {})) {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) throw new CheckpointError(`${dir}: ${name} is missing`);
    const bytes = fs.statSync(p).size;
    if (bytes !== want.bytes) throw new CheckpointError(`${dir}: ${name} has ${bytes} bytes, the manifest says ${want.bytes}`);
    if (sha256File(p) !== want.sha256) throw new CheckpointError(`${dir}: ${name} does not match its SHA-256 in ${MANIFEST_FILE}`);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class RunDir {
  readonly dir: string;
  private releaseLock: (() => void) | undefined;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  get resolvedFile(): string {
    return path.join(this.dir, RESOLVED_CONFIG);
  }
  get metricsFile(): string {
    return path.join(this.dir, METRICS_FILE);
  }
  get evalDir(): string {
    return path.join(this.dir, EVAL_DIR);
  }
  get swaDir(): string {
    return path.join(this.dir, SWA_DIR);
  }
  checkpointDir(step: number): string {
    return checkpointDir(this.dir, step);
  }
  /** Steps of the complete checkpoints, ascending. */
  checkpoints(): number[] {
    return listCheckpoints(this.dir);
  }

  /** The resolved config, checked against its own hash; undefined when the directory holds no run. */
  readResolved(): ResolvedRunFile | undefined {
    if (!fs.existsSync(this.resolvedFile)) return undefined;
    let r: Partial<ResolvedRunFile> & { config_hash?: string };
    try {
      r = JSON.parse(fs.readFileSync(this.resolvedFile, "utf8"));
    } catch {
      throw new CheckpointError(`${this.resolvedFile}: unreadable`, "the run directory is damaged; use a new --run-dir");
    }
    const c = r?.config as TrainConfig | undefined;
    const ok = c && typeof c === "object" && c.data && Array.isArray(c.data.stages) && c.batch && c.optimizer && c.schedule && typeof c.steps === "number" && r.model;
    if (!ok) throw new CheckpointError(`${this.resolvedFile}: not a SmolLab resolved config`, "pass the directory `smol train` wrote (e.g. runs/<name>)");
    if (r.config_hash !== configHash(c)) throw new CheckpointError(`${this.resolvedFile}: the config does not match its hash (edited by hand?)`, "restore the file, or start a new run directory");
    return r as ResolvedRunFile;
  }

  /** The resolved config of an existing run (for branching, evaluation, reports). */
  requireResolved(): ResolvedRunFile {
    const r = this.readResolved();
    if (!r) throw new CheckpointError(`${this.dir}: not a run directory (no ${RESOLVED_CONFIG})`, "pass the directory `smol train` wrote (e.g. runs/<name>)");
    return r;
  }

  /**
   * Compare an existing run's identity with the one a start asks for; throws ConfigError naming
   * what changed. Files written before identities existed carry only the config hash.
   */
  checkIdentity(prev: ResolvedRunFile, want: RunIdentity): void {
    if (prev.config_hash !== want.config_hash) {
      throw new ConfigError(`${this.dir} holds a run with a different configuration`, [], "use a new --run-dir, or the same config (and --set values) as that run to resume it");
    }
    const id = prev.identity;
    if (!id) return;
    if (id.tokenizer_fingerprint !== want.tokenizer_fingerprint) {
      throw new ConfigError(`${this.dir}: the shards were made with another tokenizer since this run started (fingerprint ${id.tokenizer_fingerprint} then, ${want.tokenizer_fingerprint} now)`, [], "point data.dir at the shards the run started with, or use a new --run-dir");
    }
    if (id.data_index_sha256 !== want.data_index_sha256) {
      throw new ConfigError(`${this.dir}: the shards under data.dir changed since this run started (index.json SHA-256 ${id.data_index_sha256.slice(0, 12)}… then, ${want.data_index_sha256.slice(0, 12)}… now)`, [], "resuming on other data would not reproduce the run: restore the shards, or use a new --run-dir");
    }
  }

  writeResolved(r: ResolvedRunFile): void {
    writeJsonAtomic(this.resolvedFile, r);
  }

  /**
   * Take the directory's lock (creating the directory). A lock whose process is alive on this host
   * is a RunLockedError naming it; one left by a dead process is taken over. Released by unlock()
   * and, as a last resort, when the process exits.
   */
  lock(): void {
    if (this.releaseLock) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, LOCK_FILE);
    const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }) + "\n";
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file, mine, { flag: "wx" });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new SmolError(`cannot create ${file}: ${(e as Error).message}`);
        let holder: { pid?: number; host?: string; started?: string } = {};
        try {
          holder = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
          /* torn or empty: treated as stale */
        }
        const sameHost = !holder.host || holder.host === os.hostname();
        if (typeof holder.pid === "number" && holder.pid !== process.pid && (!sameHost || pidAlive(holder.pid))) {
          throw new RunLockedError(`${this.dir} is in use by process ${holder.pid}${sameHost ? "" : ` on ${holder.host}`} (since ${holder.started ?? "?"})`, `wait for it to finish or stop it; a lock left by a dead process is taken over automatically (${LOCK_FILE})`);
        }
        fs.rmSync(file, { force: true }); // stale: its process is gone
        continue;
      }
      const release = () => {
        try {
          if (fs.readFileSync(file, "utf8") === mine) fs.rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
      process.on("exit", release);
      this.releaseLock = () => {
        process.off("exit", release);
        release();
      };
      return;
    }
    throw new RunLockedError(`${this.dir}: could not take the lock (${LOCK_FILE}) after 3 attempts`);
  }

  unlock(): void {
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  /** Remove what killed writes left behind (temp checkpoint directories, temp files); returns their names. */
  cleanTemps(): string[] {
    const removed: string[] = [];
    for (const d of [this.dir, this.evalDir, this.swaDir]) {
      if (!fs.existsSync(d)) continue;
      for (const name of fs.readdirSync(d)) {
        if (!name.startsWith(TMP_PREFIX)) continue;
        fs.rmSync(path.join(d, name), { recursive: true, force: true });
        removed.push(path.relative(this.dir, path.join(d, name)));
      }
    }
    return removed;
  }

  /**
   * The newest checkpoint that verifies against its manifest and whose state parses, trying older
   * ones when it does not (each failure reported through `warn`).
   */
  latestGoodCheckpoint(warn: (msg: string) => void, usable: (dir: string) => void = () => {}): { step: number; dir: string } | undefined {
    const steps = this.checkpoints();
    for (let i = steps.length - 1; i >= 0; i--) {
      const dir = this.checkpointDir(steps[i]);
      try {
        verifyManifest(dir);
        if (!fs.existsSync(path.join(dir, STATE_FILE))) throw new CheckpointError(`${dir}: no ${STATE_FILE}`);
        usable(dir);
        return { step: steps[i], dir };
      } catch (e) {
        if (!(e instanceof SmolError)) throw e;
        warn(`warning: checkpoint step-${steps[i]} is damaged (${e.message.split("\n")[0]}); ${i > 0 ? `falling back to step-${steps[i - 1]}` : "no older checkpoint"}`);
      }
    }
    return undefined;
  }
}
