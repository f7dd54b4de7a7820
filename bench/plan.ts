/**
 * Benchmark: offline plan time for the shipped example (all stacks) and for a generated network
 * of 50 sites and 500 validators (one stack per site). Prints figures; not a test.
 * Targets on a 2-core machine: example < 3 s, 50 sites < 15 s.
 *
 *   npm run build && node dist/bench/plan.js [--sites 50] [--validators 500] [--runs 3]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { planAll } from "../planner/plan";

function findProject(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** A valid network: sites alternate AWS/GCP, each in its own region with 3 zones. */
export function generateNetwork(sites: number, validators: number): unknown {
  const siteList = Array.from({ length: sites }, (_, i) => {
    const aws = i % 2 === 0;
    // Sites 0 and 1 run every service (their backup buckets need a real paired region).
    const region = i === 1 ? "europe-west1" : aws ? `us-east-${i + 1}` : `europe-west${i + 1}`;
    const zones = aws
      ? ["a", "b", "c"].map((z) => `${region}${z}`)
      : ["b", "c", "d"].map((z) => `${region}-${z}`);
    return {
      name: `site-${i}`,
      role: i === 0 ? "primary" : "standby",
      cloud: aws ? "aws" : "gcp",
      region,
      zones,
      kubernetes: { context: `ctx-${i}` },
      ...(i < 2 ? {} : { services: ["validators"] }),
    };
  });
  const vals = Array.from({ length: validators }, (_, i) => {
    const site = siteList[i % sites];
    return {
      name: `val-${i}`,
      site: site.name,
      zone: site.zones[Math.floor(i / sites) % site.zones.length],
      votingPower: 1 + (i % 7),
      parties: i % 25 === 0 ? ["operator"] : [],
    };
  });
  return {
    name: "generated",
    objectives: {
      node: { rto: "30s", rpo: "0s" },
      zone: { rto: "1m", rpo: "0s" },
      region: { rto: "15m", rpo: "1m" },
      full: { rto: "4h", rpo: "24h" },
    },
    sites: siteList,
    parties: [{ name: "operator", threshold: 2 }],
    validators: vals,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sites: { type: "string" },
      validators: { type: "string" },
      runs: { type: "string" },
    },
  });
  const sites = Number(values.sites ?? 50);
  const validators = Number(values.validators ?? 500);
  const runs = Number(values.runs ?? 3);
  const projectDir = findProject();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drstack-bench-")), "network.yaml");
  fs.writeFileSync(file, stringify(generateNetwork(sites, validators)));

  const example: number[] = [];
  const generated: number[] = [];
  let resources = 0;
  for (let i = 0; i < runs; i++) {
    example.push(await time(() => planAll({ projectDir })));
    generated.push(
      await time(async () => {
        const plans = await planAll({ projectDir, networkFile: file });
        resources = plans.reduce((n, p) => n + p.resources.length, 0);
      }),
    );
  }
  console.log(
    `drstack plan benchmark (${os.cpus().length} cores, node ${process.version}, ${runs} runs, median)`,
  );
  console.log(
    `  example (stacks/, all stacks):           ${median(example).toFixed(2)} s   target < 3 s   runs: ${example.map((x) => x.toFixed(2)).join(", ")}`,
  );
  console.log(
    `  generated (${sites} sites, ${validators} validators, ${resources} resources): ${median(generated).toFixed(2)} s   target < 15 s   runs: ${generated.map((x) => x.toFixed(2)).join(", ")}`,
  );
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
