/**
 * The offline policy runner: evaluates the very same rule objects the pack registers over the
 * planner's records, the way the Pulumi analyzer would: resource rules once per resource (with
 * its inputs), stack rules once per stack (with every resource's outputs), and network-scoped
 * stack rules once over the union of all planned stacks.
 */
import type {
  EnforcementLevel,
  PolicyProviderResource,
  PolicyResource,
  Severity,
} from "@pulumi/policy";
import type { ResourceRecord } from "../../planner/monitor";
import { NotApplicable, policyResources, resourceArgs, type ResourceSpec, stackArgs } from "./args";
import type { RuleSettings } from "./config";
import { resolveSettings } from "./config";
import { isTopologyConfigMap } from "./k8s";
import type { DrRule } from "./rule";

/** What the runner needs of a plan (a `StackPlan` fits). */
export interface PlannedStack {
  readonly stack: string;
  readonly resources: readonly ResourceRecord[];
}

/** The pseudo stack name network-scoped rules report under. */
export const NETWORK_SCOPE = "(all stacks)";

export interface Violation {
  readonly rule: string;
  readonly area: string;
  readonly severity: Severity;
  /** Effective level: advisory or mandatory (remediate counts as mandatory, as in the engine). */
  readonly enforcementLevel: "advisory" | "mandatory";
  /** Stack the violation is in, or {@link NETWORK_SCOPE}. */
  readonly stack: string;
  readonly urn?: string;
  readonly resourceType?: string;
  readonly resourceName?: string;
  readonly message: string;
}

export interface PolicyReport {
  readonly stacks: readonly string[];
  readonly rules: readonly {
    name: string;
    area: string;
    kind: string;
    scope: string;
    enforcementLevel: EnforcementLevel;
  }[];
  readonly violations: readonly Violation[];
  /** Rule name to reasons it was not applicable. */
  readonly notApplicable: Readonly<Record<string, readonly string[]>>;
  readonly resourcesChecked: number;
  /** Rule invocations (resource rule x resource + stack rule x stack). */
  readonly evaluations: number;
  /** Time spent in each rule, in milliseconds. */
  readonly ruleMs: Readonly<Record<string, number>>;
  readonly durationMs: number;
}

export function mandatoryCount(report: PolicyReport): number {
  return report.violations.filter((v) => v.enforcementLevel === "mandatory").length;
}

function providerOf(
  rec: ResourceRecord,
  byUrn: ReadonlyMap<string, ResourceRecord>,
): PolicyProviderResource | undefined {
  if (!rec.provider) return undefined;
  const urn = rec.provider.includes("::")
    ? rec.provider.slice(0, rec.provider.lastIndexOf("::"))
    : rec.provider;
  const p = byUrn.get(urn);
  return p ? { type: p.type, props: p.inputs, urn: p.urn, name: p.name } : undefined;
}

function spec(
  rec: ResourceRecord,
  props: Record<string, unknown>,
  byUrn: ReadonlyMap<string, ResourceRecord>,
): ResourceSpec {
  const provider = providerOf(rec, byUrn);
  return {
    type: rec.type,
    name: rec.name,
    urn: rec.urn,
    props,
    ...(rec.parent ? { parent: rec.parent } : {}),
    ...(provider ? { provider } : {}),
    dependencies: rec.dependencies,
    opts: {
      protect: rec.protect,
      ignoreChanges: [...rec.ignoreChanges],
      deleteBeforeReplace: rec.deleteBeforeReplace,
      aliases: [...rec.aliases],
      additionalSecretOutputs: [...rec.additionalSecretOutputs],
    },
    secretInputs: rec.secretInputs,
  };
}

/** Props a stack rule sees: the resource's state (outputs), as after a preview. */
function stateOf(rec: ResourceRecord): Record<string, unknown> {
  return rec.outputs && Object.keys(rec.outputs).length > 0 ? rec.outputs : rec.inputs;
}

/** The stack named in an engine URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOfUrn(urn: string): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  return m?.[1];
}

function levelOf(settings: RuleSettings | undefined, rule: DrRule): EnforcementLevel {
  return settings?.enforcementLevel ?? rule.enforcementLevel;
}

export interface RunOptions {
  /** Effective settings by rule name (default: every rule's defaults). */
  readonly settings?: ReadonlyMap<string, RuleSettings>;
}

/** Runs `rules` over the planned stacks. Never throws for a rule's failure: it is a violation. */
export async function runPolicies(
  stacks: readonly PlannedStack[],
  rules: readonly DrRule[],
  opts: RunOptions = {},
): Promise<PolicyReport> {
  const started = performance.now();
  const settings = opts.settings ?? resolveSettings(rules);
  const violations: Violation[] = [];
  const notApplicable: Record<string, string[]> = {};
  let evaluations = 0;
  const timings: Record<string, number> = {};
  let resourcesChecked = 0;
  const active = rules.filter((r) => levelOf(settings.get(r.name), r) !== "disabled");
  const reportLevel = (r: DrRule): "advisory" | "mandatory" =>
    levelOf(settings.get(r.name), r) === "advisory" ? "advisory" : "mandatory";

  const invoke = async (
    rule: DrRule,
    fn: () => unknown,
    report: (message: string, urn?: string) => void,
  ): Promise<void> => {
    evaluations++;
    const t = performance.now();
    try {
      const r = fn();
      if (r && typeof (r as Promise<unknown>).then === "function") await r;
    } catch (e) {
      if (e instanceof NotApplicable)
        (notApplicable[rule.name] ??= []).push(e.reason ?? "not applicable");
      else report(`rule error: ${(e as Error).message}`);
    }
    timings[rule.name] = (timings[rule.name] ?? 0) + performance.now() - t;
  };

  const built = new Map<readonly ResourceRecord[], PolicyResource[]>();
  const stackRule = async (
    rule: DrRule & { kind: "stack" },
    stack: string,
    records: readonly ResourceRecord[],
    byUrn: ReadonlyMap<string, ResourceRecord>,
  ) => {
    // Built once per stack and shared by its stack rules (the analyzer builds them per rule).
    let resources = built.get(records);
    if (!resources) {
      resources = policyResources(records.map((rec) => spec(rec, stateOf(rec), byUrn)));
      built.set(records, resources);
    }
    const args = stackArgs(resources, settings.get(rule.name)?.config ?? {});
    const report = (message: string, urn?: string) => {
      const rec = urn ? byUrn.get(urn) : undefined;
      // Network-wide facts (the topology) belong to no one stack; a workload belongs to its own.
      const where =
        stack === NETWORK_SCOPE && rec && !isTopologyConfigMap(rec.type, stateOf(rec))
          ? (stackOfUrn(rec.urn) ?? stack)
          : stack;
      violations.push({
        rule: rule.name,
        area: rule.area,
        severity: rule.severity,
        enforcementLevel: reportLevel(rule),
        stack: where,
        ...(urn ? { urn } : {}),
        ...(rec ? { resourceType: rec.type, resourceName: rec.name } : {}),
        message,
      });
    };
    await invoke(rule, () => rule.validateStack(args, report), report);
  };

  const allRecords: ResourceRecord[] = [];
  const allByUrn = new Map<string, ResourceRecord>();
  for (const plan of stacks) {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    for (const r of plan.resources) allByUrn.set(r.urn, r);
    allRecords.push(...plan.resources);
    resourcesChecked += plan.resources.length;
    // One argument bag per resource, shared by the resource rules (each gets its own getConfig).
    const argsList = plan.resources.map((rec) => resourceArgs(spec(rec, rec.inputs, byUrn)));
    for (const rule of active) {
      if (rule.kind === "resource") {
        const validations = Array.isArray(rule.validateResource)
          ? rule.validateResource
          : rule.validateResource
            ? [rule.validateResource]
            : [];
        const config = settings.get(rule.name)?.config ?? {};
        const getConfig = <T extends object>() => ({ ...config }) as T;
        for (const [i, rec] of plan.resources.entries()) {
          const args = argsList[i];
          args.getConfig = getConfig;
          const report = (message: string) => {
            violations.push({
              rule: rule.name,
              area: rule.area,
              severity: rule.severity,
              enforcementLevel: reportLevel(rule),
              stack: plan.stack,
              urn: rec.urn,
              resourceType: rec.type,
              resourceName: rec.name,
              message,
            });
          };
          for (const v of validations) await invoke(rule, () => v(args, report), report);
        }
      } else if ((rule.scope ?? "stack") === "stack") {
        await stackRule(rule, plan.stack, plan.resources, byUrn);
      }
    }
  }
  for (const rule of active) {
    if (rule.kind === "stack" && rule.scope === "network" && stacks.length > 0) {
      await stackRule(
        rule,
        stacks.length === 1 ? stacks[0].stack : NETWORK_SCOPE,
        allRecords,
        allByUrn,
      );
    }
  }
  return {
    stacks: stacks.map((s) => s.stack),
    rules: rules.map((r) => ({
      name: r.name,
      area: r.area,
      kind: r.kind,
      scope: r.kind === "stack" ? (r.scope ?? "stack") : "resource",
      enforcementLevel: levelOf(settings.get(r.name), r),
    })),
    violations,
    notApplicable,
    resourcesChecked,
    evaluations,
    ruleMs: timings,
    durationMs: performance.now() - started,
  };
}
