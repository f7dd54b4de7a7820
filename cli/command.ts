/**
 * CLI conventions shared by every `drstack` command: `--help`, `--json` where output is data,
 * exit 0 on success, 1 when a check failed, 2 for bad input or config (one clear list of errors,
 * no stack trace), 3 for an internal error.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../components/topology/errors";
import { suggest } from "../components/topology/shape";

export const EXIT = { ok: 0, checkFailed: 1, badInput: 2, internal: 3 } as const;

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether a person is there to answer (stdin and stderr are terminals). Default false. */
  readonly interactive?: boolean;
  /** Asks `question` on the terminal and resolves with the line typed. */
  ask?(question: string): Promise<string>;
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
    const message = (e as Error).message.replace(/\. To specify a positional.*$/s, "");
    const unknown = /^Unknown option '(--?[^']+)'/.exec(message);
    if (unknown) {
      const flags = Object.keys({ ...COMMON_OPTIONS, ...cmd.options }).map((k) => `--${k}`);
      const guess = suggest(unknown[1].replace(/=.*$/, ""), flags);
      throw new UsageError(`${message}${guess ? ` (did you mean ${guess}?)` : ""}`);
    }
    throw new UsageError(message);
  }
}

/** " (did you mean X?)" for a near miss among `names`, else "". */
export function didYouMean(word: string, names: readonly string[]): string {
  const s = suggest(word, names);
  return s ? ` (did you mean ${s}?)` : "";
}

/** The option every command that changes live systems takes. */
export const YES_OPTION: Options = { yes: { type: "boolean", short: "y" } };

/**
 * Confirmation before a live operation (failover, failback, restore), as `pulumi up` and
 * `patronictl failover` ask: `--yes` skips it (automation); without a terminal and without
 * `--yes` it is refused (a UsageError, exit 2) before anything is contacted; at a terminal the
 * operator types `expected` (the site name) to proceed. Resolves false when they do not.
 */
export async function confirmLive(
  values: Values,
  io: Io,
  action: string,
  expected: string,
): Promise<boolean> {
  if (values.yes === true) return true;
  if (!io.interactive || !io.ask)
    throw new UsageError(
      `${action} changes live systems and needs a confirmation; there is no terminal to ask on: ` +
        "pass --yes to confirm (automation), or --dry-run to see every step first",
    );
  const answer = await io.ask(
    `${action} changes live systems (see --dry-run for every step).\nType the site name ${JSON.stringify(expected)} to proceed: `,
  );
  if (answer.trim() === expected) return true;
  io.err("aborted: nothing was changed");
  return false;
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
    const guess = typeof v === "string" ? suggest(v, allowed) : undefined;
    throw new UsageError(
      `--${key} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}${guess ? ` (did you mean ${guess}?)` : ""}`,
    );
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
