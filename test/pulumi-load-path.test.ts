/**
 * Pulumi's load path. `pulumi up` does not run the compiled dist/: the nodejs language host
 * spawns `@pulumi/pulumi/cmd/run`, which registers ts-node (type-checking, with the tsconfig
 * Pulumi.yaml names) because `runtime.options.typescript` is true, and the program reads the
 * stack's config from PULUMI_CONFIG. Every stack run that way must register exactly what the
 * compiled planner records, and a type error anywhere in the program must stop it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { ResourceRecord } from "../planner/monitor";
import type { StackPlan } from "../planner/plan";
import { listStacks, readProject } from "../planner/project";
import { type LanghostRun, runLikePulumi } from "./support/langhost";
import { planShipped, projectRoot } from "./support/project";

/** type|name|parent of each resource, sorted. */
function shape(resources: readonly ResourceRecord[]): string[] {
  return resources.map((r) => `${r.type} | ${r.name} | ${r.parent ?? "-"}`).sort();
}

function failure(run: LanghostRun): string {
  const errors = run.logs.filter((l) => l.severity === "error").map((l) => l.message);
  return `exit ${run.code}\n${errors.join("\n")}\n${run.stderr.slice(-4000)}`;
}

function expectSameAsPlan(run: LanghostRun, plan: StackPlan): void {
  expect(run.code, failure(run)).to.equal(0);
  expect(run.logs.filter((l) => l.severity === "error")).to.deep.equal([]);
  expect(run.root).to.equal(
    `urn:pulumi:${plan.stack}::drstack::pulumi:pulumi:Stack::drstack-${plan.stack}`,
  );
  expect(shape(run.resources)).to.deep.equal(shape(plan.resources));
  // Beyond the resource set: every resource received the same inputs.
  const planned = new Map(plan.resources.map((r) => [r.urn, r]));
  for (const r of run.resources) {
    expect(r.inputs, r.urn).to.deep.equal(planned.get(r.urn)?.inputs);
    expect(r.dependencies.slice().sort(), r.urn).to.deep.equal(
      planned.get(r.urn)?.dependencies.slice().sort(),
    );
  }
}

/** A copy of the project's program sources, with node_modules linked, for breaking them. */
function programCopy(): string {
  const root = projectRoot();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-loadpath-"));
  for (const f of [
    "index.ts",
    "Pulumi.yaml",
    "package.json",
    "tsconfig.json",
    "tsconfig.pulumi.json",
  ])
    fs.copyFileSync(path.join(root, f), path.join(dir, f));
  for (const d of ["components", "stacks"])
    fs.cpSync(path.join(root, d), path.join(dir, d), { recursive: true });
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

describe("index.ts through Pulumi's nodejs entry point (ts-node, PULUMI_CONFIG)", function () {
  this.timeout(900_000);
  let plans: StackPlan[];
  let outputs: Map<string, Record<string, unknown>>;
  before(async () => {
    plans = await planShipped();
    outputs = new Map(plans.map((p) => [p.stack, p.outputs]));
  });

  it("Pulumi.yaml asks for TypeScript through ts-node with a tsconfig of production types", () => {
    const root = projectRoot();
    const text = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
    expect(text).to.match(/^\s+typescript: true$/m);
    expect(text).to.match(/^\s+tsconfig: tsconfig\.pulumi\.json$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    // What ts-node needs to load and type-check the program is installed by `npm ci --omit=dev`.
    for (const dep of ["ts-node", "typescript", "@types/node", "@pulumi/pulumi"])
      expect(pkg.dependencies, dep).to.have.property(dep);
    const tsconfig = JSON.parse(fs.readFileSync(path.join(root, "tsconfig.pulumi.json"), "utf8"));
    for (const t of tsconfig.compilerOptions.types as string[])
      expect(pkg.dependencies, `types ${t}`).to.have.property(`@types/${t}`);
  });

  it("covers every stack of the project", () => {
    expect(plans.map((p) => p.stack).sort()).to.deep.equal(listStacks(readProject(projectRoot())));
    expect(plans.length).to.be.greaterThan(1);
  });

  for (const stack of listStacks(readProject(projectRoot()))) {
    it(`${stack}: registers the resources the planner records, with the same inputs`, async () => {
      const run = await runLikePulumi({ projectDir: projectRoot(), stack, stackOutputs: outputs });
      expectSameAsPlan(
        run,
        plans.find((p) => p.stack === stack)!,
      );
      // The program was loaded by the project's ts-node, not a vendored one, and read its site
      // from PULUMI_CONFIG in the `<namespace>:config:<key>` form the language host writes.
      const debug = run.logs.map((l) => l.message).join("\n");
      expect(debug).to.include(
        `Found ts-node version: 10.9.2 at ${projectRoot()}/node_modules/ts-node`,
      );
      expect(run.env.PULUMI_NODEJS_TYPESCRIPT).to.equal("true");
      expect(run.env.PULUMI_NODEJS_TSCONFIG_PATH).to.equal("tsconfig.pulumi.json");
      expect(JSON.parse(run.env.PULUMI_CONFIG!)).to.have.property("drstack:config:site");
    });
  }

  it("preview (--dry-run) registers the same resources for the primary stack", async () => {
    const run = await runLikePulumi({
      projectDir: projectRoot(),
      stack: "primary",
      stackOutputs: outputs,
      dryRun: true,
    });
    expect(run.code, failure(run)).to.equal(0);
    expect(shape(run.resources)).to.deep.equal(
      shape(plans.find((p) => p.stack === "primary")!.resources),
    );
  });

  it("a type error in index.ts stops the program with the TypeScript diagnostic", async () => {
    const dir = programCopy();
    try {
      fs.appendFileSync(
        path.join(dir, "index.ts"),
        '\nconst sites: number = "primary";\nvoid sites;\n',
      );
      const run = await runLikePulumi({ projectDir: dir, stack: "primary", stackOutputs: outputs });
      expect(run.code).to.not.equal(0);
      const errors = run.logs
        .filter((l) => l.severity === "error")
        .map((l) => l.message)
        .join("\n");
      expect(errors).to.match(/TS2322/);
      expect(errors).to.include("index.ts");
      expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).to.deep.equal([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a type error deep in a component stops it too (ts-node checks each module it loads)", async () => {
    const dir = programCopy();
    try {
      const file = path.join(dir, "components", "program.ts");
      fs.appendFileSync(file, "\nexport const brokenPort: number = { port: 26656 };\n");
      const run = await runLikePulumi({ projectDir: dir, stack: "dr", stackOutputs: outputs });
      expect(run.code).to.not.equal(0);
      const errors = run.logs
        .filter((l) => l.severity === "error")
        .map((l) => l.message)
        .join("\n");
      expect(errors).to.match(/TS2322/);
      expect(errors).to.include(path.join("components", "program.ts"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the control: the unbroken copy runs clean (so the failures above are the type errors)", async () => {
    const dir = programCopy();
    try {
      const run = await runLikePulumi({ projectDir: dir, stack: "primary", stackOutputs: outputs });
      expect(run.code, failure(run)).to.equal(0);
      expect(run.resources.length).to.equal(
        plans.find((p) => p.stack === "primary")!.resources.length,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs from production dependencies alone (npm ci --omit=dev), as an operator installs it", async function () {
    // A copy of what git tracks, installed without dev dependencies from the npm cache.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-prod-"));
    try {
      const files = spawnSync("git", ["ls-files", "-z"], { cwd: projectRoot(), encoding: "utf8" })
        .stdout.split("\0")
        .filter((f) => f && fs.existsSync(path.join(projectRoot(), f)));
      expect(files).to.include("index.ts");
      for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.copyFileSync(path.join(projectRoot(), f), path.join(dir, f));
      }
      const npm = spawnSync(
        "npm",
        ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
        { cwd: dir, encoding: "utf8", timeout: 600_000 },
      );
      expect(npm.status, npm.stderr).to.equal(0);
      expect(
        fs.existsSync(path.join(dir, "node_modules", "mocha")),
        "dev dependencies left out",
      ).to.equal(false);
      const run = await runLikePulumi({ projectDir: dir, stack: "west", stackOutputs: outputs });
      expectSameAsPlan(
        run,
        plans.find((p) => p.stack === "west")!,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
