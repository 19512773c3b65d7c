// The dashboard in a real browser (Debian's chromium driven by playwright-core): the run list of
// the fixture directory, the expected number of series per chart, a point appended to a live run's
// metrics.jsonl shown within 2 s, two runs overlaid, the config diff, the sweep view. Skipped with
// the reason when no chromium is installed (.ci/run installs it). With SMOL_SCREENSHOTS=DIR set,
// the main views are saved there as PNGs (docs/dashboard-*.png come from this).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { makeRunsFixture, type RunsFixture } from "./fixture.js";

const CHROMIUM = process.env.SMOL_CHROMIUM ?? "/usr/bin/chromium";
const skip = fs.existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium, or set SMOL_CHROMIUM)`;
if (skip) console.log(`# skipping the browser tests: ${skip}`);
const SHOTS = process.env.SMOL_SCREENSHOTS;

type Ctx = import("playwright-core").BrowserContext;
type Page = import("playwright-core").Page;

describe("dashboard: in a browser", { skip }, () => {
  let fx: RunsFixture;
  let d: Dashboard;
  let ctx: Ctx;
  let page: Page;
  let udd: string;
  const errors: string[] = [];

  before(async () => {
    fx = makeRunsFixture();
    d = await startDashboard({ roots: [fx.root], port: 0, rescanMs: 500 });
    const { chromium } = await import("playwright-core");
    udd = fs.mkdtempSync(path.join(os.tmpdir(), "smol-chromium-"));
    ctx = await chromium.launchPersistentContext(udd, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
  });
  after(async () => {
    await ctx?.close();
    await d?.close();
    fx?.cleanup();
    if (udd) fs.rmSync(udd, { recursive: true, force: true });
  });

  const open = async (hash: string) => {
    await page.goto("about:blank"); // a hash-only navigation would not restart the app
    await page.goto(`${d.url}#${hash}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 10_000 });
  };
  const series = (name: string) => page.evaluate((n) => (globalThis as any).__dash.series(n), name);
  const shot = async (name: string) => {
    if (SHOTS) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, name), fullPage: false });
    }
  };

  it("lists the runs of the fixture directory with their status", async () => {
    await open("runs=0:finished");
    const rows = await page.$$eval(".run", (els) => els.map((e) => [e.querySelector(".name")!.textContent, e.querySelector(".badge")!.textContent]));
    assert.deepEqual(Object.fromEntries(rows), { broken: "failed", finished: "finished", held: "running", live: "running", old: "stale", "study/runs/s1-constant": "running" });
    assert.equal(await page.$$eval(".sweep-item", (els) => els.length), 1);
    // The run's evaluation table and its samples (samples.jsonl, from the demo).
    const text = await page.$eval("#evals", (e) => e.textContent!);
    assert.match(text, /Evaluation \(latest\)/);
    assert.match(text, /Samples.*function parse\(/s);
  });

  it("draws the expected number of series", async () => {
    await open("runs=0:finished");
    const first = JSON.parse(fx.lines.find((l) => JSON.parse(l).val_loss)!);
    const sources = Object.keys(first.val_loss).length;
    assert.equal(await series("loss"), 2, "raw loss and its EMA");
    assert.equal(await series("val"), sources, "one line per validation source");
    assert.equal(await series("lr"), 1);
    assert.equal(await series("tokens"), sources);
    // The canvas really holds a chart: uPlot drew its series paths and legend.
    assert.equal(await page.$$eval('[data-chart="loss"] .u-legend .u-series', (e) => e.length), 3);
    await page.uncheck("#raw");
    assert.equal(await series("loss"), 1, "raw hidden");
    await page.check("#raw");
    await page.selectOption("#xaxis", "tokens");
    assert.match(await page.$eval('[data-chart="lr"]', (e) => e.textContent!), /tokens/, "x-axis label follows the choice");
    await shot("dashboard-run.png");
  });

  it("overlays two runs and diffs their configs", async () => {
    await open("runs=0:finished,0:live");
    assert.equal(await series("loss"), 4);
    assert.equal(await series("lr"), 2);
    const diff = await page.$$eval("#configdiff tr.differs td:first-child", (els) => els.map((e) => e.textContent));
    assert.ok(diff.includes("config.optimizer.lr"), `differing keys: ${diff.join(", ")}`);
    assert.ok(!diff.includes("config.seed"), "equal keys are not listed as differing");
    const cells = await page.$$eval("#configdiff tr.differs", (rows) => rows.find((r) => r.textContent!.startsWith("config.optimizer.lr"))!.querySelectorAll("td").length);
    assert.equal(cells, 3, "key + one column per run");
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await shot("dashboard-overlay.png");
  });

  it("shows a point appended to a live run's metrics.jsonl within 2 s", async () => {
    await open("runs=0:live");
    const before = await page.evaluate(() => (globalThis as any).__dash.points("0:live"));
    await page.waitForSelector("#live.on", { timeout: 5000 });
    const file = path.join(fx.root, "live", "metrics.jsonl");
    const last = JSON.parse(fx.lines.filter((l) => JSON.parse(l).type === "train")[Math.floor(fx.trainCount / 2) - 1] ?? fx.lines[0]);
    const rec = { ...last, step: 100000, loss: 2.5 };
    const t0 = Date.now();
    fs.appendFileSync(file, JSON.stringify(rec) + "\n");
    await page.waitForFunction((n) => (globalThis as any).__dash.points("0:live") === n + 1, before, { timeout: 2000 });
    const dt = Date.now() - t0;
    assert.ok(dt < 2000, `took ${dt} ms`);
    const shown = await page.$eval('[data-chart="loss"] .plot', (e) => Number((e as any).dataset.points));
    assert.equal(shown, before + 1, "the chart was redrawn with the new point");
  });

  it("shows the sweep view", async () => {
    const id = await page.$eval(".sweep-item", (e) => (e as any).dataset.sweep!);
    await open(`sweep=${encodeURIComponent(id)}&runs=0:finished`);
    await page.waitForSelector("body[data-sweep-ready='1']", { timeout: 30_000 });
    assert.ok((await page.evaluate(() => (globalThis as any).__dash.series("sweep-final"))) >= 2);
    assert.ok((await page.evaluate(() => (globalThis as any).__dash.series("sweep-flops"))) >= 3);
    assert.match(await page.$eval("#sweep", (e) => e.textContent!), /Ablation deltas/);
    await page.$eval("#sweep", (e) => e.scrollIntoView());
    await shot("dashboard-sweep.png");
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), [], "no errors in the page");
  });
});
