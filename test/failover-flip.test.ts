import { expect } from "chai";
import fc from "fast-check";
import { flipRoles, standbysWithPostgres } from "../failover/flip";
import { resourceDiff, unifiedDiff } from "../failover/diff";
import { ConfigError } from "../components/topology/errors";
import { parseNetwork } from "../components/topology/load";
import { shippedNetworkText } from "./support/project";

/** The ConfigError a flip throws (fails the test when it does not throw one). */
function flipError(text: string, target: string): ConfigError {
  try {
    flipRoles(text, target);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return e as ConfigError;
  }
  expect.fail(`flipping to ${target} should have been refused`);
}

function changedLines(a: string, b: string): number[] {
  const x = a.split("\n");
  const y = b.split("\n");
  expect(y.length).to.equal(x.length);
  return x.map((l, i) => (l === y[i] ? -1 : i + 1)).filter((i) => i > 0);
}

describe("config flip (stacks/network.yaml)", () => {
  it("changes exactly the two role values of the shipped example, comments kept", () => {
    const text = shippedNetworkText();
    const flip = flipRoles(text, "dr");
    expect(flip.oldPrimary).to.equal("primary");
    expect(flip.newPrimary).to.equal("dr");
    const lines = text.split("\n");
    const roleLines = lines
      .map((l, i) => (/^\s+role: /.test(l) ? i + 1 : -1))
      .filter((i) => i > 0)
      .slice(0, 2);
    expect(changedLines(text, flip.text)).to.deep.equal(roleLines);
    expect(flip.edits.map((e) => e.line)).to.deep.equal(roleLines);
    expect(flip.text.split("\n")[roleLines[0] - 1]).to.equal("    role: standby");
    expect(flip.text.split("\n")[roleLines[1] - 1]).to.equal("    role: primary");
    // Everything else, comments included, byte for byte.
    expect(flip.text.replace(/role: \w+/g, "role: X")).to.equal(
      text.replace(/role: \w+/g, "role: X"),
    );
    expect(flip.network.sites.map((s) => `${s.name}:${s.role}`)).to.deep.equal([
      "primary:standby",
      "dr:primary",
      "west:standby",
      "asia:standby",
    ]);
  });

  it("flipping back restores the original text byte for byte", () => {
    const text = shippedNetworkText();
    const there = flipRoles(text, "dr");
    const back = flipRoles(there.text, "primary");
    expect(back.text).to.equal(text);
  });

  it("pins credentialsSite to the old primary when the file does not name it", () => {
    const text = shippedNetworkText().replace(/^credentialsSite: primary\n/m, "");
    expect(text).to.not.include("credentialsSite");
    const flip = flipRoles(text, "dr");
    expect(flip.credentialsPin?.site).to.equal("primary");
    const lines = flip.text.split("\n");
    expect(lines[flip.credentialsPin!.line - 1]).to.equal("credentialsSite: primary");
    expect(lines[flip.credentialsPin!.line]).to.equal("sites:");
    expect(flip.network.credentialsSite).to.equal("primary");
    // Role edits name the lines of the new text.
    for (const e of flip.edits) expect(lines[e.line - 1]).to.equal(`    role: ${e.to}`);
    // Flipping back keeps the pin: the credentials never move with the role.
    const back = flipRoles(flip.text, "primary");
    expect(back.credentialsPin).to.equal(undefined);
    expect(back.text).to.equal(text.replace(/^sites:$/m, "credentialsSite: primary\nsites:"));
  });

  it("refuses to guess where to pin credentialsSite in a flow-mapping file, naming the field", () => {
    const net = parseNetwork(shippedNetworkText(), "network.yaml");
    const { credentialsSite: _unused, ...rest } = net as unknown as Record<string, unknown>;
    void _unused;
    const flow = JSON.stringify({
      name: rest.name,
      objectives: {
        node: { rto: "30s", rpo: "0s" },
        zone: { rto: "1m", rpo: "0s" },
        region: { rto: "15m", rpo: "1m" },
        full: { rto: "4h", rpo: "24h" },
      },
      sites: net.sites.map(({ name, role, cloud, region, zones, kubernetes, services }) => ({
        name,
        role,
        cloud,
        region,
        zones,
        kubernetes,
        services,
      })),
      validators: net.validators.map(({ name, site, zone, votingPower }) => ({
        name,
        site,
        zone,
        votingPower,
      })),
    });
    const err = flipError(flow, "dr");
    expect(err.problems[0]).to.include({ path: "credentialsSite" });
    expect(err.problems[0].fix).to.match(/add credentialsSite: <the current primary>/);
  });

  it("keeps the quoting style of the role scalars and flow mappings", () => {
    const text = shippedNetworkText()
      .replace("    role: primary\n", "    role: 'primary' # writes here\n")
      .replace(
        / {2}- name: dr\n {4}role: standby\n/,
        '  - name: dr\n    role: "standby"   # follows primary\n',
      );
    const flip = flipRoles(text, "dr");
    expect(flip.text).to.include("    role: 'standby' # writes here\n");
    expect(flip.text).to.include('    role: "primary"   # follows primary\n');
    expect(flipRoles(flip.text, "primary").text).to.equal(text);
  });

  it("keeps a tag, and refuses a block scalar role as bad input naming the field", () => {
    const tagged = shippedNetworkText().replace(
      /( {4}role: )standby(\n {4}cloud: gcp\n {4}region: europe-west1)/,
      "$1!!str standby$2",
    );
    const flip = flipRoles(tagged, "dr");
    expect(flip.text).to.include("    role: !!str primary\n");
    expect(flipRoles(flip.text, "primary").text).to.equal(tagged);
    const folded = shippedNetworkText().replace(
      "    role: primary\n",
      "    role: >-\n      primary\n",
    );
    const err = flipError(folded, "dr");
    expect(err.problems[0]).to.include({ path: "sites[0].role" });
  });

  it("rejects the flip when the result breaks a topology rule, naming it", () => {
    // A second standby in dr's region: once dr is primary, that standby shares its region.
    const text = shippedNetworkText()
      .replace(/asia-southeast1-a/g, "europe-west1-b")
      .replace(/asia-southeast1-b/g, "europe-west1-c")
      .replace("region: asia-southeast1", "region: europe-west1");
    expect(() => parseNetwork(text)).to.not.throw();
    const err = flipError(text, "dr");
    const p = err.problems.find((x) => x.path === "sites[3].region");
    expect(p?.message).to.match(
      /after making dr primary: standby site asia is in the primary's region/,
    );
  });

  it("property: over generated topologies, a flip edits only two role lines and flips back exactly", () => {
    fc.assert(
      fc.property(topologyArb(), fc.nat(), (t, pick) => {
        const net = parseNetwork(t.text, "gen.yaml");
        const candidates = standbysWithPostgres(net);
        fc.pre(candidates.length > 0);
        const target = candidates[pick % candidates.length];
        const old = net.sites.find((s) => s.role === "primary")!.name;
        const flip = flipRoles(t.text, target, "gen.yaml");
        expect(flip.network.sites.find((s) => s.role === "primary")!.name).to.equal(target);
        expect(flip.network.sites.find((s) => s.name === old)!.role).to.equal("standby");
        // The credentials stay with the old primary: pinned by the flip when the file was silent.
        expect(flip.network.credentialsSite).to.equal(old);
        const pin = `credentialsSite: ${old}\n`;
        const start = t.pinned ? t.text : t.text.replace(/^sites:$/m, `${pin}sites:`);
        expect(flip.credentialsPin !== undefined).to.equal(!t.pinned);
        if (flip.credentialsPin)
          expect(flip.text.split("\n")[flip.credentialsPin.line - 1]).to.equal(pin.trim());
        expect(changedLines(start, flip.text)).to.have.length(2);
        for (const e of flip.edits)
          expect(flip.text.split("\n")[e.line - 1]).to.match(new RegExp(`role: ['"]?${e.to}`));
        // Only the sites' roles (and the pin) differ in the model.
        const strip = (n: ReturnType<typeof parseNetwork>) => ({
          ...n,
          credentialsSite: n.credentialsSite ?? old,
          sites: n.sites.map((s) => ({ ...s, role: undefined })),
        });
        expect(strip(flip.network)).to.deep.equal(strip(net));
        const back = flipRoles(flip.text, old, "gen.yaml");
        expect(back.credentialsPin).to.equal(undefined);
        expect(back.text).to.equal(start);
      }),
      { numRuns: 150 },
    );
  });
});

describe("dry-run diffs", () => {
  it("unifiedDiff shows the two role lines with context", () => {
    const text = shippedNetworkText();
    const d = unifiedDiff(text, flipRoles(text, "dr").text, "stacks/network.yaml");
    expect(d).to.match(/^--- a\/stacks\/network\.yaml\n\+\+\+ b\/stacks\/network\.yaml\n@@ /);
    expect(d.split("\n").filter((l) => /^[-+] /.test(l))).to.deep.equal([
      "-    role: primary",
      "+    role: standby",
      "-    role: standby",
      "+    role: primary",
    ]);
    expect(unifiedDiff(text, text, "x")).to.equal("");
  });

  it("unifiedDiff hunk headers count the lines they show", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 30 }),
        fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 30 }),
        (a, b) => {
          const d = unifiedDiff(
            a.map((x) => `${x}\n`).join(""),
            b.map((x) => `${x}\n`).join(""),
            "f",
          );
          if (a.join() === b.join()) {
            expect(d).to.equal("");
            return;
          }
          // Applying the hunks to `a` gives `b`.
          const out: string[] = [];
          let pos = 0;
          const lines = d.split("\n").slice(2, -1);
          for (let i = 0; i < lines.length; i++) {
            const m = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(lines[i]);
            if (!m) {
              const [k, text] = [lines[i][0], lines[i].slice(1)];
              if (k === " " || k === "-") {
                expect(a[pos]).to.equal(text);
                pos++;
              }
              if (k === " " || k === "+") out.push(text);
              continue;
            }
            const start = Number(m[2]) === 0 ? Number(m[1]) : Number(m[1]) - 1;
            while (pos < start) out.push(a[pos++]);
          }
          while (pos < a.length) out.push(a[pos++]);
          expect(out).to.deep.equal(b);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("resourceDiff reports added, removed and changed resources by URN with the changed keys", () => {
    const r = (urn: string, inputs: Record<string, unknown>) => ({
      urn,
      type: "t",
      name: urn,
      inputs,
    });
    const d = resourceDiff(
      "dr",
      [r("a", { x: 1, y: { p: 1, q: 2 } }), r("b", { x: 1 }), r("c", { z: [1] })],
      [r("a", { y: { q: 2, p: 1 }, x: 2 }), r("c", { z: [1] }), r("d", {})],
    );
    expect(d.added.map((x) => x.urn)).to.deep.equal(["d"]);
    expect(d.removed.map((x) => x.urn)).to.deep.equal(["b"]);
    expect(d.changed).to.deep.equal([{ urn: "a", type: "t", name: "a", keys: ["x"] }]);
    expect(d.unchanged).to.equal(1);
  });
});

interface GeneratedTopology {
  readonly text: string;
  readonly pinned: boolean;
}

const REGIONS: readonly [string, string, string[]][] = [
  ["aws", "us-east-1", ["us-east-1a", "us-east-1b"]],
  ["aws", "us-west-2", ["us-west-2a", "us-west-2b"]],
  ["aws", "eu-central-1", ["eu-central-1a", "eu-central-1b"]],
  ["gcp", "europe-west1", ["europe-west1-b", "europe-west1-c"]],
  ["gcp", "asia-southeast1", ["asia-southeast1-a", "asia-southeast1-b"]],
  ["gcp", "us-central1", ["us-central1-a", "us-central1-b"]],
];

/** Valid topologies in varied YAML styles: block or flow site entries, role quoting, comments,
 * key order, services lists with or without postgres. */
function topologyArb(): fc.Arbitrary<GeneratedTopology> {
  const site = fc.record({
    style: fc.constantFrom("block", "flow"),
    quote: fc.constantFrom("", "'", '"'),
    comment: fc.constantFrom("", " # role of this site", "   #c"),
    roleFirst: fc.boolean(),
    postgres: fc.boolean(),
  });
  return fc
    .record({
      sites: fc.array(site, { minLength: 2, maxLength: REGIONS.length }),
      primary: fc.nat(),
      header: fc.constantFrom("", "# generated\n", "---\n# doc\n"),
      pinned: fc.boolean(),
    })
    .map(({ sites, primary, header, pinned }) => {
      const p = primary % sites.length;
      const lines: string[] = [
        `${header}name: gen`,
        "objectives:",
        "  node: { rto: 30s, rpo: 0s }",
        "  zone: { rto: 1m, rpo: 0s }",
        "  region: { rto: 15m, rpo: 1m }",
        "  full: { rto: 4h, rpo: 24h }",
        ...(pinned ? [`credentialsSite: s${p}`] : []),
        "sites:",
      ];
      sites.forEach((s, i) => {
        const [cloud, region, zones] = REGIONS[i];
        const role = `${s.quote}${i === p ? "primary" : "standby"}${s.quote}`;
        const services = i === p || s.postgres ? "validators, postgres" : "validators";
        const fields: [string, string][] = [
          ["name", `s${i}`],
          ["role", role],
          ["cloud", cloud],
          ["region", region],
          ["zones", `[${zones.join(", ")}]`],
          ["kubernetes", `{ context: ctx-${i} }`],
          ["services", `[${services}]`],
        ];
        if (s.roleFirst) fields.unshift(fields.splice(1, 1)[0]);
        if (s.style === "flow") {
          lines.push(`  - { ${fields.map(([k, v]) => `${k}: ${v}`).join(", ")} }${s.comment}`);
        } else {
          fields.forEach(([k, v], j) =>
            lines.push(`${j === 0 ? "  - " : "    "}${k}: ${v}${k === "role" ? s.comment : ""}`),
          );
        }
      });
      lines.push("validators:");
      sites.forEach((_s, i) =>
        lines.push(`  - { name: v${i}, site: s${i}, zone: ${REGIONS[i][2][0]}, votingPower: 1 }`),
      );
      return { text: lines.join("\n") + "\n", pinned };
    });
}
