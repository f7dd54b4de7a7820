/**
 * The config flip: the change to `stacks/network.yaml` that a stack swap's pull request carries.
 * The target site's `role` becomes `primary` and the old primary's becomes `standby`. It is an
 * exact, minimal text edit: only the two role scalars change (their quoting style kept), so
 * comments and formatting are preserved and flipping back restores the file byte for byte. A
 * file that does not name its `credentialsSite` gets one line more: the pin to the old primary.
 * Pure; reads the text with the `yaml` Document API (node source ranges).
 */
import { isMap, isScalar, isSeq, type Node, type Pair, Scalar } from "yaml";
import { ConfigError, type Problem } from "../components/topology/errors";
import { lineOf, parseNetwork, parseYaml, type ParsedYaml } from "../components/topology/load";
import { hasService, type Network, type Site } from "../components/topology/model";
import { suggest } from "../components/topology/shape";

export interface RoleEdit {
  /** Field path, e.g. `sites[1].role`. */
  readonly path: string;
  /** 1-based line of the edited value. */
  readonly line: number;
  readonly site: string;
  readonly from: "primary" | "standby";
  readonly to: "primary" | "standby";
}

export interface RoleFlip {
  /** The new file text. */
  readonly text: string;
  /** The new topology (validated). */
  readonly network: Network;
  /** The old primary (now standby) and the target (now primary). */
  readonly oldPrimary: string;
  readonly newPrimary: string;
  readonly edits: readonly RoleEdit[];
  /**
   * Set when the file did not name its `credentialsSite`: the flip pins it to the old primary
   * (a line inserted before `sites:`), because the shared credentials stay with the stack that
   * generated them and must not move with the primary role.
   */
  readonly credentialsPin?: { readonly line: number; readonly site: string };
}

/** Where the site named `--to` (or `--site`) must be, as a problem naming the option and field. */
function badTarget(
  option: string,
  message: string,
  fix: string,
  extra?: Partial<Problem>,
): Problem {
  return { path: option, message, fix, ...extra };
}

/**
 * Checks that `target` can become the primary of `network`: it exists, is a standby and runs
 * postgres. Returns the problems (empty when it can); `option` names the command-line option.
 */
/** "did you mean X? " for a near miss among `names`, else "". */
function didYouMean(word: string, names: readonly string[]): string {
  const s = suggest(word, names);
  return s ? `did you mean ${s}? ` : "";
}

export function targetProblems(
  network: Network,
  target: string,
  file: string,
  option = "--to",
  parsed?: ParsedYaml,
): Problem[] {
  const index = network.sites.findIndex((s) => s.name === target);
  const names = network.sites.map((s) => s.name).join(", ");
  if (index < 0)
    return [
      badTarget(
        option,
        `no site named ${JSON.stringify(target)} in ${file}`,
        `${didYouMean(
          target,
          network.sites.map((s) => s.name),
        )}use one of: ${names}`,
      ),
    ];
  const site = network.sites[index];
  const at = (field: string) => {
    const path = `sites[${index}].${field}`;
    return {
      file,
      path,
      line: parsed ? lineOf(parsed, path) : undefined,
    };
  };
  if (site.role === "primary")
    return [
      badTarget(
        option,
        `${option} ${target}: site ${target} is already the primary`,
        `name a standby site: ${standbysWithPostgres(network).join(", ") || "(none runs postgres)"}`,
        at("role"),
      ),
    ];
  if (!hasService(site, "postgres"))
    return [
      badTarget(
        option,
        `${option} ${target}: site ${target} does not run postgres (services: [${site.services.join(", ")}]), so it cannot take the primary's writes`,
        `name a standby that runs postgres: ${standbysWithPostgres(network).join(", ") || "(none)"}, or add postgres to sites[${index}].services and deploy it first`,
        at("services"),
      ),
    ];
  return [];
}

export function standbysWithPostgres(network: Network): string[] {
  return network.sites
    .filter((s) => s.role === "standby" && hasService(s, "postgres"))
    .map((s) => s.name);
}

/**
 * Flips the roles so that `target` becomes the primary and the current primary a standby.
 * Throws a ConfigError (exit 2) naming the option and field when `target` cannot be primary, or
 * when the flipped topology is invalid (e.g. another standby in the target's region).
 */
export function flipRoles(
  text: string,
  target: string,
  file = "stacks/network.yaml",
  option = "--to",
): RoleFlip {
  const network = parseNetwork(text, file);
  const parsed = parseYaml(text, file);
  const problems = targetProblems(network, target, file, option, parsed);
  if (problems.length > 0) throw new ConfigError(problems, `cannot fail over to ${target}`);
  const oldPrimary = network.sites.find((s) => s.role === "primary")!;
  const edits: RoleEdit[] = [];
  const replacements: { start: number; end: number; text: string }[] = [];
  for (const [site, to] of [
    [oldPrimary, "standby"],
    [network.sites.find((s) => s.name === target)!, "primary"],
  ] as [Site, "primary" | "standby"][]) {
    const index = network.sites.indexOf(site);
    const node = roleNode(parsed, index);
    const [start, end] = node.range!;
    replacements.push({
      start,
      end,
      text: scalarSource(text.slice(start, end), node, to, `sites[${index}].role`),
    });
    edits.push({
      path: `sites[${index}].role`,
      line: parsed.lines.linePos(start).line,
      site: site.name,
      from: site.role,
      to,
    });
  }
  let credentialsPin: RoleFlip["credentialsPin"];
  if (network.credentialsSite === undefined) {
    const at = topLevelKeyStart(parsed, "sites");
    replacements.push({ start: at, end: at, text: `credentialsSite: ${oldPrimary.name}\n` });
    credentialsPin = { line: parsed.lines.linePos(at).line, site: oldPrimary.name };
  }
  let out = text;
  for (const r of replacements.sort((a, b) => b.start - a.start))
    out = out.slice(0, r.start) + r.text + out.slice(r.end);
  let flipped: Network;
  try {
    flipped = parseNetwork(out, file);
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(
        e.problems.map((p) => ({ ...p, message: `after making ${target} primary: ${p.message}` })),
        `cannot fail over to ${target}: the flipped topology is invalid`,
      );
    throw e;
  }
  edits.sort((a, b) => a.line - b.line);
  // Role lines after the inserted pin moved down by one.
  const shifted = credentialsPin
    ? edits.map((e) => (e.line >= credentialsPin.line ? { ...e, line: e.line + 1 } : e))
    : edits;
  return {
    text: out,
    network: flipped,
    oldPrimary: oldPrimary.name,
    newPrimary: target,
    edits: shifted,
    ...(credentialsPin ? { credentialsPin } : {}),
  };
}

/** Offset of the start of the line holding top-level key `key` (a block mapping at column 1). */
function topLevelKeyStart(parsed: ParsedYaml, key: string): number {
  const root = parsed.doc.contents;
  const pair = isMap(root)
    ? (root.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === key)
    : undefined;
  const start = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  if (!isMap(root) || root.flow || start === undefined || parsed.lines.linePos(start).col !== 1)
    throw new ConfigError([
      {
        path: "credentialsSite",
        message:
          "is not set and the file is not a block mapping the flip can add it to: the shared credentials must stay with the current primary's stack",
        fix: `add credentialsSite: <the current primary> at the top level of the file, then fail over`,
      },
    ]);
  return start;
}

/** The scalar node holding `sites[index].role`. */
function roleNode(parsed: ParsedYaml, index: number): Scalar {
  const root = parsed.doc.contents;
  const sites = isMap(root) ? root.get("sites", true) : undefined;
  const item: unknown = isSeq(sites) ? sites.items[index] : undefined;
  const pair = isMap(item)
    ? (item.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === "role")
    : undefined;
  const value = pair?.value;
  if (!isScalar(value) || !value.range)
    throw new ConfigError([
      {
        path: `sites[${index}].role`,
        message: "is not a plain value (an alias or a tag?): the flip edits it in place",
        fix: "write it as role: primary or role: standby",
      },
    ]);
  return value;
}

/** The source text of `value` written in the same style as `source` (plain, '…' or "…"). */
function scalarSource(source: string, node: Scalar, value: string, path: string): string {
  switch (node.type) {
    case Scalar.QUOTE_DOUBLE:
      return JSON.stringify(value);
    case Scalar.QUOTE_SINGLE:
      return `'${value}'`;
    case Scalar.PLAIN:
      return value;
    default:
      throw new ConfigError([
        {
          path,
          message: `role written as a ${String(node.type)} scalar (${JSON.stringify(source)}): the flip edits plain or quoted values only`,
          fix: "write it as role: primary or role: standby",
        },
      ]);
  }
}
