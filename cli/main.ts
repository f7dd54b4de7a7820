#!/usr/bin/env node
/** `drstack`: the command-line entry point. */
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { isConfigError } from "../components/topology/errors";
import {
  type Command,
  didYouMean,
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
import { restoreCommand } from "./commands/restore";

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
  restoreCommand,
];

const consoleIo: Io = {
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
  interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
  ask: (question) =>
    new Promise((resolve) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      rl.question(question, (answer) => {
        rl.close();
        resolve(answer);
      });
    }),
};

/** drstack's version: the `version` of the package.json above this module. */
export function drstackVersion(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "drstack" && pkg.version) return pkg.version;
  }
  return "unknown";
}

function unknownCommand(name: string): string {
  return `error: unknown command ${JSON.stringify(name)}${didYouMean(
    name,
    COMMANDS.map((c) => c.name),
  )}\n\n${globalHelp()}`;
}

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
    "drstack help <command> prints a command's help; drstack --version its version.",
    "Live failover, failback and restore ask for confirmation; --yes skips it (required without a terminal).",
    "Exit codes: 0 success, 1 a check failed, 2 bad input or config, 3 internal error.",
  ].join("\n");
}

export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    io.out(`drstack ${drstackVersion()}`);
    return EXIT.ok;
  }
  if (name === "help" && rest.length > 0) {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    if (!topic) {
      io.err(unknownCommand(rest[0]));
      return EXIT.badInput;
    }
    io.out(topic.help);
    return EXIT.ok;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(globalHelp());
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(unknownCommand(name));
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
