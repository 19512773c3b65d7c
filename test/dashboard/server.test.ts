// The dashboard server over a directory of real runs: discovery and statuses, metrics columns,
// live appends pushed as server-sent events (and a cut-back file as a reset), the security rules
// (traversal raw and encoded, absolute paths, symlinks out of the root, non-GET methods, foreign
// Host headers, binding beyond loopback), and the CLI's one-line errors.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { inferStatus } from "../../src/dashboard/discover.js";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { ConfigError } from "../../src/errors.js";
import { runSmol } from "../helpers.js";
import { makeRunsFixture, type RunsFixture } from "./fixture.js";

/** A raw request (the path is sent exactly as given, no URL normalisation). */
function request(port: number, rawPath: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: rawPath, method: opts.method ?? "GET", headers: { host: opts.host ?? `127.0.0.1:${port}` } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Collect server-sent events of one type until `until` says stop (or time runs out). */
function sse(port: number, runs: string[]): { events: Array<{ event: string; data: any }>; close(): void; wait(pred: (e: { event: string; data: any }) => boolean, ms: number): Promise<{ event: string; data: any }> } {
  const events: Array<{ event: string; data: any }> = [];
  const waiters: Array<() => void> = [];
  let buf = "";
  const req = http.get({ host: "127.0.0.1", port, path: `/api/events?runs=${encodeURIComponent(runs.join(","))}` }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
        for (const w of waiters.splice(0)) w();
      }
    });
  });
  req.on("error", () => {});
  return {
    events,
    close: () => req.destroy(),
    wait: (pred, ms) =>
      new Promise((resolve, reject) => {
        const t0 = Date.now();
        const check = () => {
          const hit = events.find(pred);
          if (hit) return resolve(hit);
          if (Date.now() - t0 > ms) return reject(new Error(`no matching event within ${ms} ms; got ${events.map((e) => e.event).join(", ")}`));
          waiters.push(check);
          setTimeout(check, 50);
        };
        check();
      }),
  };
}

describe("dashboard: run status", () => {
  const now = 1_000_000_000;
  const base = { now, staleAfterS: 300 };
  it("is decided from the status file, the step count and the last update", () => {
    assert.equal(inferStatus({ ...base, step: 550, steps: 550, updated: now - 9e6 }).status, "finished");
    assert.equal(inferStatus({ ...base, step: 100, steps: 550, updated: now - 10_000 }).status, "running");
    assert.equal(inferStatus({ ...base, step: 100, steps: 550, updated: now - 400_000 }).status, "stale");
    assert.equal(inferStatus({ ...base, step: 100, steps: 550, updated: now, file: { state: "failed", pid: 1, host: "h", time: "" } }).status, "failed");
    assert.equal(inferStatus({ ...base, step: 100, steps: 550, updated: now - 9e6, file: { state: "running", pid: 1, host: "h", time: "" }, alive: true }).status, "running");
    assert.equal(inferStatus({ ...base, step: 100, steps: 550, updated: now, file: { state: "running", pid: 1, host: "h", time: "" }, alive: false }).status, "stale");
    assert.equal(inferStatus({ ...base, step: 0, steps: null, updated: null }).status, "stale");
  });
});

describe("dashboard: server", () => {
  let fx: RunsFixture;
  let d: Dashboard;
  before(async () => {
    fx = makeRunsFixture();
    d = await startDashboard({ roots: [fx.root], port: 0, rescanMs: 200 });
  });
  after(async () => {
    await d.close();
    fx.cleanup();
  });

  it("lists every run and the sweep with their status", async () => {
    const r = await request(d.port, "/api/runs");
    assert.equal(r.status, 200);
    const l = JSON.parse(r.body);
    const byName = Object.fromEntries(l.runs.map((x: any) => [x.name, x]));
    assert.deepEqual(Object.keys(byName).sort(), ["broken", "finished", "held", "live", "old", "study/runs/s1-constant"]);
    assert.equal(byName.finished.status, "finished");
    assert.equal(byName.live.status, "running");
    assert.equal(byName.old.status, "stale");
    assert.equal(byName.held.status, "running", "the trainer's lock names a live process");
    assert.equal(byName.broken.status, "failed");
    assert.equal(l.sweeps.length, 1);
    assert.equal(byName["study/runs/s1-constant"].sweep, l.sweeps[0].id);
  });

  it("serves a run's train records as columns, thinned on request, with its eval records", async () => {
    const m = JSON.parse((await request(d.port, `/api/metrics?run=${encodeURIComponent("0:finished")}`)).body);
    assert.equal(m.count, fx.trainCount);
    const want = fx.lines.map((l) => JSON.parse(l)).filter((r) => r.type === "train");
    assert.deepEqual(m.columns.loss, want.map((r) => r.loss));
    assert.deepEqual(m.columns.step, want.map((r) => r.step));
    const src = Object.keys(want[0].tokens_by_source)[0];
    assert.deepEqual(m.columns[`tokens_by_source/${src}`], want.map((r) => r.tokens_by_source[src]));
    assert.equal(m.evals.length, fx.lines.length - fx.trainCount);
    const thin = JSON.parse((await request(d.port, `/api/metrics?run=0:finished&max=10`)).body);
    assert.ok(thin.columns.step.length <= 11 && thin.stride > 1);
    assert.equal(thin.columns.step.at(-1), want.at(-1).step, "the last point is kept");
    assert.equal((await request(d.port, "/api/metrics?run=0:nope")).status, 404);
  });

  it("serves the sweep view: methods, cooldown − cosine deltas, envelope, fitted law and frontier", async () => {
    const l = JSON.parse((await request(d.port, "/api/runs")).body);
    const v = JSON.parse((await request(d.port, `/api/sweep?id=${encodeURIComponent(l.sweeps[0].id)}`)).body);
    assert.equal(v.name, "micro-study");
    const results = JSON.parse(fs.readFileSync(path.join(fx.root, "study", "results.json"), "utf8"));
    const cool = results.points.filter((p: any) => p.method === "cooldown");
    const cos = results.points.filter((p: any) => p.method === "cosine");
    const pairs = cool.filter((p: any) => cos.some((q: any) => q.size === p.size && q.tokens === p.tokens));
    const deltas = v.deltas.filter((x: any) => x.method === "cooldown" && x.against === "cosine");
    assert.equal(deltas.length, pairs.length);
    for (const x of deltas) {
      const q = cos.find((c: any) => c.size === x.size && c.tokens === x.tokens);
      assert.equal(x.delta, x.loss - q.loss);
    }
    assert.ok(v.envelope.length >= 2);
    assert.ok(v.fits[0].fit && v.frontier && v.frontier.flops.length === 60);
    assert.ok(v.findings.length > 0);
  });

  it("pushes lines appended to metrics.jsonl as events, and a cut-back file as a reset", async () => {
    const s = sse(d.port, ["0:live"]);
    try {
      await s.wait((e) => e.event === "runs", 2000);
      const file = path.join(fx.root, "live", "metrics.jsonl");
      const count = fs.readFileSync(file, "utf8").split("\n").filter((l) => l && JSON.parse(l).type === "train").length;
      const rec = { type: "train", step: 99999, tokens: 1, lr: 0.001, loss: 1.2345, grad_norm: 0.5, tokens_per_s: 10, elapsed_s: 1 };
      const t0 = Date.now();
      fs.appendFileSync(file, JSON.stringify(rec) + "\n");
      const ev = await s.wait((e) => e.event === "append" && e.data.train.some((r: any) => r.step === 99999), 2000);
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(ev.data.run, "0:live");
      assert.equal(ev.data.from, count);
      // Half a line is not sent until it is complete.
      fs.appendFileSync(file, '{"type":"train","step":100000,"loss":1');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!s.events.some((e) => e.event === "append" && e.data.train.some((r: any) => r.step === 100000)));
      fs.appendFileSync(file, '.5}\n');
      await s.wait((e) => e.event === "append" && e.data.train.some((r: any) => r.step === 100000), 2000);
      // A resumed run rewrites the file shorter (a new inode): subscribers are told to reload.
      const tmp = file + ".tmp";
      fs.writeFileSync(tmp, fx.lines.slice(0, 3).join("\n") + "\n");
      fs.renameSync(tmp, file);
      await s.wait((e) => e.event === "reset" && e.data.run === "0:live", 2000);
    } finally {
      s.close();
    }
  });

  it("serves files under the root and refuses traversal, absolute paths and outside links", async () => {
    const ok = await request(d.port, "/files/0/finished/config.resolved.json");
    assert.equal(ok.status, 200);
    assert.match(ok.headers["content-security-policy"] as string, /sandbox/);
    fs.symlinkSync("/etc/passwd", path.join(fx.root, "finished", "leak.txt"));
    fs.symlinkSync("/etc", path.join(fx.root, "etc-link"));
    fs.symlinkSync(path.join(fx.root, "finished", "config.resolved.json"), path.join(fx.root, "inside-link.json"));
    const refused = [
      "/files/0/../../../../etc/passwd",
      "/files/0/finished/../../../etc/passwd",
      "/files/0/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/files/0/%2E%2E/%2E%2E/etc/passwd",
      "/files/0/..%2f..%2f..%2fetc%2fpasswd",
      "/files/0/..%5c..%5cetc%5cpasswd",
      "/files/0/%252e%252e/etc/passwd",
      "/files/0//etc/passwd",
      "/files/0/%2fetc%2fpasswd",
      "/files//etc/passwd",
      "//etc/passwd",
      "/../../etc/passwd",
      "/files/0/finished/leak.txt",
      "/files/0/etc-link/passwd",
      "/files/0/finished/%00config.resolved.json",
      "/files/1/x",
      "/files/0/%zz",
    ];
    for (const p of refused) {
      const r = await request(d.port, p);
      assert.ok(r.status >= 400 && r.status < 500, `${p}: status ${r.status}`);
      assert.ok(!r.body.includes("root:"), `${p} leaked /etc/passwd`);
    }
    assert.equal((await request(d.port, "/files/0/inside-link.json")).status, 200, "a link that stays inside is fine");
  });

  it("answers only GET and HEAD, and only to localhost", async () => {
    for (const m of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const r = await request(d.port, "/api/runs", { method: m });
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
    assert.equal((await request(d.port, "/api/runs", { method: "HEAD" })).status, 200);
    assert.equal((await request(d.port, "/api/runs", { host: "evil.example:80" })).status, 403);
    assert.equal((await request(d.port, "/", { host: `localhost:${d.port}` })).status, 200);
  });

  it("refuses to bind beyond loopback unless asked", async () => {
    await assert.rejects(startDashboard({ roots: [fx.root], host: "0.0.0.0", port: 0 }), ConfigError);
    const r = await runSmol(["dashboard", fx.root, "--host", "0.0.0.0", "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--public/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    const missing = await runSmol(["dashboard", path.join(fx.root, "nope")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
  });
});

describe("dashboard: column cache", () => {
  it("drops the least recently viewed runs' columns beyond its budget and re-reads them", async () => {
    const fx = makeRunsFixture();
    const d = await startDashboard({ roots: [fx.root], port: 0, cacheMb: 0.01 });
    try {
      const get = async (id: string) => JSON.parse((await request(d.port, `/api/metrics?run=${encodeURIComponent(id)}`)).body);
      const a1 = await get("0:finished");
      const b1 = await get("0:live");
      assert.deepEqual(await get("0:finished"), a1);
      assert.deepEqual(await get("0:live"), b1);
    } finally {
      await d.close();
      fx.cleanup();
    }
  });
});
