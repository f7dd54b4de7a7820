/**
 * The published JSON Schema of the network file (stacks/network.schema.json) is generated from the
 * validator's own shapes: it must be current, referenced from the file header for editors, and agree
 * with the validator on the example and on mutated copies.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { expect } from "chai";
import fc from "fast-check";
import { parse } from "yaml";
import { ConfigError, Problems } from "../components/topology/errors";
import { NETWORK_SCHEMA_FILE, networkJsonSchemaText } from "../components/topology/jsonSchema";
import { parseNetwork, validateNetwork } from "../components/topology";
import { checkShape } from "../components/topology/shape";
import { NETWORK_SHAPE } from "../components/topology/validate";
import { projectRoot, shippedNetworkText } from "./support/project";

function compiled() {
  const schema = JSON.parse(fs.readFileSync(path.join(projectRoot(), NETWORK_SCHEMA_FILE), "utf8"));
  // strict: a keyword ajv does not know would be ignored by editors too; refuse it here.
  return new Ajv({ strict: true, allErrors: true }).compile(schema);
}

/** Structure-level verdict of the validator: the shape problems alone. */
function shapeOk(doc: unknown): boolean {
  const problems = new Problems();
  checkShape(doc, NETWORK_SHAPE, "", problems);
  return problems.list.length === 0;
}

type Path = (string | number)[];

/** Every path to a value inside `doc` (the root excluded). */
function pathsOf(doc: unknown, at: Path = []): Path[] {
  if (Array.isArray(doc)) return doc.flatMap((v, i) => [[...at, i], ...pathsOf(v, [...at, i])]);
  if (doc && typeof doc === "object")
    return Object.entries(doc).flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
  return [];
}

function mutate(doc: any, at: Path, op: { kind: string; value?: unknown; key?: string }): any {
  const copy = structuredClone(doc);
  let node = copy;
  for (const step of at.slice(0, -1)) node = node[step];
  const last = at[at.length - 1];
  if (op.kind === "replace") node[last] = op.value;
  else if (op.kind === "delete") {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else if (
    op.kind === "add" &&
    node[last] &&
    typeof node[last] === "object" &&
    !Array.isArray(node[last])
  )
    node[last][op.key!] = op.value;
  return copy;
}

const anyValue = fc.oneof(
  fc.constantFrom(null, true, 0, 1, -1, 1.5, 2 ** 60, "", "primary", "30s", "us-east-1a", "aws"),
  fc.string(),
  fc.integer(),
  fc.constant([]),
  fc.constant({}),
  fc.constant(["postgres"]),
);

describe("network file JSON Schema", () => {
  it("is the one generated from the validator's shapes (npm run schema)", () => {
    const file = path.join(projectRoot(), NETWORK_SCHEMA_FILE);
    expect(
      fs.readFileSync(file, "utf8"),
      `${NETWORK_SCHEMA_FILE} is out of date: run npm run schema`,
    ).to.equal(networkJsonSchemaText());
    const check = spawnSync(process.execPath, ["scripts/network-schema.js", "--check"], {
      cwd: projectRoot(),
      encoding: "utf8",
    });
    expect(check.status, check.stderr).to.equal(0);
  });

  it("is referenced from the network files' first line for yaml-language-server", () => {
    const first = (f: string) =>
      fs.readFileSync(path.join(projectRoot(), f), "utf8").split("\n")[0];
    expect(first("stacks/network.yaml")).to.equal(
      "# yaml-language-server: $schema=./network.schema.json",
    );
    for (const f of fs
      .readdirSync(path.join(projectRoot(), "examples"))
      .filter((f) => f.endsWith(".yaml")))
      expect(first(`examples/${f}`), f).to.equal(
        "# yaml-language-server: $schema=../stacks/network.schema.json",
      );
  });

  it("accepts the shipped example, which the validator accepts", () => {
    const doc = parse(shippedNetworkText());
    const validate = compiled();
    expect(validate(doc), JSON.stringify(validate.errors)).to.equal(true);
    expect(() => parseNetwork(shippedNetworkText())).to.not.throw();
  });

  it("accepts the managed-clusters example (EKS and GKE sites), which the validator accepts", () => {
    const text = fs.readFileSync(
      path.join(projectRoot(), "examples", "managed-clusters.yaml"),
      "utf8",
    );
    const validate = compiled();
    expect(validate(parse(text)), JSON.stringify(validate.errors)).to.equal(true);
    expect(() => parseNetwork(text)).to.not.throw();
  });

  it("names the wrong field as the validator does", () => {
    const doc = parse(shippedNetworkText());
    doc.validators[0].votingPower = "ten";
    doc.sites[1].rol = "standby";
    const validate = compiled();
    expect(validate(doc)).to.equal(false);
    const where = validate.errors!.map((e) => e.instancePath);
    expect(where).to.include("/validators/0/votingPower");
    expect(
      validate.errors!.some((e) => e.params && (e.params as any).additionalProperty === "rol"),
    ).to.equal(true);
    let err: unknown;
    try {
      validateNetwork(doc, "net.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const paths = (err as ConfigError).problems.map((p) => p.path);
    expect(paths).to.include("validators[0].votingPower");
    expect(paths).to.include("sites[1].rol");
  });

  it("agrees with the validator's shapes on every mutated copy; what it refuses the validator refuses (property)", () => {
    const base = parse(shippedNetworkText());
    const paths = pathsOf(base);
    const validate = compiled();
    let refused = 0;
    fc.assert(
      fc.property(
        fc.nat(paths.length - 1),
        fc.oneof(
          fc.record({ kind: fc.constant("replace"), value: anyValue }),
          fc.record({ kind: fc.constant("delete") }),
          fc.record({
            kind: fc.constant("add"),
            key: fc.constantFrom("extra", "rto", "zone", "nme"),
            value: anyValue,
          }),
        ),
        (i, op) => {
          const doc = mutate(base, paths[i], op);
          const bySchema = validate(doc) as boolean;
          expect(bySchema, `${JSON.stringify(paths[i])} ${JSON.stringify(op)}`).to.equal(
            shapeOk(doc),
          );
          if (!bySchema) {
            refused++;
            expect(() => validateNetwork(doc)).to.throw(ConfigError);
          }
        },
      ),
      { numRuns: 600, seed: 14 },
    );
    // The mutations really reach the schema's refusals (the property is not vacuous).
    expect(refused).to.be.greaterThan(100);
  });
});
