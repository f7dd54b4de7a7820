/**
 * A newcomer's machine: README's two quick-start commands, CI running exactly them, and the
 * provisioning `npm test` does before its real-tool suites (quiet when everything is present,
 * one line naming the command when it cannot install).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "./support/project";

const SCRIPT = "scripts/install-debian-deps.sh";

function quickStart(): string[] {
  const readme = fs.readFileSync(path.join(projectRoot(), "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  return block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "");
}

function provision(env: Record<string, string>, user?: string) {
  const cmd = user ? "runuser" : "bash";
  const args = user ? ["-u", user, "--", "bash", SCRIPT] : [SCRIPT];
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: projectRoot(),
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout + r.stderr, ms: Date.now() - started };
}

const asRoot = process.getuid?.() === 0;

describe("a newcomer's machine", () => {
  it("README's quick start is two commands: install + plan, then npm test", () => {
    expect(quickStart()).to.deep.equal(["npm ci && npx drstack plan --all", "npm test"]);
  });

  it("CI runs exactly README's commands, and npm test provisions before it builds", () => {
    const ci = fs.readFileSync(path.join(projectRoot(), ".ci", "run"), "utf8");
    const lines = ci.split("\n").map((l) => l.trim());
    for (const c of quickStart())
      expect(
        lines.some((l) => l === c || l.startsWith(`${c} `) || l.includes(`${c} 2>&1`)),
        c,
      ).to.equal(true);
    expect(ci, "CI must not install anything the README does not").not.to.include(SCRIPT);
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), "package.json"), "utf8"));
    expect(pkg.scripts.pretest.split("&&")[0].trim()).to.equal(`bash ${SCRIPT}`);
  });

  it("provisioning is silent and succeeds when every package is present", function () {
    if (!fs.existsSync("/usr/bin/dpkg-query")) return this.skip();
    // bash and coreutils are on every Debian machine.
    const r = provision({ DRSTACK_DEBIAN_PACKAGES: "bash coreutils" });
    expect(r).to.include({ code: 0, out: "" });
  });

  it("without root or sudo it stops at once with one line naming the command", function () {
    if (!asRoot || !fs.existsSync("/usr/bin/dpkg-query")) return this.skip();
    const r = provision({ DRSTACK_DEBIAN_PACKAGES: "bash drstack-no-such-package" }, "nobody");
    expect(r.code).to.equal(1);
    expect(r.out.trim().split("\n")).to.have.length(1);
    expect(r.out).to.include("missing: drstack-no-such-package");
    expect(r.out).to.include("run `sudo bash scripts/install-debian-deps.sh`");
    expect(r.ms).to.be.below(10_000);
  });

  it("with no package index that has a package it stops with one line naming the fix", function () {
    if (!asRoot || !fs.existsSync("/usr/bin/apt-get")) return this.skip();
    // A private apt state with no sources: `apt-get update` succeeds and offers nothing.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apt-"));
    for (const d of ["lists/partial", "parts", "cache/archives/partial"])
      fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(
      path.join(dir, "apt.conf"),
      [
        `Dir::State::Lists "${dir}/lists";`,
        `Dir::Etc::SourceList "/dev/null";`,
        `Dir::Etc::SourceParts "${dir}/parts";`,
        `Dir::Cache "${dir}/cache";`,
      ].join("\n") + "\n",
    );
    const r = provision({
      APT_CONFIG: path.join(dir, "apt.conf"),
      DRSTACK_DEBIAN_PACKAGES: "bash drstack-no-such-package",
    });
    expect(r.code).to.equal(1);
    expect(r.out.trim().split("\n")).to.have.length(1);
    expect(r.out).to.include("no package index offers drstack-no-such-package");
    expect(r.out).to.include("`apt-get update`, then `bash scripts/install-debian-deps.sh`");
  });

  it("both README commands pass in a fresh clone with a scratch HOME and npm cache", function () {
    // The committed HEAD, cloned: npm ci from an empty cache, build, plan every stack, then
    // `npm test` (its provisioning and build) with one test file.
    this.timeout(600_000);
    const r = spawnSync("bash", ["scripts/newcomer.sh", "dist/test/voting.test.js"], {
      cwd: projectRoot(),
      encoding: "utf8",
      timeout: 590_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = r.stdout + r.stderr;
    expect(r.status, out.slice(-3000)).to.equal(0);
    expect(out).to.include("newcomer $ npm ci && npx drstack plan --all");
    expect(out).to.include("newcomer $ npm test -- dist/test/voting.test.js");
    expect(out).to.match(/^[1-9]\d* passed, 0 failed$/m);
    expect(out).to.include("newcomer: both commands passed");
  });
});
