/**
 * A small, strict shape checker for plain data read from YAML: types, required fields, unknown
 * keys (with a "did you mean" for typos), enums and patterns. It reports every problem with its
 * field path and never stops at the first one.
 */
import { fieldPath, Problems } from "./errors";

export type Shape =
  | {
      readonly kind: "string";
      readonly enum?: readonly string[];
      readonly pattern?: RegExp;
      readonly hint?: string;
    }
  | { readonly kind: "integer"; readonly min?: number; readonly max?: number }
  | { readonly kind: "boolean" }
  | { readonly kind: "array"; readonly items: Shape; readonly minItems?: number }
  | { readonly kind: "map"; readonly values: Shape }
  | { readonly kind: "object"; readonly fields: Readonly<Record<string, Field>> };

export interface Field {
  readonly shape: Shape;
  readonly required?: boolean;
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Levenshtein distance, for typo suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

export function suggest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Checks `value` against `shape`; returns true when it has the right shape (problems added otherwise). */
export function checkShape(
  value: unknown,
  shape: Shape,
  path: string,
  problems: Problems,
): boolean {
  switch (shape.kind) {
    case "string": {
      if (typeof value !== "string") {
        problems.add(path, `must be a string, got ${typeName(value)}`, shape.hint);
        return false;
      }
      if (shape.enum && !shape.enum.includes(value)) {
        const s = suggest(value, shape.enum);
        problems.add(
          path,
          `must be one of ${shape.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(value)}`,
          s ? `did you mean ${JSON.stringify(s)}?` : undefined,
        );
        return false;
      }
      if (shape.pattern && !shape.pattern.test(value)) {
        problems.add(path, `${JSON.stringify(value)} is not valid`, shape.hint);
        return false;
      }
      return true;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        problems.add(path, `must be an integer, got ${typeName(value)}`);
        return false;
      }
      if (!Number.isSafeInteger(value)) {
        problems.add(
          path,
          Number.isInteger(value)
            ? `${value} is too large (at most ${Number.MAX_SAFE_INTEGER})`
            : `must be an integer, got ${value}`,
          Number.isInteger(value)
            ? undefined
            : `use a whole number such as ${Math.max(1, Math.round(value))}`,
        );
        return false;
      }
      if (shape.min !== undefined && value < shape.min) {
        problems.add(path, `must be at least ${shape.min}, got ${value}`);
        return false;
      }
      if (shape.max !== undefined && value > shape.max) {
        problems.add(path, `must be at most ${shape.max}, got ${value}`);
        return false;
      }
      return true;
    }
    case "boolean":
      if (typeof value !== "boolean") {
        problems.add(path, `must be true or false, got ${typeName(value)}`);
        return false;
      }
      return true;
    case "array": {
      if (!Array.isArray(value)) {
        problems.add(path, `must be a list, got ${typeName(value)}`);
        return false;
      }
      let ok = true;
      if (shape.minItems !== undefined && value.length < shape.minItems) {
        problems.add(
          path,
          `needs at least ${shape.minItems} item${shape.minItems === 1 ? "" : "s"}, got ${value.length}`,
        );
        ok = false;
      }
      value.forEach((item, i) => {
        ok = checkShape(item, shape.items, fieldPath(path, i), problems) && ok;
      });
      return ok;
    }
    case "map": {
      if (!isPlainObject(value)) {
        problems.add(path, `must be a mapping, got ${typeName(value)}`);
        return false;
      }
      let ok = true;
      for (const [k, v] of Object.entries(value))
        ok = checkShape(v, shape.values, fieldPath(path, k), problems) && ok;
      return ok;
    }
    case "object": {
      if (!isPlainObject(value)) {
        problems.add(path, `must be a mapping, got ${typeName(value)}`);
        return false;
      }
      let ok = true;
      const known = Object.keys(shape.fields);
      for (const key of Object.keys(value)) {
        if (!(key in shape.fields)) {
          const s = suggest(key, known);
          problems.add(
            fieldPath(path, key),
            `unknown key ${JSON.stringify(key)}`,
            s ? `did you mean ${JSON.stringify(s)}?` : `known keys: ${known.join(", ")}`,
          );
          ok = false;
        }
      }
      for (const [key, field] of Object.entries(shape.fields)) {
        const v = value[key];
        if (v === undefined || v === null) {
          if (field.required) {
            problems.add(
              fieldPath(path, key),
              `is required`,
              `add ${key}: ${exampleOf(field.shape)}`,
            );
            ok = false;
          }
          continue;
        }
        ok = checkShape(v, field.shape, fieldPath(path, key), problems) && ok;
      }
      return ok;
    }
  }
}

function exampleOf(shape: Shape): string {
  switch (shape.kind) {
    case "string":
      return shape.enum ? shape.enum.join(" | ") : "<text>";
    case "integer":
      return `<integer${shape.min !== undefined ? ` >= ${shape.min}` : ""}>`;
    case "boolean":
      return "true | false";
    case "array":
      return "[...]";
    default:
      return "{...}";
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
