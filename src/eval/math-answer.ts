// MATH answers: the content of the last \boxed{…} (or \fbox{…}) with balanced braces, and the
// usual normalisation before string comparison (Hendrycks et al.'s MATH equivalence rules, as
// used by lighteval/lm-evaluation-harness): drop spaces, \left/\right, \!, degrees, dollars,
// units text and trailing periods; \dfrac/\tfrac → \frac; "\frac12" → "\frac{1}{2}";
// "\sqrt2" → "\sqrt{2}"; "0.5" with a missing leading zero; a lone "x =" prefix; "a/b" of two
// integers → \frac{a}{b}. Written from that description (not copied).

/** The content of the last \boxed{…} / \fbox{…} in `text`, or undefined. */
export function lastBoxed(text: string): string | undefined {
  let best: string | undefined;
  for (const tag of ["\\boxed", "\\fbox"]) {
    const at = text.lastIndexOf(tag);
    if (at < 0) continue;
    let i = at + tag.length;
    if (text[i] === " ") {
      // "\boxed 5": up to the next "$" or end.
      const rest = text.slice(i + 1);
      const cand = rest.split("$")[0].trim();
      if (best === undefined || at > text.lastIndexOf(best)) best = cand;
      continue;
    }
    if (text[i] !== "{") continue;
    let depth = 0;
    const start = i + 1;
    for (; i < text.length; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}" && --depth === 0) break;
    }
    if (depth === 0 && i < text.length) best = text.slice(start, i);
  }
  return best;
}

function fixFracs(s: string): string {
  const parts = s.split("\\frac");
  let out = parts[0];
  for (const p of parts.slice(1)) {
    out += "\\frac";
    if (p.startsWith("{") || p.length < 2) {
      out += p;
      continue;
    }
    const [a, b] = [p[0], p[1]];
    if (b === "{") out += `{${a}}${p.slice(1)}`;
    else out += `{${a}}{${b}}${p.slice(2)}`;
  }
  return out;
}

function fixSqrt(s: string): string {
  return s.replace(/\\sqrt(\w)/g, "\\sqrt{$1}");
}

function fixSlash(s: string): string {
  const m = /^(-?\d+)\/(\d+)$/.exec(s);
  return m ? `\\frac{${m[1]}}{${m[2]}}` : s;
}

/** Normalise a MATH answer string for exact comparison. */
export function normalizeMathAnswer(raw: string): string {
  let s = raw.replace(/\n/g, "").replace(/\\!/g, "").replace(/\\\\/g, "\\");
  s = s.replace(/tfrac/g, "frac").replace(/dfrac/g, "frac");
  s = s.replace(/\\left/g, "").replace(/\\right/g, "");
  s = s.replace(/\^\{\\circ\}/g, "").replace(/\^\\circ/g, "");
  s = s.replace(/\\\$/g, "").replace(/\$/g, "");
  // Units: a trailing "\text{ units}" (with its leading space) goes.
  const units = s.indexOf("\\text{ ");
  if (units > 0) s = s.slice(0, units);
  s = s.replace(/\\%/g, "").replace(/%/g, "");
  s = s.replace(/ \./g, " 0.").replace(/\{\./g, "{0.");
  if (s.startsWith(".")) s = "0" + s;
  const eq = s.split("=");
  if (eq.length === 2 && eq[0].trim().length <= 2) s = eq[1];
  s = fixSqrt(s);
  s = s.replace(/ /g, "");
  s = fixFracs(s);
  if (s === "0.5") s = "\\frac{1}{2}";
  s = fixSlash(s);
  s = s.replace(/\.$/, "");
  return s;
}

/** Whether a generated solution's boxed answer equals the reference's, after normalisation. */
export function mathCorrect(output: string, goldAnswer: string): boolean {
  const pred = lastBoxed(output);
  if (pred === undefined) return false;
  return normalizeMathAnswer(pred) === normalizeMathAnswer(goldAnswer);
}
