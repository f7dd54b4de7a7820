/**
 * `kubernetes.managed` of a site in network.yaml: the EKS / GKE cluster the site's stack creates
 * (see docs/clusters.md). Pure: the shape, the documented defaults, and the checks between fields.
 */
import { fieldPath, type Problems } from "./errors";
import { formatCidr, overlaps, parseCidr } from "./cidr";
import type { Cloud } from "./clouds";
import type { Shape } from "./shape";

export type NatMode = "per-zone" | "single";

export interface ManagedNodes {
  /** EC2 instance type (AWS) or machine type (GCP). Default `m6i.xlarge` / `e2-standard-4`. */
  readonly machineType: string;
  /** Nodes per zone: minimum, desired (initial) and maximum. Default 1 / 1 / 3. */
  readonly minPerZone: number;
  readonly desiredPerZone: number;
  readonly maxPerZone: number;
  /** Boot disk size in GiB. Default 100. */
  readonly diskGiB: number;
}

export interface ManagedEndpoint {
  /** Expose the API endpoint publicly (restricted to `allowedCidrs`). Default false: private only. */
  readonly public: boolean;
  /** CIDRs allowed to reach the public endpoint; required when `public`. Default none. */
  readonly allowedCidrs: readonly string[];
}

export interface ManagedCluster {
  /** Kubernetes minor version. Default `1.33`. */
  readonly version: string;
  readonly nodes: ManagedNodes;
  readonly endpoint: ManagedEndpoint;
  /** AWS: VPC CIDR; GCP: the nodes' subnet. Default `10.40.0.0/16` (AWS) / `10.50.0.0/20` (GCP). */
  readonly networkCidr: string;
  /** AWS: one NAT gateway per zone (default, zone-independent egress) or one `single` (cheaper). */
  readonly nat: NatMode;
  /** Days a deleted KMS key waits before AWS destroys it (7-30). Default 30. */
  readonly keyDeletionDays: number;
  /** GCP: the project id. Required for GCP. */
  readonly project?: string;
  /** GCP: the project number (the GKE service agent needs the KMS key). Required for GCP. */
  readonly projectNumber?: string;
  /** GCP: pods' secondary range. Default `10.64.0.0/14`. */
  readonly podsCidr: string;
  /** GCP: services' secondary range. Default `10.68.0.0/20`. */
  readonly servicesCidr: string;
  /** GCP: the control plane's /28. Default `172.16.0.0/28`. */
  readonly controlPlaneCidr: string;
}

export const MANAGED_DEFAULTS = {
  version: "1.33",
  machineType: { aws: "m6i.xlarge", gcp: "e2-standard-4" } as Record<Cloud, string>,
  minPerZone: 1,
  desiredPerZone: 1,
  maxPerZone: 3,
  diskGiB: 100,
  networkCidr: { aws: "10.40.0.0/16", gcp: "10.50.0.0/20" } as Record<Cloud, string>,
  nat: "per-zone" as NatMode,
  keyDeletionDays: 30,
  podsCidr: "10.64.0.0/14",
  servicesCidr: "10.68.0.0/20",
  controlPlaneCidr: "172.16.0.0/28",
} as const;

const CIDR_TEXT = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const CIDR_SHAPE: Shape = {
  kind: "string",
  pattern: CIDR_TEXT,
  hint: "write an IPv4 CIDR such as 10.40.0.0/16",
};

export const MANAGED_SHAPE: Shape = {
  kind: "object",
  fields: {
    version: {
      shape: { kind: "string", pattern: /^1\.\d{2}$/, hint: "use a minor version such as 1.33" },
    },
    nodes: {
      shape: {
        kind: "object",
        fields: {
          machineType: {
            shape: {
              kind: "string",
              pattern: /^[a-z0-9][a-z0-9.-]+$/,
              hint: "use an instance type such as m6i.xlarge or e2-standard-4",
            },
          },
          minPerZone: { shape: { kind: "integer", min: 0, max: 100 } },
          desiredPerZone: { shape: { kind: "integer", min: 1, max: 100 } },
          maxPerZone: { shape: { kind: "integer", min: 1, max: 100 } },
          diskGiB: { shape: { kind: "integer", min: 20, max: 16384 } },
        },
      },
    },
    endpoint: {
      shape: {
        kind: "object",
        fields: {
          public: { shape: { kind: "boolean" } },
          allowedCidrs: { shape: { kind: "array", items: CIDR_SHAPE } },
        },
      },
    },
    networkCidr: { shape: CIDR_SHAPE },
    nat: { shape: { kind: "string", enum: ["per-zone", "single"] } },
    keyDeletionDays: { shape: { kind: "integer", min: 7, max: 30 } },
    project: {
      shape: {
        kind: "string",
        pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
        hint: "use a GCP project id",
      },
    },
    projectNumber: {
      shape: {
        kind: "string",
        pattern: /^\d{6,20}$/,
        hint: "use the project number (gcloud projects describe <id> --format='value(projectNumber)'), quoted",
      },
    },
    podsCidr: { shape: CIDR_SHAPE },
    servicesCidr: { shape: CIDR_SHAPE },
    controlPlaneCidr: { shape: CIDR_SHAPE },
  },
};

const AWS_ONLY = ["nat", "keyDeletionDays"];
const GCP_ONLY = ["project", "projectNumber", "podsCidr", "servicesCidr", "controlPlaneCidr"];

type Raw = Record<string, unknown> & {
  nodes?: Record<string, unknown>;
  endpoint?: Record<string, unknown>;
};

/**
 * The managed cluster settings with defaults applied; adds a problem (with its field path under
 * `path`) for every cross-field issue. `raw` has passed MANAGED_SHAPE.
 */
export function normalizeManaged(
  raw: unknown,
  cloud: Cloud,
  zones: readonly string[],
  path: string,
  problems: Problems,
): ManagedCluster {
  // Fields of the wrong type were reported by the shape check; read only well-typed ones here.
  const r = (isObj(raw) ? raw : {}) as Raw;
  const n = isObj(r.nodes) ? r.nodes : {};
  const e = isObj(r.endpoint) ? r.endpoint : {};
  const at = (...p: (string | number)[]) => fieldPath(path, ...p);
  for (const k of cloud === "aws" ? GCP_ONLY : AWS_ONLY)
    if (r[k] !== undefined)
      problems.add(
        at(k),
        `applies to ${cloud === "aws" ? "GCP" : "AWS"} sites only`,
        `remove ${k}`,
      );
  const nodes: ManagedNodes = {
    machineType: text(n.machineType) ?? MANAGED_DEFAULTS.machineType[cloud],
    minPerZone: num(n.minPerZone) ?? MANAGED_DEFAULTS.minPerZone,
    desiredPerZone: num(n.desiredPerZone) ?? MANAGED_DEFAULTS.desiredPerZone,
    maxPerZone: num(n.maxPerZone) ?? MANAGED_DEFAULTS.maxPerZone,
    diskGiB: num(n.diskGiB) ?? MANAGED_DEFAULTS.diskGiB,
  };
  if (nodes.minPerZone > nodes.desiredPerZone || nodes.desiredPerZone > nodes.maxPerZone)
    problems.add(
      at("nodes"),
      `need minPerZone <= desiredPerZone <= maxPerZone, got ${nodes.minPerZone} / ${nodes.desiredPerZone} / ${nodes.maxPerZone}`,
      "raise maxPerZone or lower minPerZone",
    );
  const endpoint: ManagedEndpoint = {
    public: e.public === true,
    allowedCidrs: Array.isArray(e.allowedCidrs)
      ? e.allowedCidrs.filter((c): c is string => typeof c === "string")
      : [],
  };
  if (endpoint.public && endpoint.allowedCidrs.length === 0)
    problems.add(
      at("endpoint", "allowedCidrs"),
      "a public API endpoint needs the CIDRs allowed to reach it (without them it is open to 0.0.0.0/0)",
      "list your operators' and CI's ranges, e.g. allowedCidrs: [203.0.113.0/24], or set public: false",
    );
  if (!endpoint.public && endpoint.allowedCidrs.length > 0 && cloud === "aws")
    problems.add(
      at("endpoint", "allowedCidrs"),
      "is only used with public: true on AWS (a private endpoint is reached from the VPC)",
      "remove allowedCidrs, or set public: true",
    );
  endpoint.allowedCidrs.forEach((c, i) => {
    if (typeof c === "string" && !parseCidr(c))
      problems.add(
        at("endpoint", "allowedCidrs", i),
        `${JSON.stringify(c)} is not a network address`,
        "clear the host bits, e.g. 203.0.113.0/24",
      );
  });
  const out: ManagedCluster = {
    version: text(r.version) ?? MANAGED_DEFAULTS.version,
    nodes,
    endpoint,
    networkCidr: text(r.networkCidr) ?? MANAGED_DEFAULTS.networkCidr[cloud],
    nat: r.nat === "single" ? "single" : MANAGED_DEFAULTS.nat,
    keyDeletionDays: num(r.keyDeletionDays) ?? MANAGED_DEFAULTS.keyDeletionDays,
    ...(typeof r.project === "string" ? { project: r.project } : {}),
    ...(typeof r.projectNumber === "string" ? { projectNumber: r.projectNumber } : {}),
    podsCidr: text(r.podsCidr) ?? MANAGED_DEFAULTS.podsCidr,
    servicesCidr: text(r.servicesCidr) ?? MANAGED_DEFAULTS.servicesCidr,
    controlPlaneCidr: text(r.controlPlaneCidr) ?? MANAGED_DEFAULTS.controlPlaneCidr,
  };
  if (cloud === "gcp") {
    for (const k of ["project", "projectNumber"] as const)
      if (out[k] === undefined)
        problems.add(
          at(k),
          "is required for a managed GKE cluster",
          `add ${k}: <your GCP ${k === "project" ? "project id" : "project number, quoted"}>`,
        );
  }
  checkRanges(out, cloud, zones, at, problems);
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function checkRanges(
  m: ManagedCluster,
  cloud: Cloud,
  zones: readonly string[],
  at: (...p: (string | number)[]) => string,
  problems: Problems,
): void {
  const ranges: [string, string, number, number][] =
    cloud === "aws"
      ? [["networkCidr", m.networkCidr, 16, 22]]
      : [
          ["networkCidr", m.networkCidr, 8, 26],
          ["podsCidr", m.podsCidr, 8, 21],
          ["servicesCidr", m.servicesCidr, 8, 27],
          ["controlPlaneCidr", m.controlPlaneCidr, 28, 28],
        ];
  const parsed: [string, ReturnType<typeof parseCidr>][] = [];
  for (const [key, text, min, max] of ranges) {
    const c = parseCidr(text);
    if (!c && !CIDR_TEXT.test(text)) continue; // the shape check reported it
    if (!c) {
      problems.add(
        at(key),
        `${JSON.stringify(text)} is not a network address`,
        "clear the host bits, e.g. 10.40.0.0/16",
      );
      continue;
    }
    if (c.prefix < min || c.prefix > max)
      problems.add(
        at(key),
        `must be a /${min === max ? min : `${min} to /${max}`}, got /${c.prefix}`,
        `use e.g. ${formatCidr({ base: c.base - (c.base % 2 ** (32 - Math.max(min, Math.min(max, c.prefix)))), prefix: Math.max(min, Math.min(max, c.prefix)) })}`,
      );
    parsed.push([key, c]);
  }
  for (let i = 0; i < parsed.length; i++)
    for (let j = i + 1; j < parsed.length; j++)
      if (overlaps(parsed[i][1]!, parsed[j][1]!))
        problems.add(at(parsed[j][0]), `overlaps ${parsed[i][0]}`, "use disjoint ranges");
  // AWS: the VPC is cut into /prefix+4 blocks: private subnets 0..5, public 8..13.
  if (cloud === "aws" && zones.length > 6)
    problems.add(at(), `supports at most 6 zones, got ${zones.length}`, "list at most 6 zones");
}
