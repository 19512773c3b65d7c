// The default kernel thread count: the CPUs this process may run on (its affinity mask, which
// taskset, cpusets and Slurm set: os.availableParallelism()) capped by a cgroup CPU quota
// (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us, as containers and systemd set),
// rounded up. OpenMP's own default counts the affinity mask only, so a container limited to
// 2 CPUs' time on a 64-core host would otherwise start 64 threads and time-slice them.
// Pure parsers are exported for tests; SMOL_THREADS and OMP_NUM_THREADS override all of this.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** CPUs allowed by a cgroup v2 `cpu.max` line ("max 100000" or "200000 100000"); undefined = no limit. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === "max") return undefined;
  const q = Number(quota), p = Number(period ?? 100000);
  return q > 0 && p > 0 ? q / p : undefined;
}

/** CPUs allowed by cgroup v1 quota and period files (quota -1 = no limit). */
export function parseCfsQuota(quota: string, period: string): number | undefined {
  const q = Number(quota.trim()), p = Number(period.trim());
  return q > 0 && p > 0 ? q / p : undefined;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** This process's cgroup CPU quota in CPUs (fractional), or undefined when there is none. */
export function cgroupCpuLimit(root = "/sys/fs/cgroup", procCgroup = read("/proc/self/cgroup") ?? ""): number | undefined {
  let limit: number | undefined;
  const take = (x: number | undefined) => {
    if (x !== undefined && (limit === undefined || x < limit)) limit = x;
  };
  for (const line of procCgroup.split("\n")) {
    const [id, controllers, path] = line.split(":");
    if (path === undefined) continue;
    if (id === "0" && controllers === "") {
      // v2: the quota may sit on any ancestor; walk up to the root.
      for (let p = path; ; p = p.slice(0, p.lastIndexOf("/"))) {
        const t = read(`${root}${p === "/" ? "" : p}/cpu.max`);
        if (t !== undefined) take(parseCpuMax(t));
        if (p === "" || p === "/") break;
      }
    } else if (controllers.split(",").includes("cpu")) {
      for (const dir of [`${root}/cpu`, `${root}/cpu,cpuacct`, `${root}/cpuacct,cpu`]) {
        const q = read(`${dir}${path === "/" ? "" : path}/cpu.cfs_quota_us`);
        const per = read(`${dir}${path === "/" ? "" : path}/cpu.cfs_period_us`);
        if (q !== undefined && per !== undefined) {
          take(parseCfsQuota(q, per));
          break;
        }
      }
    }
  }
  return limit;
}

/** Default kernel threads: min(affinity CPUs, ceil(cgroup quota)), at least 1. */
export function defaultThreadCount(): number {
  const cpus = availableParallelism();
  const quota = cgroupCpuLimit();
  return Math.max(1, quota === undefined ? cpus : Math.min(cpus, Math.ceil(quota - 1e-9)));
}
