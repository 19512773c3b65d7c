// Run by package.json's postinstall: builds the optional MPI addon (native/mpi → 
// native/mpi/build/Release/smollab_mpi.node) when an Open MPI C++ wrapper (mpicxx with --showme)
// is on PATH, e.g. from Debian's libopenmpi-dev. Without one it prints one line and exits 0: the
// package installs and trains single-process; `smol train` says which collective it uses.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m) => process.stderr.write(`smollab: ${m}\n`);

const probe = spawnSync("mpicxx", ["--showme:compile"], { encoding: "utf8" });
if (probe.error || probe.status !== 0) {
  say("no MPI compiler wrapper (mpicxx) found: the MPI data-parallel addon is not built; training runs single-process (install openmpi-bin libopenmpi-dev and run `npm rebuild smollab` for mpirun)");
  process.exit(0);
}
// node-gyp: the one npm puts on PATH during install, else npm's bundled copy.
const bundled = join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
const args = ["rebuild", "--directory", join(root, "native", "mpi")];
// Node's headers: npm's nodedir setting when npm runs this, else the ones next to this Node.
const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
let r = spawnSync("node-gyp", args, { stdio: "inherit" });
if (r.error && existsSync(bundled)) r = spawnSync(process.execPath, [bundled, ...args], { stdio: "inherit" });
if (r.error || r.status !== 0) {
  say("the MPI addon failed to build (see above); training runs single-process only. Fix the error and run `npm rebuild smollab`");
}
process.exit(0);
