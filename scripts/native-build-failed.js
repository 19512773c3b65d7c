// Run by package.json's install script when `node-gyp rebuild` fails: explains on stderr that the
// native addon is missing, what is likely wrong (missing tools or Node headers) and how to fix it,
// then exits 0 so installation still succeeds (SmolLab falls back to its slow reference backend
// and says so at every run).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** True when `cmd --version` runs. */
function has(cmd) {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore" });
  return !r.error && r.status === 0;
}

const missing = ["g++", "make", "python3"].filter((cmd) => !has(cmd));
// Node's own C headers next to the running binary (e.g. /usr/include/node for /usr/bin/node).
const prefix = dirname(dirname(process.execPath));
const localHeaders = existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined;

const lines = [
  "",
  "============================================================================",
  " smollab: WARNING - the native C++ addon could not be built.",
  "",
  " SmolLab will still work, but it falls back to the slow reference backend",
  " (plain TypeScript, float64), which is far slower; every run reports this.",
  "",
];
if (missing.length > 0) {
  lines.push(
    ` Missing build tools: ${missing.join(", ")}. Install them, e.g.`,
    "     Debian/Ubuntu:  sudo apt-get install g++ make python3",
    "     Fedora/RHEL:    sudo dnf install gcc-c++ make python3",
    " then run:  npm rebuild smollab",
  );
} else {
  lines.push(
    " g++, make and python3 are present. node-gyp also needs Node's C headers,",
    " which it downloads on the first build (this needs network access).",
  );
  if (localHeaders) {
    lines.push(" This Node ships its headers; to build offline with them run:", `     npm rebuild smollab --nodedir=${localHeaders}`);
  } else {
    lines.push(" Once online (or with --nodedir=<dir holding include/node>), run:", "     npm rebuild smollab");
  }
  lines.push(" If it still fails, the compiler output above says what went wrong.");
}
lines.push("============================================================================", "");
process.stderr.write(lines.join("\n"));
process.exit(0);
