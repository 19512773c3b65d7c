// The GPT-2 byte-to-unicode mapping used by every byte-level BPE: each of the 256 byte values is
// drawn as one printable character (space → "Ġ", newline → "Ċ"), so tokens are plain strings in
// vocab.json / tokenizer.json. Also the byte order GPT-2 vocabularies list their 256 byte tokens in.

/** Byte values in GPT-2 vocabulary order: printable Latin-1 first, then the rest (0x00…, 0x7f…, 0xad). */
export const BYTE_ORDER: readonly number[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const printable = new Set(bs);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) bs.push(b);
  return bs;
})();

/** BYTE_TO_CHAR[b]: the character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  let extra = 0;
  for (const b of BYTE_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return out;
})();

/** Character code → byte value (-1 for characters that stand for no byte). */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (t[c.charCodeAt(0)] = b));
  return t;
})();

/** Bytes → their byte-level string (e.g. [0x20, 0x74] → "Ġt"). */
export function bytesToToken(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** A byte-level string back to bytes; undefined if it contains a character that is not a byte. */
export function tokenToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < 512 ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return undefined;
    out[i] = b;
  }
  return out;
}

/** Lexicographic byte comparison (a shorter prefix sorts first), as Python compares `bytes`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
