/**
 * The policy pack stands alone: from a copy of the repository's files (a fresh clone, no root
 * `npm install`), `npm ci --prefix policies` installs the pack from its own package.json and
 * lockfile and its `prepare` script compiles the pack plus the shared modules it imports into
 * policies/bin/. The pack directory is then moved away from the repository (nothing may reach
 * through ../..) and its entry point is started exactly as the Pulumi CLI's nodejs host starts an
 * analyzer plugin: `node <pack>/node_modules/@pulumi/pulumi/cmd/run-policy-pack <engine> <packDir>`
 * with the pack directory as working directory. A preload replaces @pulumi/policy's
 * `server.serve` (where `new PolicyPack` would start the gRPC server and never return) so the
 * registered pack is printed instead; every rule must be there with its enforcement level.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { loadRules } from "../policies/lib/registry";
import { projectRoot } from "./support/project";

/** Replaces the analyzer server start with a print of what the pack registered. */
const INTERCEPT = `"use strict";
const server = require(require.resolve("@pulumi/policy/server", { paths: [process.cwd()] }));
server.serve = (name, version, enforcementLevel, args) => {
  const policies = (args.policies || []).map((p) => ({
    name: p.name,
    enforcementLevel: p.enforcementLevel,
    resource: typeof p.validateResource === "function" || Array.isArray(p.validateResource),
    stack: typeof p.validateStack === "function",
  }));
  process.stdout.write("PACK " + JSON.stringify({ name, version, enforcementLevel, policies }) + "\\n");
  process.exit(0);
};
`;

function run(cmd: string, args: readonly string[], cwd: string, env = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe("policy pack: self-contained install, loaded as the Pulumi policy host loads it", function () {
  this.timeout(600_000);
  let packDir = "";
  let pack: {
    name: string;
    version: string;
    enforcementLevel: string;
    policies: { name: string; enforcementLevel: string; resource: boolean; stack: boolean }[];
  };

  before(() => {
    const root = projectRoot();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pack-"));
    const clone = path.join(work, "clone");
    // The files a clone has (tracked plus new, unignored ones): no node_modules, dist or bin.
    const files = run("git", ["ls-files", "-co", "--exclude-standard", "-z"], root)
      .stdout.split("\0")
      .filter((f) => f && fs.existsSync(path.join(root, f)));
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      fs.copyFileSync(path.join(root, f), path.join(clone, f));
    }
    expect(fs.existsSync(path.join(clone, "node_modules"))).to.equal(false);
    run(
      "npm",
      ["ci", "--prefix", "policies", "--no-audit", "--no-fund", "--prefer-offline"],
      clone,
    );
    // Alone: the installed pack without the repository around it.
    packDir = path.join(work, "alone", "policies");
    fs.mkdirSync(path.dirname(packDir));
    fs.renameSync(path.join(clone, "policies"), packDir);
    fs.rmSync(clone, { recursive: true, force: true });

    const intercept = path.join(work, "intercept.js");
    fs.writeFileSync(intercept, INTERCEPT);
    const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", {
      paths: [packDir],
    });
    expect(runPolicyPack.startsWith(packDir + path.sep)).to.equal(true);
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.homedir() };
    const r = run(
      process.execPath,
      ["-r", intercept, runPolicyPack, "127.0.0.1:0", packDir],
      packDir,
      env,
    );
    const line = r.stdout.split("\n").find((l) => l.startsWith("PACK "));
    expect(line, `no pack registered\n${r.stdout}\n${r.stderr}`).to.be.a("string");
    pack = JSON.parse(line!.slice(5));
  });

  it("installs from its own package.json and lockfile, with no path out of policies/", () => {
    const pj = JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8"));
    const lock = JSON.parse(fs.readFileSync(path.join(packDir, "package-lock.json"), "utf8"));
    expect(lock.name).to.equal(pj.name);
    const deps = { ...pj.dependencies, ...pj.devDependencies };
    for (const [name, spec] of Object.entries<string>(deps)) {
      expect(spec, name).not.to.match(/^(file|link):/);
      expect(lock.packages[`node_modules/${name}`], `${name} locked`).to.be.an("object");
    }
    expect(fs.existsSync(path.join(packDir, pj.main)), pj.main).to.equal(true);
  });

  it("registers the drstack pack, mandatory by default, with the package version", () => {
    expect(pack.name).to.equal("drstack");
    expect(pack.enforcementLevel).to.equal("mandatory");
    expect(pack.version).to.equal(
      JSON.parse(fs.readFileSync(path.join(projectRoot(), "policies", "package.json"), "utf8"))
        .version,
    );
  });

  it("registers every rule file with its enforcement level and a validator", () => {
    const rules = loadRules();
    expect(rules.length).to.be.greaterThan(20);
    expect(pack.policies.map((p) => [p.name, p.enforcementLevel])).to.deep.equal(
      rules.map((r) => [r.name, r.enforcementLevel]),
    );
    for (const p of pack.policies)
      expect(p.resource || p.stack, `${p.name} validates something`).to.equal(true);
  });
});
