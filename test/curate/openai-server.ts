// Test helpers around the real OpenAI-compatible server (src/serve/openai.ts): start it on a tiny
// SmolLab model at 127.0.0.1 (random port), and a pass-through proxy that answers the first N
// chat requests with 503 so that retries with backoff are exercised against the real server.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { defaultBackend } from "../../src/backend/index.js";
import { startServer, type RunningServer } from "../../src/serve/openai.js";

export async function startTinyServer(modelDir: string): Promise<RunningServer> {
  return startServer(defaultBackend().backend, { modelDir, port: 0, name: "tiny", maxTokensCap: 32 });
}

export interface FaultyProxy {
  url: string;
  /** Requests received, including those answered with 503. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function faultyProxy(target: string, failFirst: number): Promise<FaultyProxy> {
  const t = new URL(target);
  let left = failFirst;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (left > 0) {
      left--;
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end('{"error":{"message":"busy"}}');
      return;
    }
    const fwd = http.request({ host: t.hostname, port: t.port, path: t.pathname.replace(/\/v1$/, "") + (req.url ?? "").replace(/^\/v1/, "/v1"), method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
