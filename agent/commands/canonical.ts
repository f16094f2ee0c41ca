// RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes a command's signature covers, so a
// control-room integrator can sign in any language with an off-the-shelf JCS library
// (Java: erdtman/java-json-canonicalization, Python: `jcs`, Go: cyberphone/json-canonicalization).
//
// - Object members sorted by their names as arrays of UTF-16 code units (RFC 8785 §3.2.3), which
//   is JavaScript's default string comparison; no whitespace.
// - Numbers as ECMAScript's Number.prototype.toString (RFC 8785 §3.2.2.3): what JSON.stringify
//   gives for a finite number (-0 becomes 0). NaN and Infinity cannot occur in JSON and are refused.
// - Strings as JSON.stringify writes them (RFC 8785 §3.2.2.2: \b \t \n \f \r \" \\ escaped, other
//   controls as \u00xx lowercase, everything else literal UTF-8). A lone surrogate is not I-JSON
//   (RFC 7493) and is refused rather than silently escaped.
// - UTF-8 output.

export class CanonicalError extends Error {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Most levels of nesting accepted (a command's args are shallow; this bounds the recursion). */
export const MAX_DEPTH = 16;

export function canonicalize(value: unknown): string {
  return write(value, 0);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

function write(v: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalError(`nested deeper than ${MAX_DEPTH} levels`);
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalError('a number is not finite');
      return JSON.stringify(v);
    case 'string':
      if (LONE_SURROGATE.test(v)) throw new CanonicalError('a string holds a lone surrogate (not I-JSON)');
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x) => write(x, depth + 1)).join(',')}]`;
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        if (obj[k] === undefined) continue; // cannot come from JSON; kept out like JSON.stringify does
        if (LONE_SURROGATE.test(k)) throw new CanonicalError('a member name holds a lone surrogate (not I-JSON)');
        parts.push(`${JSON.stringify(k)}:${write(obj[k], depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalError(`a ${typeof v} has no JSON form`);
  }
}
