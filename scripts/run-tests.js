#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner, which prints
// the closing "# pass N / # fail N" summary. Usage: node scripts/run-tests.js [filter-substring]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const root = join(new URL(".", import.meta.url).pathname, "..");
const dir = join(root, "dist", "test");
if (!existsSync(dir)) {
  console.error("run-tests: dist/test is missing; run `npm run build` first");
  process.exit(1);
}
const files = [];
(function walk(d) {
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.js")) files.push(p);
  }
})(dir);
const filter = process.argv[2];
const chosen = filter ? files.filter((f) => f.includes(filter)) : files;
if (!chosen.length) {
  console.error(`run-tests: no test files${filter ? ` match "${filter}"` : ""}`);
  process.exit(1);
}
// Human-readable spec output on stdout, plus TAP into a file for the closing count line.
const tmp = mkdtempSync(join(tmpdir(), "smol-tests-"));
const tap = join(tmp, "results.tap");
const r = spawnSync(
  process.execPath,
  ["--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...chosen],
  { stdio: "inherit", cwd: root },
);
const text = existsSync(tap) ? readFileSync(tap, "utf8") : "";
const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, "m")) ?? [])[1] ?? 0);
rmSync(tmp, { recursive: true, force: true });
console.log(`\n${count("pass")} passed, ${count("fail")} failed, ${count("skipped")} skipped`);
process.exit(r.status ?? 1);
