// Argument checks shared by the public API. Each error names the argument, what was expected and
// what came: TypeError for a wrong kind of value, RangeError for a right kind with a wrong value.

/** A short description of a value for error messages: `Float64Array(12)`, `string "abc"`, `null`. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (typeof v === "function") return "function";
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `${name} object` : "object";
}

export function typeError(name: string, expected: string, got: unknown): TypeError {
  return new TypeError(`${name}: expected ${expected}, got ${describe(got)}`);
}

export function rangeError(name: string, expected: string, got: unknown): RangeError {
  return new RangeError(`${name}: expected ${expected}, got ${typeof got === "string" ? got : describe(got)}`);
}

/** The largest element count any tensor may have: keeps every byte count exact in a double and far from size_t overflow. */
export const MAX_ELEMENTS = 2 ** 46;

export function checkPositiveInt(name: string, v: unknown, max = MAX_ELEMENTS): number {
  if (typeof v !== "number") throw typeError(name, "a positive integer", v);
  if (!Number.isInteger(v) || v < 1 || v > max) throw rangeError(name, `a positive integer no larger than ${max}`, v);
  return v;
}

/** dims: a non-empty array of positive integers whose product stays below MAX_ELEMENTS. */
export function checkDims(name: string, dims: unknown): number[] {
  if (!Array.isArray(dims)) throw typeError(name, "an array of positive integers", dims);
  if (dims.length === 0) throw rangeError(name, "at least one dimension", "[]");
  let size = 1;
  dims.forEach((d, i) => {
    checkPositiveInt(`${name}[${i}]`, d);
    size *= d;
    if (size > MAX_ELEMENTS) throw rangeError(name, `at most ${MAX_ELEMENTS} elements in all`, `[${dims.join(", ")}]`);
  });
  return dims.slice();
}

export function checkOneOf<T>(name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    const list = allowed.map((a) => JSON.stringify(a)).join(", ");
    if (typeof v !== typeof allowed[0]) throw typeError(name, `one of ${list}`, v);
    throw rangeError(name, `one of ${list}`, describe(v));
  }
  return v as T;
}

export function checkOptions(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw typeError(name, "an options object", v);
  return v as Record<string, unknown>;
}
