import * as fs from "node:fs";
import * as path from "node:path";
import { dryRun } from "../../failover/dryrun";
import { onPath } from "../../failover/kubernetes";
import { prepareFailover, runFailover, type SwapReport } from "../../failover/orchestrate";
import { formatDryRun, formatStepLine, formatTimeline } from "../../failover/report";
import { createDriver, DRIVER_KINDS, resolveDriverKind } from "../../failover/select";
import { loadNetwork } from "../../components/topology/load";
import {
  type Command,
  confirmLive,
  EXIT,
  type Io,
  oneOf,
  positiveInt,
  toJson,
  UsageError,
  type Values,
  YES_OPTION,
} from "../command";

export const SWAP_JSON_VERSION = 1;

/** The topology file (`--network`, default stacks/network.yaml) as absolute and display paths. */
export function networkPaths(values: Values, projectDir: string): { abs: string; display: string } {
  const given = typeof values.network === "string" ? values.network : undefined;
  const abs = path.resolve(
    given ? path.resolve(given) : path.join(projectDir, "stacks", "network.yaml"),
  );
  return { abs, display: path.relative(projectDir, abs) || abs };
}

export function readNetworkText(abs: string, display: string): string {
  // loadNetwork reports unreadable/invalid files as ConfigErrors (exit 2) naming the problem.
  loadNetwork(abs, display);
  return fs.readFileSync(abs, "utf8");
}

/** Writes the topology atomically (temp file + rename), keeping the file's mode. */
export async function writeAtomically(abs: string, text: string): Promise<string> {
  const tmp = `${abs}.drstack-${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: fs.statSync(abs).mode });
  fs.renameSync(tmp, abs);
  return abs;
}

export function driverLine(values: Values): string {
  const kind = resolveDriverKind(
    oneOf(values, "driver", DRIVER_KINDS, "auto"),
    typeof values.sites === "string" ? values.sites : undefined,
    onPath("pulumi") !== undefined,
  );
  return kind
    ? `Driver when run for real: ${kind}`
    : "Driver when run for real: none here (no Pulumi CLI on PATH; --driver local --sites FILE for local sites)";
}

export function finishRun(report: SwapReport, io: Io, json: boolean): number {
  if (json) io.out(toJson({ drstackSwap: SWAP_JSON_VERSION, dryRun: false, ...report }));
  else io.out(formatTimeline(report));
  return report.outcome === "completed" ? EXIT.ok : EXIT.checkFailed;
}

export const failoverCommand: Command = {
  name: "failover",
  summary:
    "stack swap: promote a standby site when the primary's region is lost (fence, promote, flip, verify)",
  options: {
    to: { type: "string" },
    "dry-run": { type: "boolean" },
    force: { type: "boolean" },
    reason: { type: "string" },
    driver: { type: "string" },
    sites: { type: "string" },
    network: { type: "string" },
    "catch-up-timeout": { type: "string" },
    json: { type: "boolean" },
    ...YES_OPTION,
  },
  help: `Usage: drstack failover --to SITE [--dry-run | --yes] [--force --reason TEXT] [--driver auto|kubernetes|local]
                        [--sites FILE] [--network FILE] [--catch-up-timeout SECONDS] [--json]

Promotes the standby site SITE to primary, in explicit, logged and timed steps:
  1. preflight      SITE is a healthy standby; its replication lag and last backup/WAL archive age
                    are within the region RPO of stacks/network.yaml (refused otherwise)
  2. fence          the old primary stops accepting writes (Patroni standby_cluster -> SITE) and is
                    confirmed read-only, BEFORE anything is promoted; unreachable needs --force
  3. catch-up       SITE receives the fenced primary's last WAL position (no acknowledged write lost)
  4. promote        SITE leaves standby mode (PATCH /config {"standby_cluster": null})
  5. flip-config    roles flipped in stacks/network.yaml (exact two-line edit: commit it as the PR)
  6. update-stack   pulumi up of SITE's stack (Automation API): Redis, clients, gateway/DNS re-pointed
  7. verify-writes  a unique row written and read back on SITE's leader
then prints the timeline (start and duration of every step).

Options:
      --to SITE               the standby site to promote (must run postgres)
      --dry-run               offline: the network.yaml diff, the resource diff of every stack
                              (offline plans before and after) and the steps; changes nothing
  -y, --yes                   do not ask for confirmation (automation). Without it a live failover
                              asks you to type SITE at a terminal, and is refused without one
      --force                 proceed over failed preflight checks or unconfirmed fencing
      --reason TEXT           why --force (required with it; recorded in the timeline)
      --driver KIND           auto (default: local with --sites, else kubernetes when the pulumi CLI
                              is on PATH), kubernetes, local
      --sites FILE            the local driver's sites (Patroni REST URLs, psql address): docs/failover.md
      --network FILE          topology file (default stacks/network.yaml)
      --catch-up-timeout S    seconds to wait in catch-up (default 30)
      --json                  print the report (or dry run) as JSON; the live log goes to stderr
      --project DIR           project directory (default: current directory)

Examples:
  drstack failover --to dr --dry-run
  drstack failover --to dr
  drstack failover --to dr --yes            # no prompt (automation)
  drstack failover --to dr --force --reason "us-east-1 lost, incident 123"

Exit codes: 0 completed (or dry run shown), 1 refused or failed (the timeline says which step and
why, or the confirmation was declined), 2 bad input (unknown site, site already primary, site
without postgres, --force without --reason, no terminal to confirm on and no --yes), 3 internal
error.`,
  async run({ values, io, projectDir }) {
    const target = values.to;
    if (typeof target !== "string" || !target)
      throw new UsageError("say which site to promote: --to SITE");
    if (values.force && typeof values.reason !== "string")
      throw new UsageError(
        '--force needs --reason TEXT (recorded in the timeline), e.g. --reason "us-east-1 lost"',
      );
    if (values.reason !== undefined && !values.force)
      throw new UsageError("--reason is only used with --force");
    const catchUpS = positiveInt(values, "catch-up-timeout", 30);
    const json = values.json === true;
    const net = networkPaths(values, projectDir);
    const text = readNetworkText(net.abs, net.display);
    if (values["dry-run"]) {
      const { flip, steps } = prepareFailover(text, net.display, target);
      const d = await dryRun({
        operation: "failover",
        projectDir,
        networkFile: net.display,
        from: flip.oldPrimary,
        to: target,
        before: text,
        after: flip.text,
        resourceDiffBasis: `offline plans of every stack with ${net.display} before and after the flip`,
        configEdits: flip.edits,
        steps,
      });
      if (json) io.out(toJson({ drstackSwap: SWAP_JSON_VERSION, dryRun: true, ...d }));
      else io.out(`${formatDryRun(d)}\n\n${driverLine(values)}`);
      return EXIT.ok;
    }
    // Validate the target before any driver is created or any site contacted.
    const { flip } = prepareFailover(text, net.display, target);
    if (!(await confirmLive(values, io, `Failover ${flip.oldPrimary} -> ${target}`, target)))
      return EXIT.checkFailed;
    const driver = createDriver({
      kind: oneOf(values, "driver", DRIVER_KINDS, "auto"),
      sitesFile: typeof values.sites === "string" ? values.sites : undefined,
      projectDir,
      network: loadNetwork(net.abs, net.display),
      onOutput: (line) => io.err(line.replace(/\n$/, "")),
    });
    const logTo = json ? io.err : io.out;
    logTo(`Failover ${flip.oldPrimary} -> ${target} with ${driver.describe()}`);
    try {
      const report = await runFailover(
        {
          driver,
          networkText: text,
          networkFile: net.display,
          writeNetwork: (t) => writeAtomically(net.abs, t),
          log: (s) => logTo(formatStepLine(s)),
          catchUpTimeoutMs: catchUpS * 1000,
        },
        {
          target,
          force: values.force === true,
          ...(typeof values.reason === "string" ? { reason: values.reason } : {}),
        },
      );
      return finishRun(report, io, json);
    } finally {
      await driver.close?.();
    }
  },
};
