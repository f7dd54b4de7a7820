/**
 * Which site driver a `drstack failover/failback` run uses: `local` with `--sites FILE`; else
 * `kubernetes` when the Pulumi CLI is on PATH (the Automation API drives it); else none (only
 * `--dry-run` works, and the error says so).
 */
import { ConfigError } from "../components/topology/errors";
import type { Network } from "../components/topology/model";
import type { SiteDriver } from "./driver";
import { kubernetesDriver, onPath } from "./kubernetes";
import { localDriver, readLocalSites } from "./local";

export const DRIVER_KINDS = ["auto", "kubernetes", "local"] as const;
export type DriverKind = (typeof DRIVER_KINDS)[number];

/** The driver kind `auto` resolves to. Pure given `pulumiOnPath`. */
export function resolveDriverKind(
  kind: DriverKind,
  sitesFile: string | undefined,
  pulumiOnPath: boolean,
): "kubernetes" | "local" | undefined {
  if (kind === "local" || (kind === "auto" && sitesFile)) return "local";
  if (kind === "kubernetes") return "kubernetes";
  return pulumiOnPath ? "kubernetes" : undefined;
}

export function createDriver(args: {
  readonly kind: DriverKind;
  readonly sitesFile?: string;
  readonly projectDir: string;
  readonly network: Network;
  readonly onOutput?: (line: string) => void;
}): SiteDriver {
  const upstreamOf = (site: string) => {
    const p = args.network.sites.find((s) => s.role === "primary")?.name;
    return p === site ? undefined : p;
  };
  const kind = resolveDriverKind(args.kind, args.sitesFile, onPath("pulumi") !== undefined);
  if (kind === "local") {
    if (!args.sitesFile)
      throw new ConfigError([
        {
          path: "--sites",
          message:
            "--driver local needs --sites FILE (the sites' Patroni REST URLs and PostgreSQL addresses)",
          fix: "write the JSON described in docs/failover.md and pass --sites FILE",
        },
      ]);
    return localDriver(
      readLocalSites(
        args.sitesFile,
        args.network.sites.map((s) => s.name),
      ),
      upstreamOf,
    );
  }
  if (kind === "kubernetes")
    return kubernetesDriver(args.projectDir, args.network, upstreamOf, args.onOutput);
  throw new ConfigError([
    {
      path: "--driver",
      message:
        "no site driver available: the Pulumi CLI is not on PATH (the Kubernetes driver applies stacks through the Automation API)",
      fix: "install the Pulumi CLI, or run with --dry-run to see the change offline, or use --driver local --sites FILE for local Patroni sites",
    },
  ]);
}
