// Terminal output helpers for cli/: aligned tables, human numbers, and a progress line that
// redraws in place on a terminal and prints plain lines otherwise (logs, CI).

/** Render rows as an aligned text table; numbers are right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? fmtNum(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/** Compact number formatting for tables: integers with separators, floats with 4 significant digits. */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
  return x.toPrecision(4);
}

/** 1234567 -> "1.23M". */
export function human(x: number): string {
  const a = Math.abs(x);
  for (const [div, s] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]] as const) {
    if (a >= div) return (x / div).toFixed(a / div >= 100 ? 0 : a / div >= 10 ? 1 : 2) + s;
  }
  return String(Math.round(x * 100) / 100);
}

/** Seconds -> "1h02m", "3m05s", "12s". */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(s < 10 ? 1 : 0)}s`;
}

/** A progress reporter: in-place line on a TTY (at most ~10 redraws/s), plain lines otherwise. */
export class Progress {
  private last = 0;
  private readonly tty: boolean;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly plainEveryMs = 2000) {
    this.tty = Boolean(stream.isTTY);
  }
  update(line: string, force = false): void {
    const now = Date.now();
    if (this.tty) {
      if (!force && now - this.last < 100) return;
      this.stream.write(`\r\x1b[2K${line}`);
    } else {
      if (!force && now - this.last < this.plainEveryMs) return;
      this.stream.write(line + "\n");
    }
    this.last = now;
  }
  /** Print a line that stays (e.g. an eval result) without breaking the progress line. */
  log(line: string): void {
    if (this.tty) this.stream.write(`\r\x1b[2K${line}\n`);
    else this.stream.write(line + "\n");
    this.last = 0;
  }
  done(line?: string): void {
    if (line !== undefined) this.update(line, true);
    if (this.tty) this.stream.write("\n");
  }
}
