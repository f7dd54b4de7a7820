/**
 * Every command the runbooks print is checked against what consumes it: `drstack` commands run
 * (with --dry-run where they change things) and exit 0; each `pulumi config set` is applied to a
 * copy of the stack file as the Pulumi CLI writes it (with and without --path) and the stack must
 * still validate; `pulumi up -s X` names a stack; kubectl, patronictl, pgbackrest, pg_ctl and
 * redis-cli flags and subcommands exist in those tools' `--help` (the Debian packages installed by
 * scripts/install-debian-deps.sh; kubectl when on PATH).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parseDocument } from "yaml";
import { restoreSteps } from "../cli/commands/restore";
import { runbookSites } from "../cli/commands/runbook";
import { loadStackConfig } from "../components/program";
import { parseNetwork } from "../components/topology/load";
import { SCENARIOS as DRILL_SCENARIOS } from "../drill/stats";
import { flipRoles } from "../failover/flip";
import { buildRunbooks } from "../failover/runbook";
import { readProject, readStackConfig } from "../planner/project";
import { projectRoot, runCli, shippedNetworkText } from "./support/project";

/** Example values for the placeholders the runbooks leave to the operator. */
const PLACEHOLDERS: Record<string, string> = {
  "<stack>": "primary",
  "<zone>": "us-east-1a",
  "<id>": "123",
  "<statement>": "drop table",
  "<YYYY-MM-DD HH:MM:SS+00>": "2026-01-01 00:00:00+00",
};
const ARMORED_KEY =
  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZQ==\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";

/** Splits a shell command line into words (single/double quotes, no expansion). */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g))
    out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Each command, with whether it was printed for the topology after a failover to dr. */
function allCommands(): { cmd: string; afterFailover: boolean }[] {
  const shipped = parseNetwork(shippedNetworkText());
  const flipped = flipRoles(shippedNetworkText(), "dr").network;
  const out = new Map<string, boolean>();
  for (const [network, afterFailover] of [
    [shipped, false],
    [flipped, true],
  ] as const)
    for (const b of [
      ...buildRunbooks(network, runbookSites(projectRoot(), network)),
      // What `drstack restore` runs (its --dry-run prints these), latest and point in time.
      {
        steps: [undefined, "2026-01-01 00:00:00+00"].map((to) => ({
          commands: restoreSteps(
            "postgres",
            runbookSites(projectRoot(), network).get(
              network.sites.find((s) => s.role === "primary")!.name,
            )!,
            to,
          ).map((s) => s.command),
        })),
      },
    ])
      for (const s of b.steps)
        for (const c of s.commands) {
          let cmd = c.replace(/\s+#.*$/, "");
          for (const [k, v] of Object.entries(PLACEHOLDERS)) cmd = cmd.split(k).join(v);
          if (!out.has(cmd)) out.set(cmd, afterFailover);
        }
  return [...out].map(([cmd, afterFailover]) => ({ cmd, afterFailover }));
}

function projectCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-runbook-"));
  fs.copyFileSync(path.join(projectRoot(), "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.cpSync(path.join(projectRoot(), "stacks"), path.join(dir, "stacks"), { recursive: true });
  return dir;
}

/**
 * `pulumi config set [--path] [--secret] [-s STACK] KEY [VALUE | < FILE]` as the CLI writes it:
 * without --path the whole KEY (dots included) is one key; with --path the first segment
 * (`ns:name`) is the key and the rest a path inside its value.
 */
export function applyConfigSet(words: readonly string[], dir: string, stdin?: string): string {
  const args = words.slice(3);
  let usePath = false;
  let secret = false;
  let stack = "";
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--path") usePath = true;
    else if (a === "--secret") secret = true;
    else if (a === "-s" || a === "--stack") stack = args[++i];
    else if (a === "<") {
      // The value from a file on stdin (the runbook's new key): an example armored key.
      expect(args[++i], "a file after <").to.be.a("string");
      stdin = ARMORED_KEY;
    } else if (a.startsWith("-")) throw new Error(`unknown pulumi config set flag ${a}`);
    else rest.push(a);
  }
  const [key, value = stdin] = rest;
  expect(stack, "pulumi config set names its stack (-s)").to.be.a("string").and.not.equal("");
  expect(value, `${key}: a value`).to.be.a("string");
  const file = path.join(dir, "stacks", `Pulumi.${stack}.yaml`);
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  const leaf = secret ? { secure: "v1:offline" } : value;
  if (usePath) {
    const [top, ...sub] = key.split(".");
    doc.setIn(["config", top, ...sub], leaf);
  } else doc.setIn(["config", key], leaf);
  fs.writeFileSync(file, doc.toString());
  return stack;
}

function validateStack(dir: string, stack: string): void {
  const project = readProject(dir);
  const sc = readStackConfig(project, stack);
  loadStackConfig(sc.config, dir, sc.file);
}

/** Every `--flag` (before any `=`) and `-x` short flag in `words`. */
function flagsOf(words: readonly string[]): string[] {
  return words.filter((w) => /^--?[a-zA-Z]/.test(w)).map((w) => w.replace(/=.*$/, ""));
}

function help(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`;
}

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

function checkPatronictl(words: readonly string[]): void {
  // patronictl -c FILE <sub> ARGS... [--flags]
  expect(help("patronictl", ["--help"])).to.match(/-c, --config-file/);
  const sub = words[3];
  const h = help("patronictl", [sub, "--help"]);
  expect(h, `patronictl ${sub}`).to.match(new RegExp(`Usage: patronictl ${sub}`));
  for (const f of flagsOf(words.slice(4))) expect(h, `patronictl ${sub} ${f}`).to.include(f);
}

function checkPgbackrest(words: readonly string[]): void {
  const cmd = words.find((w, i) => i > 0 && !w.startsWith("-"))!;
  expect(help("pgbackrest", ["help"]), `pgbackrest ${cmd}`).to.match(
    new RegExp(`\\n\\s+${cmd}\\s`),
  );
  for (const f of flagsOf(words.slice(1))) {
    const h = help("pgbackrest", ["help", cmd, f.replace(/^--/, "")]);
    expect(h, `pgbackrest ${cmd} ${f}`).not.to.match(/ERROR/);
  }
}

function checkKubectl(words: readonly string[]): void {
  const dashdash = words.indexOf("--");
  const own = dashdash < 0 ? words : words.slice(0, dashdash);
  // The command path: the words before the first flag's position that are not flag values
  // (`create secret generic NAME`): each prefix's help lists the flags of that level.
  const path: string[] = [];
  for (let i = 1; i < own.length; i++) {
    const w = own[i];
    if (w.startsWith("-") || /^-[a-z]$|^--(namespace|context|container|output)$/.test(own[i - 1]))
      continue;
    if (!/^[a-z][a-z-]*$/.test(w)) break;
    path.push(w);
  }
  const verb = path[0];
  const known = [
    help("kubectl", ["options"]),
    ...path.map((_, i) => help("kubectl", [...path.slice(0, i + 1), "--help"])),
  ].join("\n");
  for (const f of flagsOf(own.slice(1))) {
    const re = f.startsWith("--") ? new RegExp(`${f}[=\\[ ]`) : new RegExp(`\\s${f}, --`);
    expect(known, `kubectl ${verb} ${f}`).to.match(re);
  }
  if (dashdash < 0) return;
  const inner = words.slice(dashdash + 1);
  if (inner[0] === "patronictl") checkPatronictl(inner);
  else if (inner[0] === "pgbackrest") checkPgbackrest(inner);
  else if (inner[0] === "pg_ctl") {
    const pgCtl = fs.existsSync("/usr/lib/postgresql/15/bin/pg_ctl")
      ? "/usr/lib/postgresql/15/bin/pg_ctl"
      : "pg_ctl";
    const h = help(pgCtl, ["--help"]);
    expect(h).to.match(new RegExp(`pg_ctl ${inner[1]}`));
    for (const f of flagsOf(inner.slice(2)))
      expect(h, `pg_ctl ${f}`).to.match(new RegExp(`\\s${f}[, ]`));
  } else if (inner[0] === "redis-cli") {
    const h = help("redis-cli", ["--help"]);
    for (const f of flagsOf(inner.slice(1)))
      expect(h, `redis-cli ${f}`).to.match(new RegExp(`\\s${f}\\s`));
  } else throw new Error(`no check for ${inner[0]}`);
}

describe("every runbook command passes its consumer", function () {
  this.timeout(600_000);
  const printed = allCommands();
  const commands = printed.map((p) => p.cmd);

  it("extracts the commands of every scenario", () => {
    expect(commands.length).to.be.greaterThan(20);
    const tools = new Set(commands.map((c) => shellWords(c)[0]));
    expect([...tools].sort()).to.include.members(["drstack", "kubectl", "pulumi"]);
    for (const c of commands)
      expect(["drstack", "kubectl", "pulumi", "git", "rclone", "cometbft", "shred"], c).to.include(
        shellWords(c)[0],
      );
  });

  it("drstack commands exit 0 (dry runs where they change things)", () => {
    const dir = projectCopy();
    const flippedDir = projectCopy();
    fs.writeFileSync(
      path.join(flippedDir, "stacks", "network.yaml"),
      flipRoles(shippedNetworkText(), "dr").text,
    );
    const checked = new Set<string>();
    for (const { cmd: c, afterFailover } of printed.filter((p) => p.cmd.startsWith("drstack "))) {
      const words = shellWords(c).slice(1);
      if (words[0] === "drill") {
        // The drill runs real servers (its own tests cover it): the scenario must exist.
        const scenario = words[words.indexOf("--scenario") + 1];
        expect(DRILL_SCENARIOS as readonly string[], c).to.include(scenario);
        continue;
      }
      if (words[0] === "keys") {
        // Custodians run these with their own shares and files (test/keys-custody.test.ts runs
        // them for real): the subcommand and every flag must be ones `drstack keys` takes.
        const h = runCli(["keys", "--help"]).stdout;
        expect(h, c).to.match(new RegExp(`drstack keys ${words[1]}\\s`));
        for (const f of flagsOf(words.slice(2))) expect(h, `${c}: ${f}`).to.include(f);
        continue;
      }
      const live =
        ["failover", "failback", "restore"].includes(words[0]) && !words.includes("--dry-run");
      const args = live ? [...words, "--dry-run"] : words;
      const key = `${args.join(" ")}${afterFailover ? " (after failover)" : ""}`;
      if (checked.has(key)) continue;
      checked.add(key);
      // Checked on the topology the runbook was printed for.
      const r = runCli([...args, "--project", afterFailover ? flippedDir : dir]);
      expect(r.code, `${key}: ${r.stderr}`).to.equal(0);
    }
    expect(checked.size).to.be.greaterThan(4);
  });

  it("each pulumi config set, applied as the CLI writes it, leaves a valid stack; pulumi up names a stack", () => {
    // Today's runbooks rotate keys through the sealed custodial backup (no config change); any
    // `pulumi config set` a runbook prints again is checked here.
    const sets = commands.filter((c) => c.startsWith("pulumi config set"));
    for (const c of sets) {
      const dir = projectCopy();
      const stack = applyConfigSet(shellWords(c), dir);
      try {
        validateStack(dir, stack);
      } catch (e) {
        expect.fail(`${c}: ${(e as Error).message}`);
      }
      // The check has teeth: the same command without --path writes a flat key, refused.
      if (c.includes("--path")) {
        const flat = projectCopy();
        applyConfigSet(
          shellWords(c).filter((w) => w !== "--path"),
          flat,
        );
        expect(() => validateStack(flat, stack), `${c} without --path`).to.throw(/--path/);
      }
    }
    for (const c of commands.filter((c) => c.startsWith("pulumi up"))) {
      const w = shellWords(c);
      const stack = w[w.indexOf("-s") + 1];
      expect(fs.existsSync(path.join(projectRoot(), "stacks", `Pulumi.${stack}.yaml`)), c).to.equal(
        true,
      );
    }
  });

  it("rclone and shred commands use subcommands and flags those tools have; cometbft's exist in v0.38", () => {
    const rclone = commands.filter((c) => c.startsWith("rclone "));
    expect(rclone.length).to.be.greaterThan(0);
    expect(onPath("rclone"), "rclone (scripts/install-debian-deps.sh)").to.equal(true);
    for (const c of rclone) {
      const w = shellWords(c);
      // Filter and transfer flags are rclone's global flags (`rclone help flags`).
      const h = `${help("rclone", [w[1], "--help"])}\n${help("rclone", ["help", "flags"])}`;
      expect(h, c).to.match(new RegExp(`rclone ${w[1]} `));
      for (const f of flagsOf(w.slice(2)))
        expect(h, `${c}: ${f}`).to.match(new RegExp(`\\s${f}[ =]`));
    }
    for (const c of commands.filter((c) => c.startsWith("shred "))) {
      const h = help("shred", ["--help"]);
      for (const f of flagsOf(shellWords(c).slice(1)))
        expect(h, `${c}: ${f}`).to.match(new RegExp(`\\s${f}[, ]`));
    }
    // No CometBFT binary here: its v0.38 commands, from cmd/cometbft/commands/*.go of its source.
    const cometbft = [
      "gen-validator",
      "gen-node-key",
      "show-validator",
      "show-node-id",
      "init",
      "start",
    ];
    for (const c of commands.filter((c) => c.startsWith("cometbft ")))
      expect(cometbft, c).to.include(shellWords(c)[1]);
  });

  it("kubectl, patronictl, pgbackrest, pg_ctl and redis-cli flags exist in those tools", function () {
    for (const tool of ["patronictl", "pgbackrest", "redis-cli"])
      expect(onPath(tool), `${tool} (scripts/install-debian-deps.sh)`).to.equal(true);
    if (!onPath("kubectl")) this.skip();
    const kube = commands.filter((c) => c.startsWith("kubectl "));
    expect(kube.length).to.be.greaterThan(5);
    for (const c of kube) checkKubectl(shellWords(c.replace(/\s+\|.*$/, "")));
  });
});
