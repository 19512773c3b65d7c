// The `smol dashboard` HTTP server: a read-only JSON API over the runs and sweeps found under its
// root directories, live metrics pushed with server-sent events as metrics.jsonl files grow (watched
// with fs.watch, read from the last offset), the static front end (assets/, uPlot from
// node_modules), and files under the roots (traversal, encoded traversal and outside symlinks
// refused). Only GET and HEAD; loopback unless the caller allows otherwise; Host header checked.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ConfigError, DataError } from "../errors.js";
import { readSamples } from "../report/samples.js";
import { packageRoot } from "../util/paths.js";
import { discover, summarizeRun, type Entry, type RunSummary, type SweepSummary } from "./discover.js";
import { PathRefused, resolveUnderRoot } from "./safe-path.js";
import { sweepView } from "./sweep-view.js";
import { MetricsTail, type TailUpdate } from "./tail.js";

export interface DashboardOptions {
  /** Directories to serve (runs and sweeps are found below them). */
  roots: string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Binding to an address other than loopback must be asked for explicitly. */
  allowRemote?: boolean;
  /** A run not finished and not updated for this long is "stale" (default 300 s). */
  staleAfterS?: number;
  /** How often the directories are rescanned for new runs and status changes (default 2000 ms). */
  rescanMs?: number;
  /**
   * Memory for parsed metrics columns (default 512 MiB): beyond it the least recently requested
   * runs drop theirs (they keep being tailed) and are parsed again when next requested.
   */
  cacheMb?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  host: string;
  server: http.Server;
  /** Runs and sweeps found at the last scan. */
  counts(): { runs: number; sweeps: number };
  close(): Promise<void>;
}

/** Rows kept of a run whose columns leave the cache: enough for the front end's 5,000-point views. */
const SKETCH_ROWS = 5000;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
export const isLoopback = (h: string) => LOOPBACK.has(h) || /^127\.\d+\.\d+\.\d+$/.test(h);

const here = path.dirname(fileURLToPath(import.meta.url));

/** Static files: URL path → [file, content type]. Nothing else is served from the package. */
function staticFiles(): Map<string, [string, string]> {
  const root = packageRoot();
  const assets = path.join(root, "src", "dashboard", "assets");
  const req = createRequire(import.meta.url);
  const uplotDir = path.dirname(req.resolve("uplot/package.json"));
  const js = "text/javascript; charset=utf-8";
  return new Map<string, [string, string]>([
    ["/", [path.join(assets, "index.html"), "text/html; charset=utf-8"]],
    ["/app.js", [path.join(assets, "app.js"), js]],
    ["/charts.js", [path.join(assets, "charts.js"), js]],
    ["/style.css", [path.join(assets, "style.css"), "text/css; charset=utf-8"]],
    ["/vendor/uPlot.esm.js", [path.join(uplotDir, "dist", "uPlot.esm.js"), js]],
    ["/vendor/uPlot.min.css", [path.join(uplotDir, "dist", "uPlot.min.css"), "text/css; charset=utf-8"]],
    ["/lib/smooth.js", [path.join(here, "..", "report", "smooth.js"), js]],
  ]);
}

const TYPES: Record<string, string> = {
  ".json": "application/json", ".jsonl": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png", ".html": "text/html; charset=utf-8", ".yaml": "text/plain; charset=utf-8",
};

interface Client {
  res: http.ServerResponse;
  runs: Set<string>;
}

interface Watch {
  tail: MetricsTail;
  watcher?: fs.FSWatcher;
  subs: Set<Client>;
  pending?: NodeJS.Timeout;
}

/** Start the server; resolves once it listens. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host) && !opts.allowRemote) {
    throw new ConfigError(`dashboard: binding to ${host} would expose every run under the served directories to the network`, [], "add --public to confirm, or keep the default --host 127.0.0.1");
  }
  if (!opts.roots.length) throw new DataError("dashboard: no directory to serve", "pass one or more run or sweep directories, e.g. smol dashboard runs/");
  const roots = opts.roots.map((r) => {
    let real: string;
    try {
      real = fs.realpathSync(r);
    } catch {
      throw new DataError(`dashboard: ${r} does not exist`, "pass run or sweep directories (or a folder holding them)");
    }
    if (!fs.statSync(real).isDirectory()) throw new DataError(`dashboard: ${r} is not a directory`);
    return real;
  });
  const staleAfterS = opts.staleAfterS ?? 300;
  const statics = staticFiles();
  let entries = new Map<string, Entry>();
  let listing = { roots: roots.map((r) => r), runs: [] as RunSummary[], sweeps: [] as SweepSummary[] };
  let listingJson = "";
  const tails = new Map<string, MetricsTail>();
  const watches = new Map<string, Watch>();
  const clients = new Set<Client>();

  const rescan = () => {
    const found = discover(roots);
    entries = new Map(found.map((e) => [e.id, e]));
    const now = Date.now();
    const runs = found.filter((e) => e.kind === "run").map((e) => summarizeRun(e, { now, staleAfterS }));
    const sweeps = found.filter((e) => e.kind === "sweep").map((e) => {
      let complete: boolean | null = null;
      try {
        complete = JSON.parse(fs.readFileSync(path.join(e.dir, "results.json"), "utf8")).complete ?? null;
      } catch {
        /* unreadable: shown as unknown */
      }
      return { id: e.id, name: e.rel === "." ? path.basename(e.dir) : e.rel, rel: e.rel, root: e.root, complete, runs: runs.filter((r) => r.sweep === e.id).length };
    });
    listing = { roots, runs, sweeps };
    const json = JSON.stringify(listing);
    if (json !== listingJson) {
      listingJson = json;
      for (const c of clients) send(c, "runs", json);
    }
  };
  rescan();
  const rescanTimer = setInterval(rescan, opts.rescanMs ?? 2000);
  rescanTimer.unref();

  const budget = (opts.cacheMb ?? 512) * 2 ** 20;
  const lastUsed = new Map<string, number>();
  let useClock = 0;
  /** Drop the columns of the least recently requested runs until the cache fits its budget. */
  const enforceBudget = (keep: string) => {
    let total = 0;
    for (const t of tails.values()) total += t.bytes();
    const lru = [...tails.entries()].filter(([id, t]) => id !== keep && t.loaded).sort((a, b) => (lastUsed.get(a[0]) ?? 0) - (lastUsed.get(b[0]) ?? 0));
    for (const [, t] of lru) {
      if (total <= budget) break;
      total -= t.bytes();
      t.dropColumns(SKETCH_ROWS);
      total += t.bytes();
    }
  };

  const tailOf = (id: string): MetricsTail | undefined => {
    const e = entries.get(id);
    if (!e || e.kind !== "run") return undefined;
    let t = tails.get(id);
    if (!t) {
      t = new MetricsTail(path.join(e.dir, "metrics.jsonl"));
      tails.set(id, t);
      void t.catchUp(); // the first read, in slices; live polls wait until it is done
    }
    const w = watches.get(id);
    if (w) pollWatch(id, w); // what a read finds must also reach the live subscribers
    return t;
  };

  function send(c: Client, event: string, data: string): void {
    c.res.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  const publish = (id: string, w: Watch, before: { count: number; evals: number }, upd: TailUpdate) => {
    if (upd.reset) {
      for (const c of w.subs) send(c, "reset", JSON.stringify({ run: id }));
      return;
    }
    if (!upd.train.length && !upd.evals.length) return;
    const data = JSON.stringify({ run: id, from: before.count, train: upd.train, evalsFrom: before.evals, evals: upd.evals });
    for (const c of w.subs) send(c, "append", data);
  };

  const pollWatch = (id: string, w: Watch) => {
    const before = { count: w.tail.count, evals: w.tail.evals.length };
    publish(id, w, before, w.tail.poll());
  };

  const subscribe = (c: Client, id: string) => {
    const e = entries.get(id);
    if (!e || e.kind !== "run") return;
    let w = watches.get(id);
    if (!w) {
      const tail = tailOf(id)!;
      const nw: Watch = { tail, subs: new Set() };
      try {
        // The directory, not the file: a resumed run replaces metrics.jsonl (a new inode).
        nw.watcher = fs.watch(e.dir, { persistent: false }, (_ev, name) => {
          if (name && name !== "metrics.jsonl") return;
          if (nw.pending) return;
          nw.pending = setTimeout(() => {
            nw.pending = undefined;
            pollWatch(id, nw);
          }, 30);
        });
        nw.watcher.on("error", () => nw.watcher?.close());
      } catch {
        /* no inotify: the periodic check below still delivers updates */
      }
      watches.set(id, nw);
      w = nw;
    }
    w.subs.add(c);
    c.runs.add(id);
  };

  const unsubscribeAll = (c: Client) => {
    for (const id of c.runs) {
      const w = watches.get(id);
      if (!w) continue;
      w.subs.delete(c);
      if (!w.subs.size) {
        w.watcher?.close();
        if (w.pending) clearTimeout(w.pending);
        watches.delete(id);
      }
    }
    clients.delete(c);
  };

  // A cheap safety net for missed fs events (network file systems): a size/inode check each second.
  let ticks = 0;
  const safety = setInterval(() => {
    for (const [id, w] of watches) pollWatch(id, w);
    if (++ticks % 15 === 0) for (const c of clients) c.res.write(": keep-alive\n\n");
  }, 1000);
  safety.unref();

  const json = (res: http.ServerResponse, status: number, body: unknown, head: boolean) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(text) });
    res.end(head ? undefined : text);
  };
  const refuse = (res: http.ServerResponse, status: number, message: string, extra: http.OutgoingHttpHeaders = {}) => {
    const text = JSON.stringify({ error: message });
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...extra });
    res.end(text);
  };
  const sendFile = (res: http.ServerResponse, file: string, type: string, head: boolean, sandbox: boolean) => {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      return refuse(res, 404, "not found");
    }
    res.writeHead(200, {
      "Content-Type": type, "Content-Length": data.length, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": sandbox ? "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'" : "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    });
    res.end(head ? undefined : data);
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? "";
    if (method !== "GET" && method !== "HEAD") return refuse(res, 405, `${method} is not allowed: the dashboard is read-only`, { Allow: "GET, HEAD" });
    const head = method === "HEAD";
    if (isLoopback(host)) {
      const hostHeader = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
      if (!isLoopback(hostHeader)) return refuse(res, 403, "unexpected Host header (the dashboard answers only to localhost)");
    }
    const raw = req.url ?? "/";
    if (!raw.startsWith("/") || raw.startsWith("//")) return refuse(res, 400, "bad request path");
    const q = raw.indexOf("?");
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    const rawSegs = rawPath.split("/").slice(1);
    if (rawSegs.some((s) => /^(\.|%2e){1,2}$/i.test(s))) return refuse(res, 400, "'.' and '..' path segments are refused");
    if (rawPath === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    const st = statics.get(rawPath);
    if (st) return sendFile(res, st[0], st[1], head, false);
    if (rawSegs[0] === "files") {
      const ri = Number(rawSegs[1]);
      if (!/^\d+$/.test(rawSegs[1] ?? "") || !(ri < roots.length)) return refuse(res, 404, "no such root");
      try {
        const file = resolveUnderRoot(roots[ri], rawSegs.slice(2));
        return sendFile(res, file, TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream", head, true);
      } catch (e) {
        if (e instanceof PathRefused) return refuse(res, e.status, e.message);
        throw e;
      }
    }
    switch (rawPath) {
      case "/api/runs":
        return json(res, 200, listingJson, head);
      case "/api/metrics": {
        const id = params.get("run") ?? "";
        const t = tailOf(id);
        if (!t) return refuse(res, 404, `no run ${JSON.stringify(id)}`);
        const max = Number(params.get("max") ?? "");
        lastUsed.set(id, ++useClock);
        void t.snapshot(Number.isFinite(max) && max > 1 ? max : Infinity).then(
          (snap) => {
            enforceBudget(id);
            json(res, 200, { run: id, count: snap.count, stride: snap.stride, columns: snap.columns, evals: t.evals }, head);
          },
          (err) => refuse(res, 500, (err as Error).message),
        );
        return;
      }
      case "/api/config": {
        const e = entries.get(params.get("run") ?? "");
        if (!e || e.kind !== "run") return refuse(res, 404, "no such run");
        try {
          return json(res, 200, fs.readFileSync(path.join(e.dir, "config.resolved.json"), "utf8"), head);
        } catch {
          return json(res, 200, {}, head);
        }
      }
      case "/api/samples": {
        const e = entries.get(params.get("run") ?? "");
        if (!e || e.kind !== "run") return refuse(res, 404, "no such run");
        return json(res, 200, readSamples(e.dir).slice(-200), head);
      }
      case "/api/sweep": {
        const e = entries.get(params.get("id") ?? "");
        if (!e || e.kind !== "sweep") return refuse(res, 404, "no such sweep");
        try {
          return json(res, 200, sweepView(e.dir), head);
        } catch (err) {
          return refuse(res, 422, (err as Error).message);
        }
      }
      case "/api/events": {
        const c: Client = { res, runs: new Set() };
        res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive", "X-Accel-Buffering": "no" });
        if (head) return res.end();
        res.write("retry: 1000\n\n");
        clients.add(c);
        for (const id of (params.get("runs") ?? "").split(",").filter(Boolean)) subscribe(c, id);
        send(c, "runs", listingJson);
        req.on("close", () => unsubscribeAll(c));
        return;
      }
    }
    return refuse(res, 404, "not found");
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (!res.headersSent) refuse(res, 500, (e as Error).message);
      else res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new ConfigError(`dashboard: port ${opts.port} is in use`, [], "pick another with --port, or --port 0 for any free port") : e),
    );
    server.listen(opts.port ?? 6006, host, () => resolve());
  });
  const addr = server.address() as { port: number };
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    port: addr.port,
    host,
    server,
    counts: () => ({ runs: listing.runs.length, sweeps: listing.sweeps.length }),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(rescanTimer);
        clearInterval(safety);
        for (const c of [...clients]) {
          unsubscribeAll(c);
          c.res.end();
        }
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
