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

/** Parses YAML text; throws a ConfigError with the line of every syntax error. */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          file,
          path: "",
          line: pos.line,
          column: pos.col,
          message: `YAML syntax error: ${e.message.split("\n")[0]}`,
          fix: "fix the YAML syntax at that line",
        };
      }),
      `${file} is not valid YAML`,
    );
  }
  return { value: doc.toJS({ maxAliasCount: 100 }), doc, lines };
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
