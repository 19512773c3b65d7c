// The default kernel thread count (src/backend/threads.ts): cgroup v1/v2 CPU quotas parsed from
// fake /sys/fs/cgroup trees, the default never above the affinity mask, and the local job queue
// (src/jobs/local.ts) splitting the same total.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cgroupCpuLimit, defaultThreadCount, parseCfsQuota, parseCpuMax } from "../../src/backend/threads.js";
import { totalThreads } from "../../src/jobs/local.js";

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "smol-cg-"));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

describe("backend threads: cgroup CPU quota", () => {
  it("parses cpu.max and cfs quota files", () => {
    assert.equal(parseCpuMax("max 100000\n"), undefined);
    assert.equal(parseCpuMax("250000 100000\n"), 2.5);
    assert.equal(parseCfsQuota("-1\n", "100000\n"), undefined);
    assert.equal(parseCfsQuota("50000\n", "100000\n"), 0.5);
  });
  it("v2: the smallest quota on the path from the process's cgroup to the root", () => {
    const root = tree({ "cpu.max": "max 100000", "a/cpu.max": "300000 100000", "a/b/cpu.max": "max 100000" });
    assert.equal(cgroupCpuLimit(root, "0::/a/b\n"), 3);
    assert.equal(cgroupCpuLimit(root, "0::/\n"), undefined);
  });
  it("v1: the cpu controller's quota", () => {
    const root = tree({ "cpu,cpuacct/job/cpu.cfs_quota_us": "200000", "cpu,cpuacct/job/cpu.cfs_period_us": "100000" });
    assert.equal(cgroupCpuLimit(root, "4:memory:/x\n2:cpu,cpuacct:/job\n"), 2);
    assert.equal(cgroupCpuLimit(root, "2:cpu,cpuacct:/other\n"), undefined);
  });
  it("the default is at least 1 and at most the affinity mask", () => {
    const n = defaultThreadCount();
    assert.ok(n >= 1 && n <= os.availableParallelism(), `got ${n}`);
  });
  it("a local job queue splits the same total as the backend's pool: SMOL_THREADS, else OMP_NUM_THREADS, else the default", () => {
    const saved = { smol: process.env.SMOL_THREADS, omp: process.env.OMP_NUM_THREADS };
    const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
    try {
      process.env.SMOL_THREADS = "6";
      process.env.OMP_NUM_THREADS = "4,2";
      assert.equal(totalThreads(), 6);
      delete process.env.SMOL_THREADS;
      assert.equal(totalThreads(), 4);
      delete process.env.OMP_NUM_THREADS;
      assert.equal(totalThreads(), defaultThreadCount());
    } finally {
      restore("SMOL_THREADS", saved.smol);
      restore("OMP_NUM_THREADS", saved.omp);
    }
  });
});
