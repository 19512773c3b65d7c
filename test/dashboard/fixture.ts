// A directory of runs for the dashboard tests, built from a real run of `smol demo` (its
// config.resolved.json and metrics.jsonl in test/fixtures/dashboard/demo): "finished" (the whole
// run), "live" (its first half, a different learning rate, updated just now), "old" (stale: not
// updated for hours), "held" (as old, but the trainer's train.lock names a live process) and
// "broken" (its status.json says it failed), plus a sweep (docs/micro-study's
// results.json) with one run below it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { packageRoot } from "../../src/util/paths.js";

export const FIXTURE = path.join(packageRoot(), "test/fixtures/dashboard/demo");

export interface RunsFixture {
  root: string;
  lines: string[];
  /** Train records in the demo's metrics. */
  trainCount: number;
  cleanup(): void;
}

export function makeRunsFixture(): RunsFixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "smol-dash-"));
  const cfg = JSON.parse(fs.readFileSync(path.join(FIXTURE, "config.resolved.json"), "utf8"));
  const lines = fs.readFileSync(path.join(FIXTURE, "metrics.jsonl"), "utf8").split("\n").filter(Boolean);
  const train = lines.filter((l) => JSON.parse(l).type === "train");
  const lastStep = JSON.parse(train[train.length - 1]).step;
  const write = (name: string, config: unknown, ls: string[]) => {
    const d = path.join(root, name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, "config.resolved.json"), JSON.stringify(config, null, 2));
    fs.writeFileSync(path.join(d, "metrics.jsonl"), ls.map((l) => l + "\n").join(""));
    return d;
  };
  const fin = write("finished", { ...cfg, config: { ...cfg.config, steps: lastStep } }, lines);
  fs.copyFileSync(path.join(FIXTURE, "samples.jsonl"), path.join(fin, "samples.jsonl"));
  const half = lines.slice(0, Math.floor(lines.length / 2));
  write("live", { ...cfg, config: { ...cfg.config, optimizer: { ...cfg.config.optimizer, lr: cfg.config.optimizer.lr / 2 } } }, half);
  const old = write("old", cfg, half);
  // "held": not updated for hours, but the trainer's lock names a live process (this one).
  const held = write("held", cfg, half);
  fs.writeFileSync(path.join(held, "train.lock"), JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }) + "\n");
  const past = new Date(Date.now() - 6 * 3600 * 1000);
  fs.utimesSync(path.join(old, "metrics.jsonl"), past, past);
  fs.utimesSync(path.join(held, "metrics.jsonl"), past, past);
  const broken = write("broken", cfg, half.slice(0, 5));
  fs.writeFileSync(path.join(broken, "status.json"), JSON.stringify({ state: "failed", pid: 1, host: "x", time: new Date().toISOString(), error: "non-finite loss" }));
  fs.mkdirSync(path.join(root, "study"), { recursive: true });
  // The results of the micro-study sweep shipped in docs/ (a real `smol sweep` output).
  fs.copyFileSync(path.join(packageRoot(), "docs/micro-study/results.json"), path.join(root, "study", "results.json"));
  write("study/runs/s1-constant", cfg, half);
  return { root, lines, trainCount: train.length, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
