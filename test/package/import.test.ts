// The package is a library: the files `npm pack` would publish are installed into a separate
// directory's node_modules/smollab (with the built addon, as `npm install` would build it, and the
// dependencies linked from this checkout, so no network is needed); a 15-line TypeScript ESM
// script imports it by the name "smollab", is type-checked against the published .d.ts files, and
// then loads the tiny fixture model, scores text and the fixture's golden batch, and generates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openSafetensors } from "../../src/io/safetensors.js";
import { packageRoot } from "../../src/util/paths.js";

const root = packageRoot();

const SCRIPT = `import { defaultBackend, generate, loadModel, loadTokenizer, saveTrainedTokenizer, scoreSequences, trainBpeFromText, openSafetensors, type Tokenizer } from "smollab";
const modelDir = process.argv[2];
// The fixture has a 256-id vocabulary: a byte-level BPE tokenizer with no merges fits it exactly.
saveTrainedTokenizer(trainBpeFromText("", { vocabSize: 256 }), modelDir);
const tok: Tokenizer = await loadTokenizer(modelDir);
const { backend } = defaultBackend();
const model = loadModel(modelDir, backend, { withGrad: false });
const text = scoreSequences(model, [tok.encode("The cat sat on the mat.")]);
const golden = openSafetensors(modelDir + "/golden.safetensors");
const ids = Array.from(golden.readInt("input_ids") as BigInt64Array, (v) => Number(v));
const batch = scoreSequences(model, [ids.slice(0, 16), ids.slice(16, 32)]);
const gen = generate(model, tok.encode("Once upon"), { maxNewTokens: 5, temperature: 0, topK: 0, topP: 1, seed: 0 });
console.log(JSON.stringify({ backend: backend.name, textLoss: text.loss, textTokens: text.logprobs[0].length, batchLoss: batch.loss, generated: gen.ids, decoded: tok.decode(gen.ids) }));
`;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? (r.error ? String(r.error) : "") };
}

test('a separate project imports the packed package by the name "smollab" and uses it', (t) => {
  const pack = run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], root);
  if (pack.code === null) {
    t.skip(`npm is not on PATH (${pack.err.trim()}); cannot list the package's files`);
    return;
  }
  assert.equal(pack.code, 0, pack.err);
  const files: string[] = JSON.parse(pack.out)[0].files.map((f: { path: string }) => f.path);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  // Every entry point named by package.json is among the published files.
  for (const entry of [pkg.main, pkg.types, pkg.exports["."].default, pkg.exports["."].types, pkg.bin.smol]) {
    assert.ok(files.includes(entry.replace(/^\.\//, "")), `${entry} is named in package.json but not packed`);
  }

  const proj = fs.mkdtempSync(path.join(os.tmpdir(), "smol-pkg-"));
  const dest = path.join(proj, "node_modules", "smollab");
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(dest, f));
  }
  // What `npm install` adds: the addon it builds, and the dependencies (linked from this checkout).
  const addon = path.join(root, "build", "Release", "smollab.node");
  if (fs.existsSync(addon)) {
    fs.mkdirSync(path.join(dest, "build", "Release"), { recursive: true });
    fs.copyFileSync(addon, path.join(dest, "build", "Release", "smollab.node"));
  }
  const scopes = new Set<string>(["@types"]);
  for (const dep of Object.keys(pkg.dependencies)) {
    if (dep.startsWith("@")) scopes.add(dep.split("/")[0]);
    else fs.symlinkSync(path.join(root, "node_modules", dep), path.join(proj, "node_modules", dep));
  }
  for (const s of scopes) fs.symlinkSync(path.join(root, "node_modules", s), path.join(proj, "node_modules", s));
  fs.writeFileSync(path.join(proj, "package.json"), JSON.stringify({ name: "uses-smollab", private: true, type: "module" }));
  fs.writeFileSync(path.join(proj, "use.ts"), SCRIPT);
  const model = path.join(proj, "tiny");
  fs.cpSync(path.join(root, "test", "fixtures", "tiny-llama"), model, { recursive: true });

  // Type-check against the published declarations, then run the compiled script.
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  const c = run(process.execPath, [tsc, "--strict", "--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "NodeNext", "--skipLibCheck", "use.ts"], proj);
  assert.equal(c.code, 0, `tsc: ${c.out}${c.err}`);
  const r = run(process.execPath, ["use.js", model], proj);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out.trim().split("\n").pop()!);

  // Independent reference: the fixture's PyTorch loss on its golden batch.
  const golden = openSafetensors(path.join(root, "test", "fixtures", "tiny-llama", "golden.safetensors"));
  const want = golden.read("loss")[0];
  golden.close();
  const tol = 1e-5; // fp32 PyTorch vs SmolLab (fp32 native, or the float64 reference when the addon is missing)
  assert.ok(Math.abs(res.batchLoss - want) <= tol, `golden loss ${res.batchLoss} vs PyTorch ${want} (tolerance ${tol})`);
  assert.equal(res.textTokens, "The cat sat on the mat.".length - 1, "bytes scored: one log-prob per predicted byte");
  assert.ok(Number.isFinite(res.textLoss) && res.textLoss > 0);
  assert.equal(res.generated.length, 5);
  assert.ok(res.generated.every((id: number) => Number.isInteger(id) && id >= 0 && id < 256));
  fs.rmSync(proj, { recursive: true, force: true });
});
