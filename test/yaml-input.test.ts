/**
 * Anything the YAML parser refuses (syntax, alias expansion, nesting depth, size) is bad input:
 * exit 2 with the file and line where known, never a stack trace, "internal error" or exit 3.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ConfigError } from "../components/topology/errors";
import { parseNetwork, parseYaml, YAML_LIMITS } from "../components/topology/load";
import { runCli, tempFile } from "./support/project";

const aliasBomb =
  "a: &a [x, x, x, x, x, x, x, x, x]\n" +
  Array.from({ length: 8 }, (_, i) => {
    const [n, p] = [String.fromCharCode(98 + i), String.fromCharCode(97 + i)];
    return `${n}: &${n} [${Array(9).fill(`*${p}`).join(", ")}]\n`;
  }).join("");

const CASES: { name: string; text: string; message: RegExp; line?: number }[] = [
  { name: "a syntax error", text: "name: x\nsites: [\n", message: /YAML syntax error/, line: 3 },
  { name: "tabs", text: "name: x\n\tsites: 1\n", message: /Tabs/, line: 2 },
  { name: "a duplicate key", text: "name: x\nname: y\n", message: /unique/i, line: 2 },
  { name: "an alias bomb", text: aliasBomb, message: /aliases expand too far/ },
  {
    name: "flow nesting past the parser's stack",
    text: "name: x\nsites: " + "[".repeat(20000) + "]".repeat(20000) + "\n",
    message: /nested too deeply/,
    line: 2,
  },
  {
    name: "nesting past the limit",
    text:
      "name: x\nsites:\n" +
      Array.from({ length: 80 }, (_, i) => `${" ".repeat(i + 1)}k${i}:\n`).join(""),
    message: /nested \d+ levels deep/,
  },
  {
    name: "a file larger than any topology",
    text: "name: x\n# " + "x".repeat(YAML_LIMITS.maxBytes) + "\n",
    message: /more than drstack reads/,
  },
  { name: "two documents", text: "name: x\n---\nname: y\n", message: /multiple documents/ },
];

describe("YAML the parser refuses is bad input", () => {
  for (const c of CASES)
    it(`${c.name}: a ConfigError with the file${c.line ? " and line" : ""}`, () => {
      let err: unknown;
      try {
        parseYaml(c.text, "net.yaml");
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      const p = (err as ConfigError).problems[0];
      expect(p.file).to.equal("net.yaml");
      expect(p.message).to.match(c.message);
      expect(p.fix).to.be.a("string").and.not.equal("");
      if (c.line) expect(p.line).to.equal(c.line);
    });

  it("the CLI exits 2 on each, naming the file, with no stack trace", function () {
    this.timeout(300_000);
    for (const c of CASES) {
      const file = tempFile("network.yaml", c.text);
      const r = runCli(["plan", "--all", "--network", file]);
      expect(r.code, `${c.name}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, c.name).to.include(file);
      expect(r.stderr, c.name).to.match(c.message);
      expect(r.stderr, c.name).not.to.match(/internal error|\n\s+at /);
    }
  });

  it("any text at all gives a network or a ConfigError, never another error", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .array(
              fc.constantFrom(
                "a:",
                " ",
                "\n",
                "- ",
                "[",
                "]",
                "{",
                "}",
                "&x",
                "*x",
                "!!str",
                "'",
                '"',
                ":",
                "#",
                "\t",
                "---",
              ),
              { maxLength: 60 },
            )
            .map((a) => a.join("")),
        ),
        (text) => {
          try {
            parseNetwork(text, "fuzz.yaml");
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
