/**
 * Problems found in configuration. Validation collects every problem, with the field path and
 * the fix, and raises them once as a {@link ConfigError} before any resource is registered.
 */

export interface Problem {
  /** File the problem is in, as the user named it (e.g. `stacks/network.yaml`). */
  readonly file?: string;
  /** Field path, e.g. `sites[1].zones`; empty for the whole document. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
  /** How to fix it. */
  readonly fix?: string;
  /** 1-based line in `file`, when known. */
  readonly line?: number;
  /** 1-based column in `file`, when known. */
  readonly column?: number;
}

export function formatProblem(p: Problem): string {
  const where = [p.file, p.line !== undefined ? `${p.line}` : undefined]
    .filter((x) => x !== undefined)
    .join(":");
  const head = [where, p.path].filter((x) => x).join(": ");
  const fix = p.fix ? ` (fix: ${p.fix})` : "";
  return `${head ? head + ": " : ""}${p.message}${fix}`;
}

/** Bad input or configuration: one clear list of every problem found. CLI exit code 2. */
export class ConfigError extends Error {
  readonly problems: readonly Problem[];
  readonly title: string;

  constructor(problems: readonly Problem[], title = "invalid configuration") {
    const n = problems.length;
    super(
      `${title}: ${n} problem${n === 1 ? "" : "s"}\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = problems;
    this.title = title;
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return (
    e instanceof Error && e.name === "ConfigError" && Array.isArray((e as ConfigError).problems)
  );
}

/** Collects problems; `throwIfAny` raises them all at once. */
export class Problems {
  readonly list: Problem[] = [];

  constructor(readonly file?: string) {}

  add(path: string, message: string, fix?: string): void {
    this.list.push({ file: this.file, path, message, fix });
  }

  get size(): number {
    return this.list.length;
  }

  throwIfAny(title?: string): void {
    if (this.list.length > 0) throw new ConfigError(this.list, title);
  }
}

/** Joins a field path: `join("sites", 1, "zones")` is `sites[1].zones`. */
export function fieldPath(...parts: (string | number)[]): string {
  let out = "";
  for (const p of parts) {
    if (typeof p === "number") out += `[${p}]`;
    else if (p === "") continue;
    else out += out ? `.${p}` : p;
  }
  return out;
}
