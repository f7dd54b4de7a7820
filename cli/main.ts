#!/usr/bin/env node
/** `drstack`: the command-line entry point. */
import { isConfigError } from "../components/topology/errors";
import {
  type Command,
  EXIT,
  type Io,
  parseCommandArgs,
  reportConfigError,
  UsageError,
} from "./command";
import { planCommand } from "./commands/plan";
import { policyCommand } from "./commands/policy";
import { failoverCommand } from "./commands/failover";
import { failbackCommand } from "./commands/failback";
import { runbookCommand } from "./commands/runbook";
import { drillCommand } from "./commands/drill";
import { analyzeCommand } from "./commands/analyze";
import { keysCommand } from "./commands/keys";

/** Every command; each lives in cli/commands/<name>.ts. */
export const COMMANDS: readonly Command[] = [
  planCommand,
  policyCommand,
  analyzeCommand,
  drillCommand,
  failoverCommand,
  failbackCommand,
  runbookCommand,
  keysCommand,
];

const consoleIo: Io = {
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
};

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "drstack: declare, check, fail over and drill a multi-region DR stack",
    "",
    "Usage: drstack <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --help and --project DIR (default: the current directory).",
    "Exit codes: 0 success, 1 a check failed, 2 bad input or config, 3 internal error.",
  ].join("\n");
}

export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(globalHelp());
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(`error: unknown command ${JSON.stringify(name)}\n\n${globalHelp()}`);
    return EXIT.badInput;
  }
  let json = rest.includes("--json");
  try {
    const { values, positionals } = parseCommandArgs(cmd, rest);
    if (values.help) {
      io.out(cmd.help);
      return EXIT.ok;
    }
    json = values.json === true;
    return await cmd.run({
      values,
      positionals,
      io,
      projectDir: String(values.project ?? process.cwd()),
    });
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\nRun 'drstack ${cmd.name} --help' for usage.`);
      return EXIT.badInput;
    }
    if (isConfigError(e)) {
      reportConfigError(e, io, json);
      return EXIT.badInput;
    }
    const err = e as Error;
    io.err(`error: ${err.name === "EngineError" ? "" : "internal error: "}${err.message}`);
    if (process.env.DRSTACK_DEBUG) io.err(String(err.stack));
    return EXIT.internal;
  }
}

if (require.main === module) {
  // A closed pipe (`drstack plan --all | head`) is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`error: internal error: ${(e as Error).message}\n`);
      process.exitCode = EXIT.internal;
    },
  );
}
