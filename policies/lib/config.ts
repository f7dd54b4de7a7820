/**
 * Per-rule configuration, as Pulumi's policy config JSON has it
 * (`pulumi preview --policy-pack policies --policy-pack-config FILE`):
 *
 * ```json
 * { "all": "mandatory", "region-voting-power": { "maxFraction": "1/4" }, "restricted-pods": "advisory" }
 * ```
 *
 * A value is an enforcement level, or an object with an optional `enforcementLevel` and the rule's
 * settings. Settings start from each rule's `configSchema` defaults; unknown rules or settings and
 * values that do not fit the schema are problems (bad input).
 */
import type { EnforcementLevel } from "@pulumi/policy";
import { ENFORCEMENT_LEVELS } from "./registry";
import type { DrRule } from "./rule";
import { suggest } from "../../components/topology/shape";

export interface RuleSettings {
  readonly enforcementLevel: EnforcementLevel;
  readonly config: Readonly<Record<string, unknown>>;
}

export type PackConfigFile = Record<string, unknown>;

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  items?: JsonSchema;
  default?: unknown;
}

/** The schema defaults of a rule's settings. */
export function configDefaults(rule: Pick<DrRule, "configSchema">): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rule.configSchema.properties ?? {})) {
    const d = (v as JsonSchema).default;
    if (d !== undefined) out[k] = structuredClone(d);
  }
  return out;
}

/**
 * The config a rule sees: schema defaults overlaid with what `args.getConfig()` returned (the
 * Pulumi CLI applies defaults too; this keeps rules correct when it does not).
 */
export function ruleConfig<T extends object>(
  rule: Pick<DrRule, "configSchema">,
  given: object | undefined,
): T {
  let defaults = frozenDefaults.get(rule.configSchema);
  if (!defaults) {
    defaults = deepFreeze(configDefaults(rule));
    frozenDefaults.set(rule.configSchema, defaults);
  }
  return { ...defaults, ...(given ?? {}) } as T;
}

// Rules call ruleConfig on every evaluation: compute each schema's defaults once (frozen, so a
// rule cannot change them for the next resource).
const frozenDefaults = new WeakMap<object, Readonly<Record<string, unknown>>>();

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function typeOk(v: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "null":
      return v === null;
    default:
      return true;
  }
}

/** Problems with `value` against the subset of JSON Schema rules use (type, enum, range, pattern, items). */
export function schemaProblems(value: unknown, schema: JsonSchema, at: string): string[] {
  const types =
    schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((t) => typeOk(value, t)))
    return [`${at}: must be ${types.join(" or ")}, got ${JSON.stringify(value)}`];
  const out: string[] = [];
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    out.push(
      `${at}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(value)}`,
    );
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum)
    out.push(`${at}: must be at least ${schema.minimum}, got ${value}`);
  if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum)
    out.push(`${at}: must be at most ${schema.maximum}, got ${value}`);
  if (
    typeof value === "string" &&
    schema.pattern !== undefined &&
    !new RegExp(schema.pattern).test(value)
  )
    out.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  if (Array.isArray(value) && schema.items)
    value.forEach((x, i) => out.push(...schemaProblems(x, schema.items!, `${at}[${i}]`)));
  return out;
}

/** Thrown for a policy config file that does not fit the rules (CLI exit 2). */
export class PolicyConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid policy config: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "PolicyConfigError";
  }
}

const isLevel = (v: unknown): v is EnforcementLevel =>
  (ENFORCEMENT_LEVELS as readonly unknown[]).includes(v);

/**
 * Effective settings of every rule: defaults, then the file's `all` level, then its per-rule
 * entry. Throws {@link PolicyConfigError} listing every problem.
 */
export function resolveSettings(
  rules: readonly DrRule[],
  file: PackConfigFile = {},
  where = "policy config",
): Map<string, RuleSettings> {
  const problems: string[] = [];
  if (typeof file !== "object" || file === null || Array.isArray(file))
    throw new PolicyConfigError([`${where}: must be a JSON object keyed by rule name`]);
  const byName = new Map(rules.map((r) => [r.name, r]));
  for (const key of Object.keys(file)) {
    if (key !== "all" && !byName.has(key)) {
      const guess = suggest(key, [...byName.keys()]);
      problems.push(
        `${where}: ${key}: no such rule (${guess ? `did you mean ${guess}? ` : ""}rules: ${[...byName.keys()].join(", ")})`,
      );
    }
  }
  let all: EnforcementLevel | undefined;
  if (file.all !== undefined) {
    const a =
      typeof file.all === "object" && file.all !== null
        ? (file.all as { enforcementLevel?: unknown }).enforcementLevel
        : file.all;
    if (isLevel(a)) all = a;
    else
      problems.push(
        `${where}: all: must be an enforcement level (${ENFORCEMENT_LEVELS.join(", ")}), got ${JSON.stringify(file.all)}`,
      );
  }
  const out = new Map<string, RuleSettings>();
  for (const rule of rules) {
    let level: EnforcementLevel = all ?? rule.enforcementLevel;
    const config = configDefaults(rule);
    const entry = file[rule.name];
    const at = `${where}: ${rule.name}`;
    if (typeof entry === "string") {
      if (isLevel(entry)) level = entry;
      else
        problems.push(
          `${at}: must be an enforcement level (${ENFORCEMENT_LEVELS.join(", ")}) or an object, got ${JSON.stringify(entry)}`,
        );
    } else if (entry !== undefined) {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        problems.push(
          `${at}: must be an enforcement level or an object, got ${JSON.stringify(entry)}`,
        );
      } else {
        for (const [k, v] of Object.entries(entry)) {
          if (k === "enforcementLevel") {
            if (isLevel(v)) level = v;
            else
              problems.push(
                `${at}.enforcementLevel: must be one of ${ENFORCEMENT_LEVELS.join(", ")}, got ${JSON.stringify(v)}`,
              );
            continue;
          }
          const schema = rule.configSchema.properties[k] as JsonSchema | undefined;
          if (!schema) {
            const known = Object.keys(rule.configSchema.properties);
            problems.push(
              `${at}.${k}: unknown setting (${known.length ? `settings: ${known.join(", ")}` : "this rule takes no settings"})`,
            );
            continue;
          }
          const p = schemaProblems(v, schema, `${at}.${k}`);
          if (p.length) problems.push(...p);
          else config[k] = v;
        }
      }
    }
    out.set(rule.name, { enforcementLevel: level, config });
  }
  if (problems.length) throw new PolicyConfigError(problems);
  return out;
}
