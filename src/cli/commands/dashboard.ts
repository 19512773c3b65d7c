// `smol dashboard [DIR …]`: serve the live dashboard over run and sweep directories until Ctrl-C.
import * as fs from "node:fs";
import { UsageError } from "../../errors.js";
import { isLoopback, startDashboard } from "../../dashboard/server.js";
import { numberOpt, parseCommandArgs, type Command } from "../command.js";

export const command: Command = {
  name: "dashboard",
  summary: "live web dashboard over run and sweep directories (curves, overlays, config diffs, sweeps)",
  help: `Usage: smol dashboard [DIR …] [--port 6006] [--host 127.0.0.1] [--public] [--stale-after S] [--cache-mb M]

Serves a local web app over the run and sweep directories found (recursively) under each DIR
(default: runs/ if it exists, else the current directory), then prints its address; Ctrl-C stops it.

  - run list with status: running (the trainer's train.lock names a live process, or metrics.jsonl
    changed within --stale-after), finished (last step reached), failed (RUN/status.json says so)
    or stale (none of these)
  - charts that update live as metrics.jsonl grows (pushed with server-sent events): training loss
    (raw and a bias-corrected EMA, adjustable), validation loss per source, learning rate, gradient
    norm, throughput, tokens per source, benchmark tasks; x-axis by step, tokens, FLOPs or time;
    log scales; several runs overlaid
  - the resolved configs of the selected runs diffed, and evaluation tables
  - sweeps: cooldown vs cosine, loss against compute with its envelope, the fitted law and its
    compute-optimal frontier, deltas between methods, findings

Read-only: only GET is answered, and only files under the given directories are served (paths
with '..', encoded separators, or symlinks that lead outside are refused).

Options:
  --port N         port to listen on (default 6006; 0 picks a free one)
  --host H         address to bind (default 127.0.0.1, this machine only)
  --public         needed to bind any address other than loopback (e.g. --host 0.0.0.0): the
                   dashboard has no login, so anyone who can reach the port sees your runs
  --stale-after S  seconds without an update after which an unfinished run counts as stale
                   (default 300)
  --cache-mb M     memory for parsed metrics (default 512); beyond it the least recently viewed
                   runs are parsed again when next opened

Examples:
  smol dashboard runs/
  smol dashboard runs/demo runs/micro-study --port 8080
  smol dashboard runs/ --host 0.0.0.0 --public     # reachable from other machines`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("dashboard", argv, {
      port: { type: "string" }, host: { type: "string" }, public: { type: "boolean" }, "stale-after": { type: "string" }, "cache-mb": { type: "string" },
    }, true);
    const cacheMb = numberOpt("dashboard", "cache-mb", values["cache-mb"], { min: 16 });
    const port = numberOpt("dashboard", "port", values.port, { int: true, min: 0, max: 65535 }) ?? 6006;
    const staleAfterS = numberOpt("dashboard", "stale-after", values["stale-after"], { min: 1 });
    const host = (values.host as string | undefined) ?? "127.0.0.1";
    if (!isLoopback(host) && !values.public) {
      throw new UsageError(`dashboard: --host ${host} would let other machines read every run served`, "add --public to confirm, or leave --host at 127.0.0.1");
    }
    const dirs = positionals.length ? positionals : [fs.existsSync("runs") ? "runs" : "."];
    const d = await startDashboard({ roots: dirs, host, port, allowRemote: Boolean(values.public), staleAfterS, cacheMb });
    const n = d.counts();
    console.log(`smol dashboard: serving ${dirs.join(", ")} (${n.runs} run${n.runs === 1 ? "" : "s"}, ${n.sweeps} sweep${n.sweeps === 1 ? "" : "s"}) at ${d.url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void d.close().then(resolve);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    return 0;
  },
};
