// A one-node Slurm cluster for tests, started on this machine from a temporary directory: munged
// with its own key and socket, slurmctld and slurmd (Debian's slurm-wlm 22.05) with a generated
// slurm.conf (proctrack/linuxproc, no cgroups, no accounting database: finished jobs are read
// from the job-completion log with sacct -c). Needs root (SlurmdUser=root); stop() ends every
// daemon it started, by the pids they wrote.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

export interface SlurmCluster {
  dir: string;
  env: Record<string, string>;
  stop(): void;
}

const NEEDED = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sacct", "scancel", "sinfo"];

/** Why the cluster cannot start here, or undefined when it can. */
export function slurmSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "the test Slurm cluster needs root (slurmd runs jobs as root)";
  const missing = NEEDED.filter((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status !== 0);
  if (missing.length) return `Slurm/munge not installed (missing ${missing.join(", ")}; Debian: apt-get install slurm-wlm munge)`;
  return undefined;
}

export async function startSlurmCluster(): Promise<SlurmCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-slurm-"));
  for (const d of ["state", "spool"]) fs.mkdirSync(path.join(dir, d));
  const key = path.join(dir, "munge.key");
  fs.writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const host = os.hostname().split(".")[0];
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = path.join(dir, "slurm.conf");
  const f = (n: string) => path.join(dir, n);
  fs.writeFileSync(conf, [
    "ClusterName=smoltest", `SlurmctldHost=${host}(127.0.0.1)`, "SlurmUser=root", "SlurmdUser=root",
    `SlurmctldPort=${port}`, `SlurmdPort=${port + 1}`, "AuthType=auth/munge", `AuthInfo=socket=${f("munge.sock")}`, "CredType=cred/munge",
    `StateSaveLocation=${f("state")}`, `SlurmdSpoolDir=${f("spool")}`, `SlurmctldPidFile=${f("slurmctld.pid")}`, `SlurmdPidFile=${f("slurmd.pid")}`,
    `SlurmctldLogFile=${f("slurmctld.log")}`, `SlurmdLogFile=${f("slurmd.log")}`,
    "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none", "ReturnToService=2",
    "SchedulerType=sched/builtin", "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
    "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
    "JobCompType=jobcomp/filetxt", `JobCompLoc=${f("jobcomp.txt")}`, "MinJobAge=3600",
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${os.availableParallelism()} State=UNKNOWN`,
    `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
    "",
  ].join("\n"));
  const env = { SLURM_CONF: conf };
  const pids = () => ["slurmd.pid", "slurmctld.pid", "munged.pid"].map((p) => Number(fs.existsSync(f(p)) ? fs.readFileSync(f(p), "utf8").trim() : 0)).filter((p) => p > 0);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = () => {
    spawnSync("scancel", ["--full", "--user=root"], { env: { ...process.env, ...env } });
    const started = pids();
    for (const pid of started) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    }
    // Wait (up to 10 s) for the daemons to exit, then remove the cluster's directory.
    const t0 = Date.now();
    while (started.some(alive) && Date.now() - t0 < 10_000) spawnSync("sleep", ["0.1"]);
    if (!started.some(alive)) fs.rmSync(dir, { recursive: true, force: true });
  };
  const must = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) {
      stop();
      throw new Error(`${cmd} failed to start: ${r.stderr}${r.stdout}`);
    }
  };
  must("munged", ["--force", `--socket=${f("munge.sock")}`, `--key-file=${key}`, `--pid-file=${f("munged.pid")}`, `--log-file=${f("munged.log")}`, `--seed-file=${f("munge.seed")}`]);
  must("slurmctld", ["-f", conf]);
  must("slurmd", ["-f", conf]);
  const t0 = Date.now();
  for (;;) {
    const r = spawnSync("sinfo", ["-h", "-o", "%t"], { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status === 0 && /^idle/m.test(r.stdout)) break;
    if (Date.now() - t0 > 30_000) {
      stop();
      throw new Error(`the test Slurm cluster did not come up in 30 s (sinfo: ${r.stdout}${r.stderr}); logs in ${dir}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { dir, env, stop };
}
