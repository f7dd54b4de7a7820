import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import { ConfigError } from "../components/topology/errors";
import { SITE_CONFIG_KEYS } from "../components/settings";
import { readProject, readStackConfig } from "../planner/project";
import { projectRoot, tempFile } from "./support/project";
import { loadStackConfig } from "../components/program";

const SCHEMA = "pulumi-project.schema.json";

describe("project files", () => {
  it("Pulumi.yaml is valid against Pulumi's project schema", () => {
    // The shared reference schema beside the project; a clone on its own uses the copy in
    // test/fixtures, which must then match the shared one wherever both exist.
    const shared = path.join(projectRoot(), "..", "shared", "schemas", SCHEMA);
    const copy = path.join(projectRoot(), "test", "fixtures", "schemas", SCHEMA);
    if (fs.existsSync(shared))
      expect(fs.readFileSync(copy, "utf8"), `${copy} is out of date: copy ${shared}`).to.equal(
        fs.readFileSync(shared, "utf8"),
      );
    const schema = JSON.parse(fs.readFileSync(fs.existsSync(shared) ? shared : copy, "utf8"));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const project = parse(fs.readFileSync(path.join(projectRoot(), "Pulumi.yaml"), "utf8"));
    expect(validate(project), JSON.stringify(validate.errors)).to.equal(true);
    expect(project.runtime).to.deep.equal({
      name: "nodejs",
      options: { typescript: true, tsconfig: "tsconfig.pulumi.json" },
    });
    expect(project.stackConfigDir).to.equal("stacks");
    // The schema really checks: a wrong type is refused.
    expect(validate({ ...project, config: { site: { type: "map" } } })).to.equal(false);
  });

  it("declares every drstack config key in Pulumi.yaml with a type, and only known keys", () => {
    const project = readProject(projectRoot());
    const simple = Object.entries(SITE_CONFIG_KEYS)
      .filter(([, spec]) => !spec.shape)
      .map(([k]) => k);
    for (const key of simple) expect(project.config[key]?.type, key).to.equal("string");
    for (const key of Object.keys(project.config))
      expect(SITE_CONFIG_KEYS, key).to.have.property(key);
  });

  it("applies Pulumi.yaml defaults to a stack's config as the CLI does", () => {
    const cfg = readStackConfig(readProject(projectRoot()), "primary");
    expect(cfg.config).to.include({
      "drstack:site": "primary",
      "drstack:network": "stacks/network.yaml",
      "drstack:namespacePrefix": "drstack",
    });
  });

  it("rejects unknown and invalid per-site keys with the fix, all at once", () => {
    let err: unknown;
    try {
      loadStackConfig(
        {
          "drstack:site": "primary",
          "drstack:namespacePrefx": "x",
          "drstack:namespacePrefix": "Bad_Prefix",
          "aws:region": "us-east-1",
        },
        projectRoot(),
        "stacks/Pulumi.primary.yaml",
      );
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.map((p) => p.path)).to.deep.equal([
      "config.drstack:namespacePrefx",
      "config.drstack:namespacePrefix",
    ]);
    expect(problems[0].fix).to.equal("did you mean drstack:namespacePrefix?");
  });

  it("reports a stack file's type errors against Pulumi.yaml with the line", () => {
    const dir = fs.mkdtempSync(path.join(path.dirname(tempFile("x", "")), "proj-"));
    fs.copyFileSync(path.join(projectRoot(), "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(
      path.join(dir, "stacks", "Pulumi.x.yaml"),
      "config:\n  drstack:site: primary\n  drstack:namespacePrefix: 42\n",
    );
    let err: unknown;
    try {
      readStackConfig(readProject(dir), "x");
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const p = (err as ConfigError).problems[0];
    expect(p).to.include({ path: "config.drstack:namespacePrefix", line: 3 });
    expect(p.message).to.match(/must be of type string/);
  });
});
