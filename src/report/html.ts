// Small HTML building blocks for self-contained report pages: escaped tables with right-aligned
// numbers, inlined SVG figures, and the page shell with its stylesheet. Strings in, strings out.
import { escapeXml } from "./svg.js";

export type Cell = string | number | null | undefined;

/** Format a number for a table: `digits` significant digits, exponent form for very large/small values. */
export function fmtCell(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return v.toLocaleString("en-US");
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e9)) return v.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(digits)));
}

/** An HTML table; numbers are formatted and right-aligned, null/undefined print as "—". */
export function htmlTable(headers: string[], rows: Cell[][], opts: { caption?: string; digits?: number } = {}): string {
  const cell = (c: Cell, tag: "td" | "th") => {
    if (c === null || c === undefined) return `<${tag} class="na">—</${tag}>`;
    if (typeof c === "number") return `<${tag} class="num">${escapeXml(fmtCell(c, opts.digits))}</${tag}>`;
    return `<${tag}>${escapeXml(c)}</${tag}>`;
  };
  return [
    "<table>",
    opts.caption ? `<caption>${escapeXml(opts.caption)}</caption>` : "",
    `<thead><tr>${headers.map((h) => `<th>${escapeXml(h)}</th>`).join("")}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => cell(c, "td")).join("")}</tr>`).join("\n")}</tbody>`,
    "</table>",
  ].join("");
}

/** An SVG document as an inline figure (the XML declaration dropped) with an optional caption. */
export function figure(svg: string, caption?: string): string {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, "");
  return `<figure>${body}${caption ? `<figcaption>${escapeXml(caption)}</figcaption>` : ""}</figure>`;
}

/** The page shell: title, stylesheet, body HTML. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}caption{text-align:left;font-weight:600;margin-bottom:.3em}
th,td{border-bottom:1px solid #e4e4e4;padding:.25em .7em;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.na{color:#aaa;text-align:center}thead th{border-bottom:2px solid #bbb}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
.note{background:#f6f6f6;border-left:3px solid #bbb;padding:.5em 1em}code{background:#f3f3f3;padding:0 .2em}
ul.findings li{margin:.4em 0}
</style></head><body>
${body}
</body></html>
`;
}
