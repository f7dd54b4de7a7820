/** Helpers for tests: the project root, running the CLI as a user would, planning variants. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planAll, planStack, type StackPlan } from "../../planner/plan";
import type { ResourceRecord } from "../../planner/monitor";

/** The directory holding Pulumi.yaml (tests run from compiled JS in any outDir). */
export function projectRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** The compiled tree this test runs from (dist/ or another outDir). */
export function distRoot(): string {
  return path.resolve(__dirname, "..", "..");
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `drstack <args>` from the compiled tree, in `cwd` (default: the project root). */
export function runCli(args: readonly string[], cwd = projectRoot()): CliResult {
  const r = spawnSync(process.execPath, [path.join(distRoot(), "cli", "main.js"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 600_000,
    // `plan --json` of several stacks is megabytes (every resource's inputs and outputs).
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Writes `text` to a fresh temporary file and returns its path. */
export function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-test-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

export function shippedNetworkText(): string {
  return fs.readFileSync(path.join(projectRoot(), "stacks", "network.yaml"), "utf8");
}

/** Plans the shipped stacks (cached per process: the program is deterministic). */
let shipped: Promise<StackPlan[]> | undefined;
export function planShipped(): Promise<StackPlan[]> {
  shipped ??= planAll({ projectDir: projectRoot() });
  return shipped;
}

/** Plans one stack of the project with extra config (`drstack:key` to string). */
export function planWithConfig(
  stack: string,
  configOverrides: Record<string, string>,
): Promise<StackPlan> {
  return planStack(stack, { projectDir: projectRoot(), configOverrides });
}

/** Plans every site of another topology (YAML text). */
export function planNetwork(yamlText: string): Promise<StackPlan[]> {
  return planAll({ projectDir: projectRoot(), networkFile: tempFile("network.yaml", yamlText) });
}

export function byType(plan: StackPlan, type: string): ResourceRecord[] {
  return plan.resources.filter((r) => r.type === type);
}

export function one(plan: StackPlan, type: string, name: string): ResourceRecord {
  const r = plan.resources.find((x) => x.type === type && x.name === name);
  if (!r)
    throw new Error(
      `no ${type} named ${name} in stack ${plan.stack}; have: ${plan.resources.map((x) => `${x.type}/${x.name}`).join(", ")}`,
    );
  return r;
}
