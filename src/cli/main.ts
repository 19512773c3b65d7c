#!/usr/bin/env node
// `smol`: the command-line entry point. Finds the subcommand, runs it, and is the one place
// that turns errors into a printed line and an exit code (library code only throws).
import { ConfigError, SmolError, UsageError } from "../errors.js";
import type { Command } from "./command.js";

/** Every subcommand, in the order `smol --help` lists them. Modules load lazily. */
const COMMANDS: Array<[name: string, load: () => Promise<{ command: Command }>]> = [
  // registry: one line per command, "name", () => import("./commands/<file>.js")
  ["demo", () => import("./commands/demo.js")],
  ["models", () => import("./commands/models.js")],
  ["init", () => import("./commands/init.js")],
  ["score", () => import("./commands/score.js")],
  ["generate", () => import("./commands/generate.js")],
  ["eval", () => import("./commands/eval.js")],
  ["train", () => import("./commands/train.js")],
  ["cooldown", () => import("./commands/cooldown.js")],
  ["swa", () => import("./commands/swa.js")],
  ["bench", () => import("./commands/bench.js")],
  ["schedule", () => import("./commands/schedule.js")],
  ["fit", () => import("./commands/fit.js")],
  ["sweep", () => import("./commands/sweep.js")],
  ["report", () => import("./commands/report.js")],
  ["dashboard", () => import("./commands/dashboard.js")],
  ["tensorboard-export", () => import("./commands/tensorboard-export.js")],
  ["tokenizer", () => import("./commands/tokenizer.js")],
  ["tokenize", () => import("./commands/tokenize.js")],
  ["curate", () => import("./commands/curate.js")],
  ["serve", () => import("./commands/serve.js")],
  ["export", () => import("./commands/export.js")],
  ["sft", () => import("./commands/sft.js")],
  ["dpo", () => import("./commands/dpo.js")],
  ["ablate", () => import("./commands/ablate.js")],
  ["mixture", () => import("./commands/mixture.js")],
  ["longctx", () => import("./commands/longctx.js")],
];

const VERSION = "0.1.0";

async function loadAll(): Promise<Command[]> {
  return Promise.all(COMMANDS.map(async ([, load]) => (await load()).command));
}

async function mainHelp(): Promise<string> {
  const cmds = await loadAll();
  const w = Math.max(...cmds.map((c) => c.name.length), 8);
  return [
    "smol — pretrain, study and ship small language models",
    "",
    "Usage: smol <command> [options]        smol <command> --help for a command's options",
    "",
    "Commands:",
    ...cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "Global options:",
    "  -h, --help       show help",
    "  -V, --version    print the version",
    "  --verbose        on errors, print the stack trace too",
    "",
    "Environment:",
    "  SMOL_THREADS     worker threads for kernels (default: all cores)",
    "  SMOL_BACKEND     native | reference (default: native, reference if the addon is missing)",
    "  SMOL_ISA         avx512 | avx2 | generic: force a kernel instruction set",
    "  SMOL_BF16        native | emulated: the bf16 GEMM (default: AVX512-BF16 where the CPU has it)",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes("--verbose");
  const args = argv.filter((a) => a !== "--verbose");
  try {
    const name = args[0];
    if (name === undefined || name === "-h" || name === "--help" || name === "help") {
      if (name === "help" && args[1]) return main([args[1], "--help"]);
      console.log(await mainHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === "-V" || name === "--version") {
      console.log(VERSION);
      return 0;
    }
    const entry = COMMANDS.find(([n]) => n === name);
    if (!entry) {
      const names = COMMANDS.map(([n]) => n);
      const close = names.filter((n) => n.startsWith(name.slice(0, 2)));
      throw new UsageError(`unknown command "${name}"`, close.length ? `did you mean: ${close.join(", ")}?` : "run `smol --help` for the list of commands");
    }
    const { command } = await entry[1]();
    if (args.slice(1).some((a) => a === "--help" || a === "-h")) {
      console.log(command.help);
      return 0;
    }
    return await command.run(args.slice(1));
  } catch (e) {
    return reportError(e, verbose);
  }
}

/** This process's rank when an MPI launcher (mpirun, srun) started it, else undefined. */
function launcherRank(): number | undefined {
  const v = process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMIX_RANK ?? process.env.PMI_RANK;
  return v === undefined ? undefined : Number(v);
}

function reportError(e: unknown, verbose: boolean): number {
  if (e instanceof SmolError) {
    // Under mpirun every rank reads the same config and arguments: rank 0 alone reports their
    // errors; any other error names the rank it happened on.
    const rank = launcherRank();
    if (rank !== undefined && rank > 0 && (e instanceof ConfigError || e instanceof UsageError)) return e instanceof UsageError ? 2 : 1;
    process.stderr.write(`smol: error${rank ? ` (rank ${rank})` : ""}: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    if (verbose && e.stack) process.stderr.write(e.stack + "\n");
    return e instanceof UsageError ? 2 : 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && (err.code === "ENOENT" || err.code === "EACCES" || err.code === "EISDIR" || err.code === "ENOTDIR")) {
    process.stderr.write(`smol: error: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`smol: internal error: ${err?.message ?? String(e)}\n`);
  if (verbose && err?.stack) process.stderr.write(err.stack + "\n");
  else process.stderr.write("  hint: rerun with --verbose for the stack trace, and please report it\n");
  return 70;
}

// EPIPE (e.g. `smol ... | head`) is not an error worth a trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e, true);
  },
);
