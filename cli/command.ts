/**
 * CLI conventions shared by every `drstack` command: `--help`, `--json` where output is data,
 * exit 0 on success, 1 when a check failed, 2 for bad input or config (one clear list of errors,
 * no stack trace), 3 for an internal error.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../components/topology/errors";

export const EXIT = { ok: 0, checkFailed: 1, badInput: 2, internal: 3 } as const;

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface CommandContext {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly io: Io;
  /** Project directory (`--project`, default the current directory). */
  readonly projectDir: string;
}

export interface Command {
  readonly name: string;
  /** One line for `drstack --help`. */
  readonly summary: string;
  /** Full help: usage line, options, examples, exit codes. */
  readonly help: string;
  readonly options: Options;
  /** Whether positional arguments are accepted. Default false. */
  readonly positionals?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/** Bad command-line usage: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  project: { type: "string" },
};

export function parseCommandArgs(
  cmd: Command,
  argv: readonly string[],
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...COMMON_OPTIONS, ...cmd.options },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0 && !cmd.positionals && !values.help) {
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    }
    return { values: values as Values, positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
}

/** A string option that must be one of `allowed`. */
export function oneOf<T extends string>(
  values: Values,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = values[key];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** A positive integer option. */
export function positiveInt(values: Values, key: string, fallback: number): number {
  const v = values[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || n < 1)
    throw new UsageError(`--${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Every value of a repeatable string option. */
export function many(values: Values, key: string): string[] {
  const v = values[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Prints a ConfigError as one list of problems. */
export function reportConfigError(e: ConfigError, io: Io, json: boolean): void {
  if (json)
    io.out(JSON.stringify({ error: e.message.split("\n")[0], problems: e.problems }, null, 2));
  else io.err(`error: ${e.message}`);
}

/** JSON with bigints as strings, two-space indent, stable key order as built. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}
