/**
 * Reading YAML files with line numbers: syntax errors carry their line, and every validation
 * problem is given the line of the field it names.
 */
import * as fs from "node:fs";
import { type Document, isMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type Problem, Problems } from "./errors";
import type { Network } from "./model";
import { collectNetworkProblems } from "./validate";

export interface ParsedYaml {
  readonly value: unknown;
  readonly doc: Document;
  readonly lines: LineCounter;
}

/** Limits on what drstack reads as configuration (a network file is a few kilobytes). */
export const YAML_LIMITS = { maxBytes: 1024 * 1024, maxDepth: 64, maxAliasCount: 100 } as const;

function yamlProblem(file: string, message: string, fix: string, line?: number): ConfigError {
  return new ConfigError([{ file, path: "", line, message, fix }], `${file} is not valid YAML`);
}

/** Nesting depth of the parsed document (iterative: deep input must not exhaust the stack). */
function depthOf(root: unknown): { depth: number; offset?: number } {
  let max = 0;
  let at: number | undefined;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [node, d] = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (d + 1 > max) {
        max = d + 1;
        at = node.range?.[0];
      }
      for (const item of node.items as unknown[])
        if (isMap(node)) stack.push([(item as { value?: unknown }).value, d + 1]);
        else stack.push([item, d + 1]);
    }
  }
  return { depth: max, offset: at };
}

/**
 * Parses YAML text; throws a ConfigError (bad input, exit 2) with the line of every syntax error,
 * and for input the parser refuses or that exceeds {@link YAML_LIMITS}: size, nesting depth,
 * alias expansion (a "billion laughs" document).
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > YAML_LIMITS.maxBytes)
    throw yamlProblem(
      file,
      `the file is ${bytes} bytes, more than drstack reads (${YAML_LIMITS.maxBytes})`,
      "check that this is the right file; a topology or stack file is a few kilobytes",
    );
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    throw yamlProblem(
      file,
      `YAML the parser cannot read: ${(e as Error).message}`,
      "simplify the file: fewer nesting levels, no unusual constructs",
    );
  }
  if (doc.errors.length > 0) {
    // One syntax error, one message: the parser's later errors follow from the first (a tab or
    // an unclosed bracket derails every line after it), so only the first is reported.
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    const tooDeep = /call stack/i.test(e.message);
    const more = doc.errors.length - 1;
    throw new ConfigError(
      [
        {
          file,
          path: "",
          line: pos.line,
          column: pos.col,
          message: tooDeep
            ? "YAML nested too deeply for the parser"
            : `YAML syntax error: ${e.message.split("\n")[0]}`,
          fix: tooDeep
            ? `nest at most ${YAML_LIMITS.maxDepth} levels`
            : `fix the YAML syntax at line ${pos.line}, column ${pos.col}` +
              (more > 0
                ? ` (the parser's ${more} later complaint${more === 1 ? "" : "s"} follow from it)`
                : ""),
        },
      ],
      `${file} is not valid YAML`,
    );
  }
  const { depth, offset } = depthOf(doc.contents);
  if (depth > YAML_LIMITS.maxDepth)
    throw yamlProblem(
      file,
      `YAML nested ${depth} levels deep, more than drstack reads (${YAML_LIMITS.maxDepth})`,
      `nest at most ${YAML_LIMITS.maxDepth} levels`,
      offset === undefined ? undefined : lines.linePos(offset).line,
    );
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (e) {
    const alias = /alias/i.test((e as Error).message);
    throw yamlProblem(
      file,
      alias
        ? `YAML aliases expand too far (${(e as Error).message})`
        : `YAML the parser cannot read: ${(e as Error).message}`,
      alias
        ? `write the values out, or use fewer aliases (at most ${YAML_LIMITS.maxAliasCount} expansions)`
        : "fix the YAML at that line",
    );
  }
  return { value, doc, lines };
}

/** Splits `sites[1].zones` into `["sites", 1, "zones"]`. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
    out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

/** Line of the deepest node that exists on `path` (the key, for mapping entries). */
export function lineOf(parsed: ParsedYaml, path: string): number | undefined {
  let node: unknown = parsed.doc.contents;
  let offset: number | undefined = (node as Node | null)?.range?.[0];
  for (const part of splitPath(path)) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(part),
      );
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === "number" && node.items[part] !== undefined) {
      node = node.items[part];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : parsed.lines.linePos(offset).line;
}

/**
 * Line of a field of a Pulumi stack file, named as `config.<key>[.<sub>...]`: the key may be
 * written flat (`drstack:postgres.members: 3`, as `pulumi config set` without `--path` writes it)
 * or nested (`drstack:postgres: { members: 3 }`, as `--path` writes it), with or without the
 * project's namespace; the longest key present wins.
 */
export function stackConfigLine(
  parsed: ParsedYaml,
  path: string,
  namespace: string,
): number | undefined {
  const root = parsed.doc.contents;
  if (!isMap(root)) return undefined;
  const configPair = root.items.find((p) => (p.key as { value?: unknown })?.value === "config");
  if (!configPair) return undefined;
  const line = (n: Node | null | undefined) =>
    n?.range ? parsed.lines.linePos(n.range[0]).line : undefined;
  const rest = path.startsWith("config.") ? path.slice("config.".length) : "";
  const config = configPair.value;
  if (!rest || !isMap(config)) return line(configPair.key as Node);
  let best: { pair: (typeof config.items)[number]; len: number } | undefined;
  for (const pair of config.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    for (const k of [key, key.includes(":") ? key : `${namespace}:${key}`]) {
      const matches = rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`);
      if (matches && (!best || k.length > best.len)) best = { pair, len: k.length };
    }
  }
  // A key the file does not hold (set another way, e.g. by a test or the environment): no line.
  if (!best) return undefined;
  let node: unknown = best.pair.value;
  let at = line(best.pair.key as Node);
  for (const part of splitPath(rest.slice(best.len))) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(part),
      );
      if (!pair) break;
      at = line(pair.key as Node) ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof part === "number" && node.items[part] !== undefined) {
      node = node.items[part];
      at = line(node as Node) ?? at;
    } else break;
  }
  return at;
}

/** Adds line numbers to problems that name a field of `parsed`. */
export function withLines(problems: readonly Problem[], parsed: ParsedYaml): Problem[] {
  return problems.map((p) => (p.line === undefined ? { ...p, line: lineOf(parsed, p.path) } : p));
}

// Parsing is pure: the same text gives the same model, so repeated loads (one per stack) reuse it.
const parsedNetworks = new Map<string, Network>();
const MAX_CACHED = 16;

/** Parses and validates network topology text; every problem in one ConfigError. */
export function parseNetwork(text: string, file = "stacks/network.yaml"): Network {
  const key = `${file}\0${text}`;
  const cached = parsedNetworks.get(key);
  if (cached) return cached;
  const network = parseNetworkUncached(text, file);
  if (parsedNetworks.size >= MAX_CACHED) parsedNetworks.delete(parsedNetworks.keys().next().value!);
  parsedNetworks.set(key, network);
  return network;
}

function parseNetworkUncached(text: string, file: string): Network {
  const parsed = parseYaml(text, file);
  const problems = new Problems(file);
  const network = collectNetworkProblems(parsed.value, problems);
  if (problems.size > 0 || !network) {
    throw new ConfigError(withLines(problems.list, parsed), `${file} is invalid`);
  }
  return network;
}

/** Reads, parses and validates the network topology file. */
export function loadNetwork(file: string, displayName = file): Network {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError([
      {
        file: displayName,
        path: "",
        message: `cannot read the network topology: ${err.code ?? err.message}`,
        fix: "check the path (config drstack:network or --network)",
      },
    ]);
  }
  return parseNetwork(text, displayName);
}
