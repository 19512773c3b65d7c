// MMLU from the user's copy of the original CSVs (Hendrycks et al., `data.tar` of
// hendrycks/test): one file per subject, `<subject>_test.csv`, no header, rows
// question,A,B,C,D,answer with answer a letter A–D; fields may be quoted and span lines (RFC 4180).
// Looked up as DIR/test/*_test.csv or DIR/*_test.csv, DIR defaulting to <data-dir>/mmlu.
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "../errors.js";
import type { MmluQuestion } from "./prompts.js";

export const MMLU_LAYOUT =
  "the original MMLU CSVs: <subject>_test.csv files (no header; columns question,A,B,C,D,answer with answer one of A-D), in DIR/test/ or DIR/ — e.g. unpack hendrycks/test's data.tar and pass its data/ folder";

/** Parse CSV text into rows of fields; `file` names errors (line numbers are 1-based, of the row start). */
export function parseCsv(text: string, file: string): Array<{ line: number; fields: string[] }> {
  const rows: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let cur = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let atFieldStart = true;
  const endRow = () => {
    fields.push(cur);
    if (!(fields.length === 1 && fields[0] === "")) rows.push({ line: rowLine, fields });
    fields = [];
    cur = "";
    atFieldStart = true;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        cur += ch;
      }
      continue;
    }
    if (ch === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
    } else if (ch === ",") {
      fields.push(cur);
      cur = "";
      atFieldStart = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      cur += ch;
      atFieldStart = false;
    }
  }
  if (quoted) throw new DataError(`${file}:${rowLine}: a quoted field is never closed`);
  if (cur !== "" || fields.length) endRow();
  return rows;
}

/** The *_test.csv files of an MMLU directory, sorted by subject. */
export function findMmluFiles(dir: string): string[] {
  for (const d of [path.join(dir, "test"), dir]) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) continue;
    const files = fs.readdirSync(d).filter((f) => f.endsWith("_test.csv")).sort();
    if (files.length) return files.map((f) => path.join(d, f));
  }
  throw new DataError(`mmlu: no *_test.csv files in ${path.join(dir, "test")} or ${dir}`, `expected ${MMLU_LAYOUT}; pass the folder with --data-dir (as DIR/mmlu) or as a task spec mmlu:DIR`);
}

/** Read every question of the MMLU test CSVs, in subject order. */
export function readMmlu(dir: string): MmluQuestion[] {
  const out: MmluQuestion[] = [];
  for (const file of findMmluFiles(dir)) {
    const subject = path.basename(file).replace(/_test\.csv$/, "");
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new DataError(`cannot read ${file}: ${(e as Error).message}`);
    }
    for (const { line, fields } of parseCsv(text, file)) {
      if (fields.length !== 6) throw new DataError(`${file}:${line}: expected 6 columns (question,A,B,C,D,answer), got ${fields.length}`, `the file should be ${MMLU_LAYOUT}`);
      const ans = fields[5].trim().toUpperCase();
      const gold = "ABCD".indexOf(ans);
      if (ans.length !== 1 || gold < 0) throw new DataError(`${file}:${line}: answer must be one of A, B, C, D; got "${fields[5]}"`);
      out.push({ subject, question: fields[0], choices: fields.slice(1, 5), gold });
    }
  }
  return out;
}
