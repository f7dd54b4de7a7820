/**
 * Benchmark: policy rule evaluation throughput. Plans the shipped stacks once, then builds a plan
 * of at least --resources resources (default 10,000) by cloning those stacks under new stack
 * names (with their validators renamed, so each clone is its own network), and runs every
 * registered rule over it with the offline runner. Prints resources/s; not a test.
 * Target: >= 10,000 resources/s.
 *
 *   npm run build && node dist/bench/policy.js [--resources 10000] [--runs 5] [--rules NAME|AREA,...]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { ResourceRecord } from "../planner/monitor";
import { planAll } from "../planner/plan";
import { loadRules } from "../policies/lib/registry";
import { mandatoryCount, type PlannedStack, runPolicies } from "../policies/lib/runner";

function findProject(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** Copies of `plans` under new stack names until they hold at least `target` resources. */
export function clonePlans(plans: readonly PlannedStack[], target: number): PlannedStack[] {
  const out: PlannedStack[] = [];
  let total = 0;
  for (let i = 0; total < target; i++) {
    for (const p of plans) {
      const stack = `${p.stack}-${i}`;
      const text = JSON.stringify(p.resources)
        .split(`urn:pulumi:${p.stack}::`)
        .join(`urn:pulumi:${stack}::`)
        .replace(/"val-/g, `"val${i}-`)
        .replace(/\\"val-/g, `\\"val${i}-`);
      const resources = JSON.parse(text) as ResourceRecord[];
      out.push({ stack, resources });
      total += resources.length;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resources: { type: "string", default: "10000" },
      runs: { type: "string", default: "5" },
      rules: { type: "string" },
    },
  });
  const target = Number(values.resources);
  const runs = Number(values.runs);
  const projectDir = findProject();
  const t0 = performance.now();
  const shipped = await planAll({ projectDir });
  const planMs = performance.now() - t0;
  const stacks = clonePlans(shipped, target);
  const resources = stacks.reduce((n, s) => n + s.resources.length, 0);
  const only = values.rules?.split(",").map((r) => r.trim());
  const rules = loadRules().filter((r) => !only || only.includes(r.name) || only.includes(r.area));
  const times: number[] = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    last = await runPolicies(stacks, rules);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const best = times[0];
  console.log(
    `shipped plan: ${shipped.length} stacks, ${shipped.reduce((n, s) => n + s.resources.length, 0)} resources, planned in ${planMs.toFixed(0)} ms`,
  );
  console.log(
    `benchmark plan: ${stacks.length} stacks, ${resources} resources; ${rules.length} rules (${rules.filter((r) => r.kind === "resource").length} resource, ${rules.filter((r) => r.kind === "stack").length} stack)`,
  );
  console.log(
    `evaluations per run: ${last!.evaluations}; violations: ${last!.violations.length} (${mandatoryCount(last!)} mandatory)`,
  );
  console.log(
    `rule evaluation: median ${median.toFixed(0)} ms, best ${best.toFixed(0)} ms over ${runs} runs`,
  );
  const slow = Object.entries(last!.ruleMs)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  const inRules = Object.values(last!.ruleMs).reduce((a, b) => a + b, 0);
  console.log(
    `time inside rules (last run): ${inRules.toFixed(0)} ms of ${last!.durationMs.toFixed(0)} ms`,
  );
  console.log(
    `slowest rules (last run): ${slow.map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(", ")}`,
  );
  console.log(
    `throughput: ${Math.round(resources / (median / 1000)).toLocaleString("en-US")} resources/s (median), ${Math.round(resources / (best / 1000)).toLocaleString("en-US")} resources/s (best)`,
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
