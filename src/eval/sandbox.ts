// Running generated Python (HumanEval, MBPP) in a sandboxed subprocess: a fresh temporary
// directory as cwd and HOME, an empty environment, isolated-mode python3 (-I: no user site, no
// PYTHON* variables; -B: no .pyc writes), resource limits (address space, CPU seconds, file
// size, open files) and a wall-clock timeout that kills the whole process group, and a Python
// audit hook (PEP 578, installed before the program runs and impossible to remove from Python)
// that refuses sockets, subprocesses, ctypes and any write, delete or rename outside the
// temporary directory. Where `unshare` can create a network namespace the program runs in one
// with no interfaces as well. A program passes only by exiting 0 within its limits.
// Written here (not taken from human-eval's execution.py) so that it is driven from Node and
// returns a typed verdict per program; python3 is the only requirement.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DataError } from "../errors.js";

export interface SandboxLimits {
  /** Wall-clock seconds (default 10). */
  timeoutS?: number;
  /** Address-space limit in MiB (default 1024). */
  memoryMb?: number;
  /** Largest file the program may write, MiB (default 16). */
  fileMb?: number;
}

export type SandboxStatus = "passed" | "failed" | "timeout" | "blocked" | "memory";

export interface SandboxResult {
  status: SandboxStatus;
  exitCode: number | null;
  /** The last 2,000 characters of stderr (the traceback of a failure). */
  stderr: string;
  seconds: number;
}

// The guard runs first in the child: limits, then the audit hook, then the program, as __main__.
const GUARD = String.raw`
import os, sys, resource
root = os.path.realpath(os.getcwd())
mem, cpu, fsize = (int(x) for x in sys.argv[2:5])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
src = open(sys.argv[1], encoding="utf-8").read()
BLOCK_PREFIX = ("socket.", "subprocess.", "ctypes.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "pty.", "os.kill", "os.killpg", "signal.pthread_kill", "winreg.", "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.")
BLOCK = {"os.system", "os.putenv", "os.unsetenv", "resource.setrlimit", "shutil.rmtree", "os.chroot", "os.setuid", "os.setgid"}
PATHS = {"os.remove": (0,), "os.unlink": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.replace": (0, 1), "os.link": (0, 1), "os.symlink": (0, 1), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,), "os.chdir": (0,), "os.chflags": (0,), "os.lchown": (0,), "os.lchmod": (0,), "os.setxattr": (0,), "os.removexattr": (0,)}
def inside(p):
    if isinstance(p, int):
        return True
    try:
        p = os.fsdecode(p)
    except Exception:
        return False
    full = os.path.realpath(os.path.join(root, p))
    return full == root or full.startswith(root + os.sep)
def hook(event, args):
    if event in BLOCK or event.startswith(BLOCK_PREFIX):
        raise PermissionError("sandbox: " + event + " is not allowed")
    if event == "open":
        mode = args[1] if len(args) > 1 else "r"
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
        if writing and not inside(args[0]):
            raise PermissionError("sandbox: writing outside the temporary directory: " + str(args[0]))
    elif event in PATHS:
        for i in PATHS[event]:
            if i < len(args) and not inside(args[i]):
                raise PermissionError("sandbox: " + event + " outside the temporary directory: " + str(args[i]))
sys.addaudithook(hook)
del hook
code = compile(src, "program.py", "exec")
g = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(code, g)
except PermissionError as e:
    if str(e).startswith("sandbox:"):
        sys.stderr.write(str(e) + "\n")
        os._exit(3)
    raise
except MemoryError:
    sys.stderr.write("sandbox: out of memory\n")
    os._exit(4)
`;

let python: string | undefined | null;
let netns: boolean | undefined;

/** The python3 executable, or null when there is none (a DataError when required). */
export function findPython(): string | null {
  if (python !== undefined) return python;
  const r = spawnSync("python3", ["-c", "import sys, resource; sys.exit(0 if sys.version_info >= (3, 8) else 1)"], { stdio: "ignore", timeout: 20000 });
  python = r.status === 0 ? "python3" : null;
  return python;
}

function requirePython(): string {
  const p = findPython();
  if (p === null) throw new DataError("code tasks need python3 (3.8 or newer) to run the generated programs", "install python3 (e.g. apt-get install python3)");
  return p;
}

/** Whether `unshare` can give the child an empty network namespace (as root, or with user namespaces). */
function canUnshareNet(): boolean {
  if (netns !== undefined) return netns;
  const tries = [["--net", "true"], ["--map-root-user", "--net", "true"]];
  netns = tries.some((a) => spawnSync("unshare", a, { stdio: "ignore", timeout: 5000 }).status === 0);
  return netns;
}

function unshareArgs(): string[] {
  if (!canUnshareNet()) return [];
  return spawnSync("unshare", ["--net", "true"], { stdio: "ignore", timeout: 5000 }).status === 0 ? ["unshare", "--net"] : ["unshare", "--map-root-user", "--net"];
}

/** Run one program in the sandbox. Never throws for what the program does; throws only without python3. */
export function runPython(program: string, limits: SandboxLimits = {}): Promise<SandboxResult> {
  const py = requirePython();
  const timeoutS = limits.timeoutS ?? 10;
  const memory = Math.round((limits.memoryMb ?? 1024) * 2 ** 20);
  const fsize = Math.round((limits.fileMb ?? 16) * 2 ** 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-sandbox-"));
  fs.writeFileSync(path.join(dir, "program.py"), program);
  fs.writeFileSync(path.join(dir, "guard.py"), GUARD);
  const pre = unshareArgs();
  const argv = [...pre, py, "-I", "-B", path.join(dir, "guard.py"), path.join(dir, "program.py"), String(memory), String(Math.ceil(timeoutS)), String(fsize)];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: dir, env: { HOME: dir, TMPDIR: dir, PATH: "/usr/bin:/bin", LANG: "C.UTF-8" }, detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let timedOut = false;
    child.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-2000);
    });
    const kill = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutS * 1000);
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      kill();
      fs.rmSync(dir, { recursive: true, force: true });
      let status: SandboxStatus;
      if (timedOut || signal === "SIGXCPU") status = "timeout";
      else if (code === 0) status = "passed";
      else if (code === 3) status = "blocked";
      else if (code === 4 || /MemoryError/.test(stderr)) status = "memory";
      else status = "failed";
      resolve({ status, exitCode: code, stderr, seconds: (performance.now() - t0) / 1000 });
    };
    child.on("error", () => finish(null, null));
    child.on("close", finish);
  });
}

/** Run programs with up to `concurrency` at once (default: CPU count, at most 4); results in order. */
export async function runPythonMany(programs: readonly string[], limits: SandboxLimits = {}, concurrency?: number, onDone?: (done: number, total: number) => void): Promise<SandboxResult[]> {
  requirePython();
  const out: SandboxResult[] = new Array(programs.length);
  let next = 0;
  let done = 0;
  const n = Math.max(1, concurrency ?? Math.min(4, os.availableParallelism()));
  const worker = async () => {
    while (next < programs.length) {
      const i = next++;
      out[i] = await runPython(programs[i], limits);
      onDone?.(++done, programs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, programs.length) }, worker));
  return out;
}
