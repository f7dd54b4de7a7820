/**
 * Validation of the network topology. Collects every problem (shape first, then the rules
 * between fields) with its field path and the fix; returns the typed model only when there are
 * none.
 */
import { fieldPath, Problems } from "./errors";
import {
  type Chain,
  CLOUDS,
  DEFAULT_GENESIS_TIME,
  type Network,
  type Objective,
  parseDuration,
  PUB_KEY_PATTERN,
  type Party,
  REQUIRED_SCENARIOS,
  SCENARIOS,
  type Scenario,
  SERVICES,
  type Site,
  SITE_ROLES,
  type Validator,
} from "./model";
import { exampleRegion, exampleZones, isRegionName, zoneBelongsToRegion } from "./names";
import { checkShape, isPlainObject, suggest, type Shape } from "./shape";
import { MANAGED_SHAPE, normalizeManaged } from "./managedCluster";

const NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME_HINT = "use lower-case letters, digits and '-', starting with a letter (a DNS label)";
const PUB_KEY_SHAPE: Shape = {
  kind: "string",
  pattern: PUB_KEY_PATTERN,
  hint: "a base64 ed25519 public key (32 bytes), as `drstack validators keygen` prints it",
};
const name: Shape = { kind: "string", pattern: NAME, hint: NAME_HINT };
const duration: Shape = {
  kind: "string",
  pattern: /^\d+(ms|s|m|h|d)$/,
  hint: "write a duration such as 500ms, 30s, 5m, 4h or 1d",
};

export const NETWORK_SHAPE: Shape = {
  kind: "object",
  fields: {
    name: { shape: name, required: true },
    credentialsSite: { shape: name },
    objectives: {
      required: true,
      shape: {
        kind: "object",
        fields: Object.fromEntries(
          SCENARIOS.map((s) => [
            s,
            {
              required: REQUIRED_SCENARIOS.includes(s),
              shape: {
                kind: "object",
                fields: {
                  rto: { shape: duration, required: true },
                  rpo: { shape: duration, required: true },
                },
              },
            },
          ]),
        ),
      },
    },
    sites: {
      required: true,
      shape: {
        kind: "array",
        minItems: 1,
        items: {
          kind: "object",
          fields: {
            name: { shape: name, required: true },
            role: { shape: { kind: "string", enum: SITE_ROLES }, required: true },
            cloud: { shape: { kind: "string", enum: CLOUDS }, required: true },
            region: { shape: { kind: "string" }, required: true },
            zones: { shape: { kind: "array", items: { kind: "string" } }, required: true },
            kubernetes: {
              required: true,
              shape: {
                kind: "object",
                fields: {
                  context: { shape: { kind: "string" } },
                  kubeconfig: { shape: { kind: "string" } },
                  stackOutput: {
                    shape: {
                      kind: "object",
                      fields: {
                        stack: {
                          shape: { kind: "string", pattern: /^[A-Za-z0-9_./-]+$/ },
                          required: true,
                        },
                        output: {
                          shape: { kind: "string", pattern: /^[A-Za-z_][A-Za-z0-9_]*$/ },
                          required: true,
                        },
                      },
                    },
                  },
                  managed: { shape: MANAGED_SHAPE },
                },
              },
            },
            services: {
              shape: { kind: "array", minItems: 1, items: { kind: "string", enum: SERVICES } },
            },
          },
        },
      },
    },
    chain: {
      shape: {
        kind: "object",
        fields: {
          id: {
            shape: {
              kind: "string",
              pattern: /^[A-Za-z0-9._-]{1,50}$/,
              hint: "at most 50 of A-Z a-z 0-9 . _ -",
            },
          },
          genesisTime: {
            shape: {
              kind: "string",
              pattern: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/,
              hint: "an RFC 3339 UTC time such as 2026-01-01T00:00:00Z",
            },
          },
          genesis: {
            shape: {
              kind: "object",
              fields: {
                file: { shape: { kind: "string" }, required: true },
                sha256: {
                  shape: {
                    kind: "string",
                    pattern: /^[0-9a-f]{64}$/,
                    hint: "64 lower-case hex digits (sha256sum)",
                  },
                  required: true,
                },
              },
            },
          },
        },
      },
    },
    validators: {
      required: true,
      shape: {
        kind: "array",
        items: {
          kind: "object",
          fields: {
            name: { shape: name, required: true },
            site: { shape: { kind: "string" }, required: true },
            zone: { shape: { kind: "string" }, required: true },
            votingPower: { shape: { kind: "integer", min: 1 }, required: true },
            parties: { shape: { kind: "array", items: { kind: "string" } } },
            keys: {
              shape: {
                kind: "object",
                fields: {
                  validator: { shape: PUB_KEY_SHAPE, required: true },
                  node: { shape: PUB_KEY_SHAPE, required: true },
                },
              },
            },
          },
        },
      },
    },
    parties: {
      shape: {
        kind: "array",
        items: {
          kind: "object",
          fields: {
            name: {
              shape: { kind: "string", pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/ },
              required: true,
            },
            threshold: { shape: { kind: "integer", min: 1 }, required: true },
          },
        },
      },
    },
  },
};

/** Validates parsed YAML; returns the model, or throws a ConfigError listing every problem. */
export function validateNetwork(doc: unknown, file?: string): Network {
  const problems = new Problems(file);
  const network = collectNetworkProblems(doc, problems);
  problems.throwIfAny(`${file ?? "network topology"} is invalid`);
  return network as Network;
}

/** Adds every problem of `doc` to `problems`; returns the model when the shape allowed building it. */
export function collectNetworkProblems(doc: unknown, problems: Problems): Network | undefined {
  if (!isPlainObject(doc)) {
    problems.add(
      "",
      `the network topology must be a mapping, got ${doc === null ? "an empty document" : typeof doc}`,
      "start from the example in stacks/network.yaml",
    );
    return undefined;
  }
  checkShape(doc, NETWORK_SHAPE, "", problems);
  // Rules between fields run on whatever is well-formed, so one run reports everything.
  const sites = arrayOf(doc.sites).map(normalizeSite);
  const validators = arrayOf(doc.validators).map(normalizeValidator);
  const parties = arrayOf(doc.parties).map(normalizeParty);

  checkUniqueNames("sites", sites, problems);
  checkUniqueNames("validators", validators, problems);
  checkUniqueNames("parties", parties, problems);
  checkSites(sites, problems);
  checkValidators(sites, validators, problems);
  checkParties(validators, parties, problems);
  checkCredentialsSite(doc.credentialsSite, sites, problems);
  const objectives = normalizeObjectives(doc.objectives);

  if (problems.size > 0) return undefined;
  return {
    name: doc.name as string,
    ...(typeof doc.credentialsSite === "string" ? { credentialsSite: doc.credentialsSite } : {}),
    sites: sites as Site[],
    ...(isPlainObject(doc.chain) ? { chain: normalizeChain(doc.chain, doc.name as string) } : {}),
    validators: validators as Validator[],
    parties: parties as Party[],
    objectives,
  };
}

type Loose<T> = { [K in keyof T]?: unknown } & { index: number };

function arrayOf(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map((x) => (isPlainObject(x) ? x : {})) : [];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function normalizeSite(raw: Record<string, unknown>, index: number): Loose<Site> {
  const k8s = isPlainObject(raw.kubernetes) ? raw.kubernetes : {};
  return {
    index,
    name: raw.name,
    role: raw.role,
    cloud: raw.cloud,
    region: raw.region,
    zones: Array.isArray(raw.zones) ? raw.zones : [],
    kubernetes: {
      ...(str(k8s.context) !== undefined ? { context: k8s.context } : {}),
      ...(str(k8s.kubeconfig) !== undefined ? { kubeconfig: k8s.kubeconfig } : {}),
      ...(isPlainObject(k8s.stackOutput) ? { stackOutput: k8s.stackOutput } : {}),
      ...(isPlainObject(k8s.managed) ? { managed: k8s.managed } : {}),
    },
    services: Array.isArray(raw.services) ? raw.services : [...SERVICES],
  };
}

function normalizeValidator(raw: Record<string, unknown>, index: number): Loose<Validator> {
  return {
    index,
    name: raw.name,
    site: raw.site,
    zone: raw.zone,
    votingPower: raw.votingPower,
    parties: Array.isArray(raw.parties) ? raw.parties : [],
    ...(isPlainObject(raw.keys)
      ? { keys: { validator: raw.keys.validator, node: raw.keys.node } }
      : {}),
  };
}

function normalizeChain(raw: Record<string, unknown>, network: string): Chain {
  const g = isPlainObject(raw.genesis) ? raw.genesis : undefined;
  return {
    id: typeof raw.id === "string" ? raw.id : network,
    genesisTime: typeof raw.genesisTime === "string" ? raw.genesisTime : DEFAULT_GENESIS_TIME,
    ...(g ? { genesis: { file: g.file as string, sha256: g.sha256 as string } } : {}),
  };
}

function normalizeParty(raw: Record<string, unknown>, index: number): Loose<Party> {
  return { index, name: raw.name, threshold: raw.threshold };
}

function normalizeObjectives(raw: unknown): Partial<Record<Scenario, Objective>> {
  const out: Partial<Record<Scenario, Objective>> = {};
  if (!isPlainObject(raw)) return out;
  for (const s of SCENARIOS) {
    const o = raw[s];
    if (!isPlainObject(o) || typeof o.rto !== "string" || typeof o.rpo !== "string") continue;
    const rto = parseDuration(o.rto);
    const rpo = parseDuration(o.rpo);
    if (rto === undefined || rpo === undefined) continue;
    out[s] = { rto: o.rto, rpo: o.rpo, rtoSeconds: rto, rpoSeconds: rpo };
  }
  return out;
}

function checkUniqueNames(
  list: string,
  items: { name?: unknown; index: number }[],
  problems: Problems,
): void {
  const seen = new Map<string, number>();
  for (const item of items) {
    if (typeof item.name !== "string") continue;
    const first = seen.get(item.name);
    if (first !== undefined) {
      problems.add(
        fieldPath(list, item.index, "name"),
        `duplicate name ${JSON.stringify(item.name)} (also ${fieldPath(list, first)})`,
        "give every entry a unique name",
      );
    } else seen.set(item.name, item.index);
  }
}

/**
 * The site whose stack generates the data services' shared credentials must exist and run every
 * data service (postgres, redis) that some site of the network runs: the others read them from it.
 */
function checkCredentialsSite(value: unknown, sites: Loose<Site>[], problems: Problems): void {
  const named = typeof value === "string";
  const owner = named
    ? sites.find((s) => s.name === value)
    : sites.filter((s) => s.role === "primary").length === 1
      ? sites.find((s) => s.role === "primary")
      : undefined;
  const siteNames = sites.map((s) => s.name).filter((n): n is string => typeof n === "string");
  if (named && !owner) {
    const guess = suggest(value as string, siteNames);
    problems.add(
      "credentialsSite",
      `no site named ${JSON.stringify(value)}`,
      guess ? `did you mean ${JSON.stringify(guess)}?` : `use one of: ${siteNames.join(", ")}`,
    );
    return;
  }
  if (!owner || !Array.isArray(owner.services)) return;
  const shared = (["postgres", "redis"] as const).filter((svc) =>
    sites.some((s) => Array.isArray(s.services) && s.services.includes(svc)),
  );
  const lacking = shared.filter((svc) => !(owner.services as unknown[]).includes(svc));
  if (lacking.length > 0)
    problems.add(
      named ? "credentialsSite" : fieldPath("sites", owner.index, "services"),
      `site ${String(owner.name)} generates the shared credentials${named ? "" : " (the primary, as credentialsSite is not set)"} but does not run ${lacking.join(" and ")}, which other sites run`,
      named
        ? `name a site that runs ${shared.join(" and ")}`
        : `add ${lacking.join(" and ")} to its services, or set credentialsSite to a site that runs ${shared.join(" and ")}`,
    );
}

function checkSites(sites: Loose<Site>[], problems: Problems): void {
  const primaries = sites.filter((s) => s.role === "primary");
  if (sites.length > 0 && primaries.length !== 1) {
    problems.add(
      "sites",
      `need exactly one site with role primary, got ${primaries.length}${primaries.length ? ` (${primaries.map((s) => String(s.name)).join(", ")})` : ""}`,
      primaries.length
        ? "set role: standby on all but one of them"
        : "set role: primary on the site that takes writes",
    );
  }
  const primary = primaries.length === 1 ? primaries[0] : undefined;
  const contexts = new Map<string, number>();
  for (const site of sites) {
    const at = (...p: (string | number)[]) => fieldPath("sites", site.index, ...p);
    const cloud = (CLOUDS as readonly unknown[]).includes(site.cloud)
      ? (site.cloud as Site["cloud"])
      : undefined;
    const region = str(site.region);
    const zones = site.zones as unknown[];
    if (cloud && region !== undefined && !isRegionName(cloud, region)) {
      problems.add(
        at("region"),
        `${JSON.stringify(region)} is not a ${cloud.toUpperCase()} region name`,
        `use a region such as ${exampleRegion(cloud)}`,
      );
    }
    if (zones.length < 2) {
      problems.add(
        at("zones"),
        `need at least 2 zones, got ${zones.length}`,
        cloud && region
          ? `list two or more zones of ${region}, e.g. ${exampleZones(cloud, region).join(", ")}`
          : "list two or more zones of the site's region",
      );
    }
    const seenZones = new Set<string>();
    zones.forEach((z, i) => {
      if (typeof z !== "string") return;
      if (seenZones.has(z))
        problems.add(
          at("zones", i),
          `zone ${JSON.stringify(z)} is listed twice`,
          "list each zone once",
        );
      seenZones.add(z);
      if (
        cloud &&
        region !== undefined &&
        isRegionName(cloud, region) &&
        !zoneBelongsToRegion(cloud, region, z)
      ) {
        problems.add(
          at("zones", i),
          `zone ${JSON.stringify(z)} is not in region ${region}`,
          `use zones of ${region}, e.g. ${exampleZones(cloud, region).join(", ")}`,
        );
      }
    });
    if (
      primary &&
      site !== primary &&
      site.role === "standby" &&
      site.cloud === primary.cloud &&
      site.region === primary.region &&
      region !== undefined
    ) {
      problems.add(
        at("region"),
        `standby site ${String(site.name)} is in the primary's region ${region}: losing that region loses both`,
        `move ${String(site.name)} to another region (or cloud)`,
      );
    }
    const ctx = site.kubernetes as {
      context?: string;
      kubeconfig?: string;
      stackOutput?: unknown;
      managed?: unknown;
    };
    const ways = (["context", "kubeconfig", "stackOutput", "managed"] as const).filter(
      (k) => ctx[k] !== undefined,
    );
    if (ctx.managed !== undefined && ways.length > 1)
      problems.add(
        at("kubernetes"),
        `managed creates the cluster; it cannot be combined with ${ways.filter((w) => w !== "managed").join(", ")}`,
        "keep managed (the stack creates the cluster) or the bring-your-own keys, not both",
      );
    if (ctx.stackOutput !== undefined && ctx.kubeconfig !== undefined)
      problems.add(
        at("kubernetes", "stackOutput"),
        "the kubeconfig comes from either a file or another stack's output",
        "remove kubeconfig or stackOutput",
      );
    if (ctx.managed !== undefined && cloud) {
      (site.kubernetes as Record<string, unknown>).managed = normalizeManaged(
        ctx.managed,
        cloud,
        zones.filter((z): z is string => typeof z === "string"),
        at("kubernetes", "managed"),
        problems,
      );
    }
    if (ctx.context !== undefined) {
      const key = `${ctx.kubeconfig ?? ""}#${ctx.context}`;
      const other = contexts.get(key);
      if (other !== undefined)
        problems.add(
          at("kubernetes", "context"),
          `same cluster as sites[${other}]: two sites on one cluster fail together`,
          "give each site its own cluster",
        );
      else contexts.set(key, site.index);
    }
    const services = site.services as unknown[];
    if (new Set(services).size !== services.length)
      problems.add(at("services"), "lists a service twice", "list each service once");
    if (
      site.role === "primary" &&
      Array.isArray(services) &&
      !(["postgres"] as unknown[]).some((s) => services.includes(s))
    ) {
      problems.add(
        at("services"),
        "the primary site must run postgres (it holds the data that standbys follow)",
        "add postgres to services, or make another site primary",
      );
    }
  }
}

function checkValidators(
  sites: Loose<Site>[],
  validators: Loose<Validator>[],
  problems: Problems,
): void {
  const siteNames = sites.map((s) => s.name).filter((n): n is string => typeof n === "string");
  for (const v of validators) {
    const at = (...p: (string | number)[]) => fieldPath("validators", v.index, ...p);
    if (typeof v.site !== "string") continue;
    const site = sites.find((s) => s.name === v.site);
    if (!site) {
      problems.add(
        at("site"),
        `unknown site ${JSON.stringify(v.site)}`,
        siteNames.length ? `use one of: ${siteNames.join(", ")}` : "declare the site under sites",
      );
      continue;
    }
    const services = site.services as unknown[];
    if (Array.isArray(services) && !services.includes("validators")) {
      problems.add(
        at("site"),
        `site ${v.site} does not run the validators service`,
        `add validators to sites[${site.index}].services`,
      );
    }
    const zones = (site.zones as unknown[]).filter((z): z is string => typeof z === "string");
    if (typeof v.zone === "string" && !zones.includes(v.zone)) {
      problems.add(
        at("zone"),
        `zone ${JSON.stringify(v.zone)} is not a zone of site ${v.site}`,
        zones.length ? `use one of: ${zones.join(", ")}` : `declare zones on site ${v.site}`,
      );
    }
  }
}

function checkParties(
  validators: Loose<Validator>[],
  parties: Loose<Party>[],
  problems: Problems,
): void {
  const partyNames = parties.map((p) => p.name).filter((n): n is string => typeof n === "string");
  const hosts = new Map<string, number>();
  for (const v of validators) {
    const list = v.parties as unknown[];
    const seen = new Set<unknown>();
    list.forEach((p, i) => {
      if (typeof p !== "string") return;
      if (seen.has(p)) {
        problems.add(
          fieldPath("validators", v.index, "parties", i),
          `party ${JSON.stringify(p)} is listed twice`,
          "list each party once",
        );
        return;
      }
      seen.add(p);
      if (!partyNames.includes(p)) {
        problems.add(
          fieldPath("validators", v.index, "parties", i),
          `unknown party ${JSON.stringify(p)}`,
          `declare it under parties with a threshold${partyNames.length ? `, or use one of: ${partyNames.join(", ")}` : ""}`,
        );
        return;
      }
      hosts.set(p, (hosts.get(p) ?? 0) + 1);
    });
  }
  for (const party of parties) {
    if (typeof party.name !== "string" || typeof party.threshold !== "number") continue;
    const n = hosts.get(party.name) ?? 0;
    if (party.threshold > n) {
      problems.add(
        fieldPath("parties", party.index, "threshold"),
        `threshold ${party.threshold} is larger than the ${n} validator${n === 1 ? "" : "s"} hosting party ${party.name}`,
        n > 0
          ? `lower the threshold to at most ${n}, or host ${party.name} on more validators`
          : `host ${party.name} on validators (list it under their parties)`,
      );
    }
  }
}
