// The trainer's side of run status and TensorBoard logging: status.json moves running → finished
// or failed (and the dashboard reads it as such), event files are written only when asked for.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inferStatus } from "../../src/dashboard/discover.js";
import { openRunLog } from "../../src/io/run-log.js";
import { readRunStatus, statusProcessAlive } from "../../src/io/run-status.js";

describe("io: run log", () => {
  it("writes status.json through a run's life and event files only with tensorboard", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-runlog-"));
    try {
      const a = path.join(dir, "a");
      const b = path.join(dir, "b");
      fs.mkdirSync(a);
      fs.mkdirSync(b);
      const la = openRunLog(a, { tensorboard: true });
      const st = readRunStatus(a)!;
      assert.equal(st.state, "running");
      assert.equal(st.pid, process.pid);
      assert.equal(statusProcessAlive(st), true);
      assert.equal(inferStatus({ step: 5, steps: 100, updated: 0, now: 1e12, staleAfterS: 1, file: st, alive: true }).status, "running", "alive beats an old mtime");
      la.record({ type: "train", step: 10, loss: 3.5, lr: 0.001 });
      la.finish(10);
      assert.equal(readRunStatus(a)!.state, "finished");
      const events = fs.readdirSync(a).filter((n) => n.includes("tfevents"));
      assert.equal(events.length, 1);
      assert.ok(fs.statSync(path.join(a, events[0])).size > 40, "the file holds the version event and the record");
      const lb = openRunLog(b);
      lb.record({ type: "train", step: 1, loss: 1 });
      lb.fail(1, new Error("non-finite loss"));
      const sb = readRunStatus(b)!;
      assert.equal(sb.state, "failed");
      assert.equal(sb.error, "non-finite loss");
      assert.equal(inferStatus({ step: 1, steps: 100, updated: Date.now(), now: Date.now(), staleAfterS: 300, file: sb }).status, "failed");
      assert.deepEqual(fs.readdirSync(b).filter((n) => n.includes("tfevents")), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
