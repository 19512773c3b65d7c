// Worker-thread entry for pre-token counting: receives text chunks (cut at safe points by
// count.ts), splits them on special tokens, counts GPT-2 pre-tokens, and returns its counts when
// told to finish. Protocol types live in count.ts.
import { parentPort, workerData } from "node:worker_threads";
import { countPretokens, gpt2Regex, specialsRegex, splitOnSpecials } from "./pretokenize.js";

interface WorkerInit {
  specials: string[];
}
type InMsg = { type: "chunk"; text: string } | { type: "finish" };

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const sre = specialsRegex(init.specials);
  const re = gpt2Regex();
  const counts = new Map<string, number>();
  port.on("message", (msg: InMsg) => {
    if (msg.type === "chunk") {
      splitOnSpecials(msg.text, sre, (piece) => countPretokens(piece, counts, re));
      port.postMessage({ type: "done", chars: msg.text.length });
    } else {
      const keys = [...counts.keys()];
      const values = Float64Array.from(counts.values());
      port.postMessage({ type: "counts", keys, values }, [values.buffer]);
    }
  });
}
