/**
 * `--dry-run` of a stack swap, fully offline: the topology diff (the pull request's change), the
 * resource diff of every stack (offline plans of the current and of the flipped topology, by
 * URN) and the steps that would run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planAll, type StackPlan } from "../planner/plan";
import { resourceDiff, type StackResourceDiff, swapHazards, unifiedDiff } from "./diff";
import type { RoleEdit } from "./flip";
import type { PlannedStep } from "./steps";

export interface DryRun {
  readonly operation: "failover" | "failback";
  readonly from: string;
  readonly to: string;
  /** The topology file, relative to the project. */
  readonly networkFile: string;
  readonly configEdits: readonly RoleEdit[];
  /** Unified diff of the topology file (empty when it does not change). */
  readonly networkDiff: string;
  /** What the resource diff compares (one sentence). */
  readonly resourceDiffBasis: string;
  readonly resourceDiff: readonly StackResourceDiff[];
  /** Resource changes that need attention before applying (see `swapHazards`). */
  readonly hazards: readonly string[];
  readonly steps: readonly PlannedStep[];
}

/** Plans the project offline with topology text `before` and `after`, and diffs each stack. */
export async function planDiff(
  projectDir: string,
  before: string,
  after: string,
): Promise<StackResourceDiff[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-swap-"));
  try {
    const a = path.join(dir, "before", "network.yaml");
    const b = path.join(dir, "after", "network.yaml");
    fs.mkdirSync(path.dirname(a));
    fs.mkdirSync(path.dirname(b));
    fs.writeFileSync(a, before);
    fs.writeFileSync(b, after);
    const plansA = await planAll({ projectDir, networkFile: a });
    const plansB = await planAll({ projectDir, networkFile: b });
    const byStack = new Map<string, StackPlan>(plansA.map((p) => [p.stack, p]));
    return plansB.map((p) =>
      resourceDiff(p.stack, byStack.get(p.stack)?.resources ?? [], p.resources),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function dryRun(args: {
  readonly operation: DryRun["operation"];
  readonly projectDir: string;
  readonly networkFile: string;
  readonly from: string;
  readonly to: string;
  readonly before: string;
  readonly after: string;
  readonly planBefore?: string;
  readonly resourceDiffBasis: string;
  readonly configEdits: readonly RoleEdit[];
  readonly steps: readonly PlannedStep[];
}): Promise<DryRun> {
  const diffs = await planDiff(args.projectDir, args.planBefore ?? args.before, args.after);
  return {
    operation: args.operation,
    from: args.from,
    to: args.to,
    networkFile: args.networkFile,
    configEdits: args.configEdits,
    networkDiff: unifiedDiff(args.before, args.after, args.networkFile),
    resourceDiffBasis: args.resourceDiffBasis,
    resourceDiff: diffs,
    hazards: swapHazards(diffs),
    steps: args.steps,
  };
}
