/**
 * The settings the drill runs: exactly what `pulumi up` would deploy for the primary site and
 * its DR site (the `drstack:postgres` / `drstack:redis` keys of their stack files, normalized by
 * the components' own functions), plus the network's recovery objectives.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { normalizePostgresSettings, type PostgresSettings } from "../components/postgres/settings";
import { normalizeRedisSettings, type RedisSettings } from "../components/redis/settings";
import { ConfigError, Problems } from "../components/topology/errors";
import { loadNetwork, parseYaml } from "../components/topology/load";
import { hasService, type Network, type Site } from "../components/topology/model";

export interface DrillSettings {
  readonly network: Network;
  readonly networkFile: string;
  readonly primarySite: Site;
  readonly standbySite: Site;
  readonly primaryPostgres: PostgresSettings;
  readonly standbyPostgres: PostgresSettings;
  readonly redis: RedisSettings;
}

function stackConfig(projectDir: string, site: string): Record<string, unknown> {
  const file = path.join(projectDir, "stacks", `Pulumi.${site}.yaml`);
  if (!fs.existsSync(file)) return {};
  const doc = parseYaml(fs.readFileSync(file, "utf8"), path.relative(projectDir, file)).value as {
    config?: Record<string, unknown>;
  } | null;
  return doc?.config ?? {};
}

/** Loads the network and the primary + first standby site's settings; ConfigError on problems. */
export function loadDrillSettings(projectDir: string, networkFile?: string): DrillSettings {
  const primaryConfig = (site: string) => stackConfig(projectDir, site);
  const file = path.resolve(
    projectDir,
    networkFile ??
      (() => {
        // The network file the primary stack names, else the shipped one.
        const stacks = fs.existsSync(path.join(projectDir, "stacks"))
          ? fs.readdirSync(path.join(projectDir, "stacks"))
          : [];
        for (const f of stacks) {
          const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
          const n = m ? primaryConfig(m[1])["drstack:network"] : undefined;
          if (typeof n === "string") return n;
        }
        return "stacks/network.yaml";
      })(),
  );
  const network = loadNetwork(file, path.relative(projectDir, file));
  const problems = new Problems();
  const primarySite = network.sites.find((s) => s.role === "primary");
  const standbySite = network.sites.find((s) => s.role === "standby" && hasService(s, "postgres"));
  if (!primarySite || !standbySite) {
    problems.add(
      "sites",
      "the drill needs a primary site and a standby site that runs postgres",
      "add a standby site with services including postgres",
    );
    throw new ConfigError(problems.list);
  }
  const pc = primaryConfig(primarySite.name);
  const sc = primaryConfig(standbySite.name);
  const primaryPostgres = normalizePostgresSettings(
    pc["drstack:postgres"],
    network,
    primarySite,
    problems,
    `stacks/Pulumi.${primarySite.name}.yaml: drstack:postgres`,
  );
  const standbyPostgres = normalizePostgresSettings(
    sc["drstack:postgres"],
    network,
    standbySite,
    problems,
    `stacks/Pulumi.${standbySite.name}.yaml: drstack:postgres`,
  );
  const redis = normalizeRedisSettings(
    pc["drstack:redis"],
    problems,
    `stacks/Pulumi.${primarySite.name}.yaml: drstack:redis`,
  );
  if (problems.list.length > 0) throw new ConfigError(problems.list);
  return {
    network,
    networkFile: path.relative(projectDir, file),
    primarySite,
    standbySite,
    primaryPostgres,
    standbyPostgres,
    redis,
  };
}
