import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { loadRules, RuleRegistryError, ruleFiles } from "../policies/lib/registry";
import { PolicyConfigError, resolveSettings } from "../policies/lib/config";
import { selects } from "../policies/lib/k8s";
import {
  changed,
  deployment,
  resource,
  runStackRule,
  validatorStatefulSet,
} from "./support/policy";
import { projectRoot } from "./support/project";

describe("policy framework", () => {
  it("discovers every rule file under policies/rules, sorted, with unique names and full metadata", () => {
    const rules = loadRules();
    const files = ruleFiles();
    expect(rules.length).to.equal(files.length);
    expect(rules.length).to.be.greaterThan(0);
    expect(new Set(rules.map((r) => r.name)).size).to.equal(rules.length);
    for (const r of rules) {
      expect(r.name, r.name).to.match(/^[a-z][a-z0-9-]*$/);
      expect(r.description.length, r.name).to.be.greaterThan(20);
      expect(r.remediationSteps.length, r.name).to.be.greaterThan(20);
      expect(["low", "medium", "high", "critical"]).to.include(r.severity);
      expect(["advisory", "mandatory", "remediate", "disabled"]).to.include(r.enforcementLevel);
      expect(r.configSchema.properties, r.name).to.be.an("object");
      for (const [k, v] of Object.entries(r.configSchema.properties))
        expect((v as { default?: unknown }).default, `${r.name}.${k}`).to.not.equal(undefined);
      expect(
        files.some(
          (f) =>
            path.basename(f).startsWith(`${r.name}.`) && path.basename(path.dirname(f)) === r.area,
        ),
        r.name,
      ).to.equal(true);
    }
  });

  it("loads the TypeScript rule files under ts-node, as the Pulumi CLI runs the pack", () => {
    // Pulumi's nodejs host runs a TypeScript pack with ts-node; use the one it vendors.
    const tsNode = path.join(
      path.dirname(require.resolve("@pulumi/pulumi/package.json")),
      "vendor",
      "ts-node@7.0.1",
    );
    const script = `
      require(${JSON.stringify(tsNode)}).register({ transpileOnly: true, typeCheck: false, compiler: require.resolve("typescript"), project: "policies/tsconfig.json", compilerOptions: { module: "commonjs" } });
      const r = require("./policies/lib/registry.ts");
      console.log(JSON.stringify({ ext: r.ruleFiles().map((f) => require("path").extname(f)), names: r.loadRules().map((x) => x.name) }));`;
    const out = spawnSync(process.execPath, ["-e", script], {
      cwd: projectRoot(),
      encoding: "utf8",
    });
    expect(out.status, out.stderr).to.equal(0);
    const got = JSON.parse(out.stdout) as { ext: string[]; names: string[] };
    expect(new Set(got.ext)).to.deep.equal(new Set([".ts"]));
    expect(got.names).to.deep.equal(loadRules().map((r) => r.name));
  });

  it("rejects a rule file that breaks the convention, listing every problem", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-rules-"));
    fs.mkdirSync(path.join(dir, "demo"));
    fs.writeFileSync(
      path.join(dir, "demo", "bad-rule.js"),
      `exports.rule = { name: "Bad_Rule", area: "other", kind: "stack", description: "", severity: "huge", enforcementLevel: "mandatory", remediationSteps: "x", configSchema: { properties: { n: { type: "integer" } } }, validateStack() {} };`,
    );
    fs.writeFileSync(path.join(dir, "demo", "no-export.js"), `exports.other = 1;`);
    let err: RuleRegistryError | undefined;
    try {
      loadRules(dir);
    } catch (e) {
      err = e as RuleRegistryError;
    }
    expect(err).to.be.instanceOf(RuleRegistryError);
    const text = err!.problems.join("\n");
    expect(text).to.include("name must be kebab-case");
    expect(text).to.include("description is required");
    expect(text).to.include("severity must be one of");
    expect(text).to.include("configSchema.properties.n needs a default");
    expect(text).to.include('area is "other"');
    expect(text).to.include("no-export.js: does not export `rule`");
  });

  it("resolves settings: defaults, the `all` level, per-rule levels and settings; bad entries are listed", () => {
    const rules = loadRules();
    const s = resolveSettings(rules, {
      all: "advisory",
      "region-voting-power": { maxFraction: "1/4" },
      "single-signer": "disabled",
    });
    expect(s.get("region-voting-power")).to.deep.equal({
      enforcementLevel: "advisory",
      config: { maxFraction: "1/4" },
    });
    expect(s.get("single-signer")!.enforcementLevel).to.equal("disabled");
    expect(resolveSettings(rules).get("region-voting-power")!.config).to.deep.equal({
      maxFraction: "1/3",
    });
    expect(() =>
      resolveSettings(rules, {
        "no-such-rule": "mandatory",
        "region-voting-power": { maxFraction: 3, colour: "red" },
        "single-signer": "loud",
      }),
    )
      .to.throw(PolicyConfigError)
      .with.property("problems")
      .that.satisfies(
        (p: string[]) =>
          p.length === 4 &&
          p.some((x) => x.includes("no-such-rule: no such rule")) &&
          p.some((x) => x.includes("maxFraction: must be string")) &&
          p.some((x) => x.includes("colour: unknown setting")),
      );
  });

  it("label selectors match as Kubernetes does", () => {
    expect(selects({ matchLabels: { a: "1" } }, { a: "1", b: "2" })).to.equal(true);
    expect(selects({ matchLabels: { a: "1" } }, { a: "2" })).to.equal(false);
    expect(selects({}, { a: "1" })).to.equal(true);
    expect(selects(undefined, { a: "1" })).to.equal(false);
    expect(
      selects({ matchExpressions: [{ key: "a", operator: "In", values: ["1", "3"] }] }, { a: "3" }),
    ).to.equal(true);
    expect(
      selects({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, { a: "1" }),
    ).to.equal(false);
    expect(selects({ matchExpressions: [{ key: "a", operator: "Exists" }] }, {})).to.equal(false);
    expect(selects({ matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }, {})).to.equal(
      true,
    );
  });

  it("the harness changes exactly one field", () => {
    const a = validatorStatefulSet();
    const b = changed(a, "spec.template.spec.containers[0].securityContext.privileged", true);
    expect((a.props as any).spec.template.spec.containers[0].securityContext.privileged).to.equal(
      undefined,
    );
    expect((b.props as any).spec.template.spec.containers[0].securityContext.privileged).to.equal(
      true,
    );
    expect(
      changed(b, "spec.template.spec.containers[0].securityContext.privileged", undefined).props,
    ).to.deep.equal(a.props);
  });

  it("a stack rule sees linked resources (parent and dependencies are objects)", async () => {
    const parent = resource("drstack:validators:ValidatorSet", "vs", {});
    const child = { ...deployment(), parent: parent.urn, dependencies: [parent.urn] };
    const seen: unknown[] = [];
    const probe = {
      ...loadRules().find((r) => r.name === "single-signer")!,
      validateStack: (args: any) =>
        seen.push(args.resources[1].parent?.urn, args.resources[1].dependencies[0]?.type),
    };
    await runStackRule(probe as any, [parent, child]);
    expect(seen).to.deep.equal([parent.urn, "drstack:validators:ValidatorSet"]);
  });
});
