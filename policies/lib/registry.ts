/**
 * The rule registry: discovers every rule file under `policies/rules/<area>/<rule-name>.{ts,js}`
 * at run time (each exports `rule: DrRule`), so adding a rule is dropping a file in its area
 * folder. Works from compiled JS (dist/, .build/<x>/) and from TypeScript under ts-node (the
 * policy pack as `pulumi preview --policy-pack policies` runs it): it loads files with the same
 * extension as this module.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DrRule } from "./rule";

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const;
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** A rule file that does not follow the convention; every problem is listed. */
export class RuleRegistryError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid policy rules: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "RuleRegistryError";
  }
}

/** The folder holding the rule areas, next to this module's folder (`policies/rules`). */
export function defaultRulesDir(): string {
  return path.resolve(__dirname, "..", "rules");
}

/** Rule files under `dir`, sorted, with the extension this module was loaded with. */
export function ruleFiles(dir = defaultRulesDir(), ext = path.extname(__filename)): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs
      .readdirSync(d, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (
        entry.name.endsWith(ext) &&
        !entry.name.endsWith(`.d${ext}`) &&
        !/\.(test|spec)\./.test(entry.name)
      )
        out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Problems with one rule's metadata (empty when it follows the convention). */
export function ruleProblems(
  rule: unknown,
  where: string,
  expected?: { area?: string; name?: string },
): string[] {
  const problems: string[] = [];
  if (!rule || typeof rule !== "object")
    return [`${where}: does not export \`rule\` (export const rule: DrRule = {...})`];
  const r = rule as Partial<DrRule> & Record<string, unknown>;
  const str = (k: string) => typeof r[k] === "string" && (r[k] as string).trim().length > 0;
  if (!str("name") || !KEBAB.test(String(r.name)))
    problems.push(`${where}: name must be kebab-case, got ${JSON.stringify(r.name)}`);
  for (const k of ["description", "remediationSteps", "area"])
    if (!str(k)) problems.push(`${where}: ${k} is required (non-empty text)`);
  if (!(SEVERITIES as readonly unknown[]).includes(r.severity))
    problems.push(
      `${where}: severity must be one of ${SEVERITIES.join(", ")}, got ${JSON.stringify(r.severity)}`,
    );
  if (!(ENFORCEMENT_LEVELS as readonly unknown[]).includes(r.enforcementLevel))
    problems.push(
      `${where}: enforcementLevel must be one of ${ENFORCEMENT_LEVELS.join(", ")}, got ${JSON.stringify(r.enforcementLevel)}`,
    );
  const schema = r.configSchema as { properties?: unknown } | undefined;
  if (
    !schema ||
    typeof schema !== "object" ||
    !schema.properties ||
    typeof schema.properties !== "object"
  ) {
    problems.push(
      `${where}: configSchema with properties is required (use { properties: {} } when the rule takes no settings)`,
    );
  } else {
    for (const [k, v] of Object.entries(
      schema.properties as Record<string, { default?: unknown }>,
    )) {
      if (k !== "enforcementLevel" && (!v || v.default === undefined))
        problems.push(`${where}: configSchema.properties.${k} needs a default`);
    }
  }
  if (r.kind === "resource") {
    if (typeof r.validateResource !== "function" && !Array.isArray(r.validateResource))
      problems.push(`${where}: a resource rule needs validateResource`);
  } else if (r.kind === "stack") {
    if (typeof r.validateStack !== "function")
      problems.push(`${where}: a stack rule needs validateStack`);
  } else
    problems.push(`${where}: kind must be "resource" or "stack", got ${JSON.stringify(r.kind)}`);
  if (expected?.area && r.area !== expected.area)
    problems.push(
      `${where}: area is ${JSON.stringify(r.area)} but the file is in policies/rules/${expected.area}/`,
    );
  if (expected?.name && r.name !== expected.name)
    problems.push(
      `${where}: rule ${JSON.stringify(r.name)} must live in a file named ${r.name}${path.extname(where)}`,
    );
  return problems;
}

/** Problems across a set of rules: each rule's metadata plus unique names. */
export function registryProblems(rules: readonly { rule: unknown; where: string }[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { rule, where } of rules) {
    const name = (rule as { name?: unknown } | undefined)?.name;
    if (typeof name === "string") {
      if (seen.has(name))
        problems.push(`${where}: rule name ${name} is also used by ${seen.get(name)}`);
      else seen.set(name, where);
    }
  }
  return problems;
}

const cache = new Map<string, DrRule[]>();

/**
 * Every rule under `dir` (default `policies/rules`), sorted by area then name. Throws a
 * {@link RuleRegistryError} listing every file that breaks the convention.
 */
export function loadRules(dir = defaultRulesDir()): DrRule[] {
  const key = path.resolve(dir);
  const hit = cache.get(key);
  if (hit) return hit;
  const loaded: { rule: unknown; where: string }[] = [];
  const problems: string[] = [];
  for (const file of ruleFiles(dir)) {
    const rel = path.relative(path.resolve(dir, "..", ".."), file);
    const parts = path.relative(dir, file).split(path.sep);
    let mod: { rule?: unknown };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(file) as { rule?: unknown };
    } catch (e) {
      problems.push(`${rel}: failed to load: ${(e as Error).message}`);
      continue;
    }
    const expected = {
      area: parts.length > 1 ? parts[0] : undefined,
      name: path.basename(file, path.extname(file)),
    };
    problems.push(...ruleProblems(mod.rule, rel, expected));
    loaded.push({ rule: mod.rule, where: rel });
  }
  problems.push(...registryProblems(loaded));
  if (problems.length > 0) throw new RuleRegistryError(problems);
  const rules = loaded
    .map((l) => l.rule as DrRule)
    .sort((a, b) => a.area.localeCompare(b.area) || a.name.localeCompare(b.name));
  cache.set(key, rules);
  return rules;
}
