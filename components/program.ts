/**
 * The drstack Pulumi program: load and validate the network topology and the stack's settings
 * (every problem at once, before any resource is registered), then build the selected site.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_CONFIG_KEY, backupSettings } from "./backup/settings";
import { DrSite } from "./site/DrSite";
import { ConfigError, type Problem, Problems } from "./topology/errors";
import { loadNetwork, type ParsedYaml, parseYaml, stackConfigLine } from "./topology/load";
import type { Network, Site } from "./topology/model";
import { readStackSettings } from "./settings";
import { CONFIG_NAMESPACE, selectSite, type SiteSettings } from "./topology/siteConfig";

export interface LoadedStack {
  readonly network: Network;
  readonly site: Site;
  readonly settings: SiteSettings;
}

/** Validates a flat Pulumi config map and the topology it points at. Throws ConfigError. */
export function loadStackConfig(
  config: Readonly<Record<string, string>>,
  projectDir: string,
  stackFile?: string,
): LoadedStack {
  try {
    return loadStackConfigUnlined(config, projectDir, stackFile);
  } catch (e) {
    if (!(e instanceof ConfigError) || !stackFile) throw e;
    throw new ConfigError(withStackFileLines(e.problems, projectDir, stackFile), e.title);
  }
}

/** Gives problems in the stack file the line of the key they name (the file as Pulumi reads it). */
function withStackFileLines(
  problems: readonly Problem[],
  projectDir: string,
  stackFile: string,
): Problem[] {
  if (!problems.some((p) => p.file === stackFile && p.line === undefined)) return [...problems];
  let parsed: ParsedYaml;
  try {
    parsed = parseYaml(fs.readFileSync(path.resolve(projectDir, stackFile), "utf8"), stackFile);
  } catch {
    return [...problems];
  }
  return problems.map((p) => {
    if (p.file !== stackFile || p.line !== undefined) return p;
    const line = stackConfigLine(parsed, p.path, CONFIG_NAMESPACE);
    return line === undefined ? p : { ...p, line };
  });
}

function loadStackConfigUnlined(
  config: Readonly<Record<string, string>>,
  projectDir: string,
  stackFile?: string,
): LoadedStack {
  const problems = new Problems(stackFile);
  const settings = readStackSettings(config, problems);
  if (!settings) throw new ConfigError(problems.list, `${stackFile ?? "stack config"} is invalid`);
  const networkFile = path.resolve(projectDir, settings.network);
  let network: Network;
  try {
    network = loadNetwork(networkFile, path.relative(projectDir, networkFile) || networkFile);
  } catch (e) {
    // Report the stack's own problems together with the topology's.
    if (e instanceof ConfigError && problems.size > 0)
      throw new ConfigError([...problems.list, ...e.problems]);
    throw e;
  }
  const site = selectSite(network, settings, problems);
  // Settings that depend on the site (e.g. the backup replica region) are checked here too, so
  // every problem is reported before any resource is registered.
  if (site) backupSettings(site, settings.structured[BACKUP_CONFIG_KEY], problems);
  problems.throwIfAny(`${stackFile ?? "stack config"} is invalid`);
  return { network, site: site!, settings };
}

/** The program body for a project directory; the returned object becomes the stack's outputs. */
export async function drstackProgramFor(
  projectDir: string,
  stackFile?: string,
): Promise<Record<string, unknown>> {
  const stack = pulumi.getStack();
  const { network, site, settings } = loadStackConfig(
    pulumi.runtime.allConfig(),
    projectDir,
    stackFile ?? `stacks/Pulumi.${stack}.yaml`,
  );
  const drSite = new DrSite(site.name, { network, site, settings });
  return { ...drSite.facts };
}

/** The program as `pulumi up` runs it: the project directory is the working directory. */
export function drstackProgram(): Promise<Record<string, unknown>> {
  return drstackProgramFor(process.cwd());
}
