// Schedules as tables of expected values (DESIGN principle 9): every phase edge and every cooldown
// shape value by value, worked out by hand here from docs/references.md §6, never by calling the code
// under test; plus validation messages with dotted paths and the cooldown-branch equality.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.js";
import {
  DECAY_SHAPES, cooldownBranch, cooldownSteps, decayStart, makeSchedule, scheduleValues, validateSchedule,
  type DecayShape, type ScheduleConfig,
} from "../../src/optim/schedule.js";
import { assertClose } from "../helpers.js";

// Hand values are a few float64 roundings away from the code's: 1e-15 absolute on O(1) values.
const TIGHT = { atol: 1e-15, rtol: 1e-14 };
const table = (cfg: ScheduleConfig, steps: number[]) => steps.map(makeSchedule(cfg));

describe("schedule: WSD edges (N=10, W=2, C=4, η=1, η_min=0)", () => {
  // Steps 0-1 warmup, 2-5 stable, 6-9 cooldown with x = (n − 6)/4 = 0, 0.25, 0.5, 0.75; n = 10 has x = 1.
  const base: ScheduleConfig = { kind: "wsd", lr: 1, steps: 10, warmup: 2, decaySteps: 4, shape: "linear" };
  it("phase boundaries", () => {
    assert.equal(decayStart(base), 6);
    assert.equal(cooldownSteps(base), 4);
    // first step η·1/W = 0.5; last warmup step (1) reaches η; first stable (2); last stable (5);
    // first cooldown step (6) still η (x = 0); last step (9) x = 0.75 → 0.25 (linear), not η_min.
    assertClose(table(base, [0, 1, 2, 5, 6, 7, 8, 9, 10, 12]), [0.5, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0], TIGHT, "wsd linear");
  });

  // f(x) at x = 0.25, 0.5, 0.75 for every shape, from the formulas of docs/references.md §6.
  const shapes: Record<DecayShape, number[]> = {
    linear: [0.75, 0.5, 0.25],
    "1-sqrt": [0.5, 1 - 0.7071067811865476, 1 - 0.8660254037844386],
    // ½(1 + cos πx): cos(π/4) = 0.7071067811865476, cos(3π/4) = −0.7071067811865476
    cosine: [0.8535533905932738, 0.5, 0.1464466094067262],
    // 2(1 − x) − ½(1 + cos πx)
    "mirror-cosine": [1.5 - 0.8535533905932738, 1 - 0.5, 0.5 - 0.1464466094067262],
    square: [1 - 0.0625, 1 - 0.25, 1 - 0.5625],
    // power with a = 3: 1 − x³
    power: [1 - 0.015625, 1 - 0.125, 1 - 0.421875],
  };
  for (const shape of DECAY_SHAPES) {
    it(`shape ${shape}: cooldown values, start at η, end (n = N) at η_min`, () => {
      const cfg: ScheduleConfig = { ...base, shape, ...(shape === "power" ? { power: 3 } : {}) };
      assertClose(table(cfg, [5, 6, 7, 8, 9, 10]), [1, 1, ...shapes[shape], 0], TIGHT, shape);
    });
  }

  it("η_min and peak enter as η_min + (η − η_min)·f(x)", () => {
    const cfg: ScheduleConfig = { ...base, lr: 2, finalLr: 0.2, shape: "1-sqrt" };
    // x = 0.25: 0.2 + 1.8·0.5 = 1.1; x = 0.75: 0.2 + 1.8·(1 − 0.8660254037844386) = 0.44115427318801
    assertClose(table(cfg, [6, 7, 9, 10]), [2, 1.1, 0.2 + 1.8 * (1 - 0.8660254037844386), 0.2], TIGHT, "final lr");
  });

  it("power a = 0.5 is 1-sqrt and a = 1 is linear", () => {
    const sq = scheduleValues({ ...base, shape: "1-sqrt" });
    const p05 = scheduleValues({ ...base, shape: "power", power: 0.5 });
    assertClose(p05, sq, TIGHT, "power 0.5");
    assertClose(scheduleValues({ ...base, shape: "power", power: 1 }), scheduleValues(base), TIGHT, "power 1");
  });

  it("decay_fraction rounds to whole steps (0.29 · 100 = 29, not 28)", () => {
    const cfg: ScheduleConfig = { kind: "wsd", lr: 1, steps: 100, decayFraction: 0.29 };
    assert.equal(cooldownSteps(cfg), 29);
    assert.equal(decayStart(cfg), 71);
    assert.equal(decayStart({ kind: "wsd", lr: 1, steps: 1000 }), 800, "default fraction 0.2");
  });
});

describe("schedule: warmup", () => {
  it("default start factor 1/W: lr(n) = η·(n+1)/W", () => {
    const cfg: ScheduleConfig = { kind: "constant", lr: 0.001, steps: 10, warmup: 4 };
    assertClose(table(cfg, [0, 1, 2, 3, 4, 9]), [0.00025, 0.0005, 0.00075, 0.001, 0.001, 0.001], TIGHT, "warmup");
  });
  it("start factor 0.01 (Hägele et al.'s η/100): linear from 0.01·η at 0 to η at W − 1", () => {
    const cfg: ScheduleConfig = { kind: "constant", lr: 2, steps: 5, warmup: 3, warmupStartFactor: 0.01 };
    // n = 1: 2·(0.01 + 0.99·1/2) = 1.01
    assertClose(table(cfg, [0, 1, 2, 3, 4]), [0.02, 1.01, 2, 2, 2], TIGHT, "warmup 0.01");
  });
  it("start factor 0 starts at exactly 0; W = 1 is the peak at step 0", () => {
    assert.equal(makeSchedule({ kind: "constant", lr: 1, steps: 5, warmup: 3, warmupStartFactor: 0 })(0), 0);
    assert.equal(makeSchedule({ kind: "constant", lr: 1, steps: 5, warmup: 1 })(0), 1);
  });
});

describe("schedule: cosine (N=10, W=2, η=1, final 0.1·η)", () => {
  // p = (n − 2)/8; lr = 0.1 + 0.9·½(1 + cos πp).
  const cfg: ScheduleConfig = { kind: "cosine", lr: 1, steps: 10, warmup: 2 };
  it("values at the edges and inside", () => {
    // n = 4: p = 1/4 → 0.1 + 0.9·0.8535533905932738; n = 6: p = 1/2 → 0.55;
    // n = 9 (last step): p = 7/8, cos(7π/8) = −0.9238795325112867 → 0.1 + 0.9·0.03806023374435663.
    assertClose(
      table(cfg, [0, 1, 2, 4, 6, 9, 10]),
      [0.5, 1, 1, 0.1 + 0.9 * 0.8535533905932738, 0.55, 0.1 + 0.9 * 0.03806023374435663, 0.1],
      TIGHT, "cosine",
    );
  });
  it("final_fraction 0 decays to 0 at n = N", () => {
    assert.ok(Math.abs(makeSchedule({ ...cfg, finalFraction: 0 })(10)) < 1e-16);
  });
});

describe("schedule: the CLI contract schedule (wsd, N=1000, η=1e-3, W=100, 20% 1-sqrt)", () => {
  const lrs = scheduleValues({ kind: "wsd", lr: 0.001, steps: 1000, warmup: 100, decayFraction: 0.2, shape: "1-sqrt" });
  it("has 1000 values with the stated edges", () => {
    assert.equal(lrs.length, 1000);
    // n = 801: x = 1/200, √0.005 = 0.07071067811865475; n = 999: x = 199/200, √0.995 = 0.9974968671630001
    assertClose(
      [lrs[0], lrs[98], lrs[99], lrs[100], lrs[799], lrs[800], lrs[801], lrs[999]],
      [1e-5, 0.00099, 0.001, 0.001, 0.001, 0.001, 0.001 * (1 - 0.07071067811865475), 0.001 * (1 - 0.9974968671630001)],
      { atol: 1e-18, rtol: 1e-12 }, "contract",
    );
  });
});

describe("schedule: validation with dotted paths", () => {
  it("lists every problem", () => {
    const p = validateSchedule({ kind: "wsd", lr: -1, steps: 10.5, warmup: -2, decayFraction: 1.5, shape: "power" }, "train.schedule");
    assert.ok(p.includes("train.schedule.lr: must be a number > 0, got -1"), p.join("\n"));
    assert.ok(p.includes("train.schedule.steps: must be an integer >= 1, got 10.5"), p.join("\n"));
    assert.ok(p.includes("train.schedule.warmup: must be an integer >= 0, got -2"), p.join("\n"));
    assert.ok(p.includes("train.schedule.decay_fraction: must be in (0, 1], got 1.5"), p.join("\n"));
    assert.ok(p.some((s) => s.startsWith("train.schedule.power: required")), p.join("\n"));
  });
  it("warmup + cooldown must fit; keys of other kinds are flagged", () => {
    const p = validateSchedule({ kind: "wsd", lr: 1, steps: 10, warmup: 8, decaySteps: 4 });
    assert.deepEqual(p, ["schedule.decay_steps: warmup (8) + cooldown (4) exceed steps (10)"]);
    const q = validateSchedule({ kind: "cosine", lr: 1, steps: 10, shape: "linear", decayFraction: 0.2 });
    assert.deepEqual(q.sort(), [
      "schedule.decay_fraction: only applies to kind wsd (this schedule is cosine)",
      "schedule.shape: only applies to kind wsd (this schedule is cosine)",
    ]);
    assert.deepEqual(validateSchedule({ kind: "wsd", lr: 1, steps: 10, decaySteps: 2, decayFraction: 0.2 }), [
      "schedule.decay_steps: give decay_steps or decay_fraction, not both",
    ]);
    assert.deepEqual(validateSchedule({ kind: "wsd", lr: 1, steps: 10, shape: "linear", finalLr: 2 }), ["schedule.final_lr: must be <= lr (1), got 2"]);
    assert.deepEqual(validateSchedule({ kind: "wsd", lr: 1, steps: 3, decayFraction: 0.1 }), [
      "schedule.decay_fraction: gives 0 cooldown steps for 3 steps; use a larger fraction or decay_steps",
    ]);
  });
  it("a valid config has no problems; makeSchedule throws ConfigError with the list", () => {
    assert.deepEqual(validateSchedule({ kind: "wsd", lr: 1e-3, steps: 1000, warmup: 100 }), []);
    assert.throws(() => makeSchedule({ kind: "wsd", lr: 0, steps: 10 }), (e: unknown) => e instanceof ConfigError && /schedule\.lr/.test(e.message));
    assert.throws(() => makeSchedule({ kind: "constant", lr: 1, steps: 10 })(-1), ConfigError);
  });
});

describe("schedule: cooldown branches equal a WSD run decaying at the branch step", () => {
  for (const shape of DECAY_SHAPES) {
    it(`shape ${shape}`, () => {
      const power = shape === "power" ? 1.7 : undefined;
      // Parent: constant 1e-3 with 100 warmup steps. Branches for D = 500 and 1000 steps with 20% cooldowns.
      for (const [branchStep, decay] of [[400, 100], [800, 200]]) {
        const branch = cooldownBranch(1e-3, branchStep, decay, shape, { warmup: 100, finalLr: 1e-5, power });
        const wsd = makeSchedule({ kind: "wsd", lr: 1e-3, steps: branchStep + decay, warmup: 100, decaySteps: decay, shape, finalLr: 1e-5, power });
        const parent = makeSchedule({ kind: "constant", lr: 1e-3, steps: 2000, warmup: 100 });
        for (let n = 0; n <= branchStep + decay; n++) {
          assert.equal(branch(n), wsd(n), `step ${n} of the branch at ${branchStep}`);
          if (n < branchStep) assert.equal(branch(n), parent(n), `step ${n} before the branch equals the parent`);
        }
      }
    });
  }
  it("rejects a branch inside the warmup", () => {
    assert.throws(() => cooldownBranch(1e-3, 50, 10, "linear", { warmup: 100 }), ConfigError);
  });
});
