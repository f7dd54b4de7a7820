import { dryRun } from "../../failover/dryrun";
import { standbysWithPostgres } from "../../failover/flip";
import { prepareFailback, prepareFailover, runFailback } from "../../failover/orchestrate";
import { formatDryRun, formatStepLine } from "../../failover/report";
import { createDriver, DRIVER_KINDS } from "../../failover/select";
import { loadNetwork } from "../../components/topology/load";
import { type Command, confirmLive, EXIT, oneOf, toJson, UsageError, YES_OPTION } from "../command";
import {
  driverLine,
  finishRun,
  networkPaths,
  readNetworkText,
  SWAP_JSON_VERSION,
  writeAtomically,
} from "./failover";

const RESEEDS = ["rewind", "basebackup"] as const;

export const failbackCommand: Command = {
  name: "failback",
  summary: "bring the old primary site back as a standby of the new primary (optionally swap back)",
  options: {
    site: { type: "string" },
    "swap-back": { type: "boolean" },
    reseed: { type: "string" },
    force: { type: "boolean" },
    reason: { type: "string" },
    "dry-run": { type: "boolean" },
    driver: { type: "string" },
    sites: { type: "string" },
    network: { type: "string" },
    json: { type: "boolean" },
    ...YES_OPTION,
  },
  help: `Usage: drstack failback --site SITE [--swap-back [--force --reason TEXT]] [--reseed rewind|basebackup] [--dry-run | --yes]
                        [--driver auto|kubernetes|local] [--sites FILE] [--network FILE] [--json]

Brings SITE (a standby in stacks/network.yaml after a failover, typically the old primary) back as
a standby cluster of the current primary. It never starts as a primary:
  1. preflight       the current primary accepts writes; SITE is reachable
  2. fence           if SITE still accepts writes (it came back as it died), make it read-only first
  3. rejoin          SITE becomes a standby cluster of the primary, re-seeded by pg_rewind (default)
                     or by a fresh base backup (--reseed basebackup)
  4. update-stack    pulumi up of SITE's stack as a standby
  5. verify-standby  SITE is read-only and streaming from the primary
With --swap-back, a planned swap follows (never forced): preflight, fence (demote) the current
primary, catch-up, promote SITE, flip stacks/network.yaml back, update SITE's stack, verify
writes, then the former primary rejoins as a standby of SITE.

Options:
      --site SITE         the returning site
      --swap-back         after rejoining, make SITE the primary again (demote first, promote second)
      --reseed HOW        rewind (default) or basebackup
  -y, --yes               do not ask for confirmation (automation); without it a live failback
                          asks you to type SITE at a terminal, and is refused without one
      --force             with --swap-back: proceed over failed preflight checks of SITE (lag,
                          backup age); never over an unconfirmed fence or an unfinished catch-up
      --reason TEXT       why --force (required with it; recorded)
      --dry-run           offline: the network.yaml diff (with --swap-back), the resource diff of
                          every stack, and the steps; changes nothing
      --driver KIND       auto (default), kubernetes, local (see drstack failover --help)
      --sites FILE        the local driver's sites: docs/failover.md
      --network FILE      topology file (default stacks/network.yaml)
      --json              print the report (or dry run) as JSON; the live log goes to stderr
      --project DIR       project directory (default: current directory)

Examples:
  drstack failback --site primary --dry-run
  drstack failback --site primary --swap-back

Exit codes: 0 completed (or dry run shown), 1 refused, failed or confirmation declined, 2 bad input
(unknown site, site is the primary, site without postgres, no terminal to confirm on and no
--yes), 3 internal error.`,
  async run({ values, io, projectDir }) {
    const site = values.site;
    if (typeof site !== "string" || !site)
      throw new UsageError("say which site returns: --site SITE");
    const reseed = oneOf(values, "reseed", RESEEDS, "rewind");
    const swapBack = values["swap-back"] === true;
    const json = values.json === true;
    const net = networkPaths(values, projectDir);
    let text = readNetworkText(net.abs, net.display);
    let assumed: string | undefined;
    if (values["dry-run"]) {
      // A dry run before any failover (SITE still the primary, as in the shipped topology) shows
      // the failback as it would run after one: the topology after `failover --to <standby>`.
      const network = loadNetwork(net.abs, net.display);
      const standby = standbysWithPostgres(network)[0];
      if (network.sites.find((s) => s.name === site)?.role === "primary" && standby) {
        text = prepareFailover(text, net.display, standby).flip.text;
        assumed = `Note: ${site} is the primary in ${net.display} today; this dry run shows the failback as it would run after \`drstack failover --to ${standby}\`.`;
      }
    }
    const force = values.force === true;
    const reason = typeof values.reason === "string" ? values.reason : undefined;
    if (reason !== undefined && !force) throw new UsageError("--reason is only used with --force");
    const opts = { site, reseed, swapBack, force, ...(reason !== undefined ? { reason } : {}) };
    const prepared = prepareFailback(text, net.display, opts);
    if (values["dry-run"]) {
      const d = await dryRun({
        operation: "failback",
        projectDir,
        networkFile: net.display,
        from: prepared.primary,
        to: site,
        before: text,
        after: prepared.flip ? prepared.flip.text : text,
        // Without a swap back the file does not change; what changes is SITE's own stack: from
        // what it last deployed as (the primary) to a standby of the current primary.
        ...(prepared.flip ? {} : { planBefore: prepared.rejoinFlip.text }),
        resourceDiffBasis: prepared.flip
          ? `offline plans of every stack with ${net.display} before and after the swap back`
          : `offline plans of every stack with ${site} as primary (as before the failover) and as a standby now`,
        configEdits: prepared.flip?.edits ?? [],
        steps: prepared.steps,
      });
      if (json)
        io.out(
          toJson({
            drstackSwap: SWAP_JSON_VERSION,
            dryRun: true,
            ...(assumed ? { assumed } : {}),
            ...d,
          }),
        );
      else io.out(`${assumed ? `${assumed}\n\n` : ""}${formatDryRun(d)}\n\n${driverLine(values)}`);
      return EXIT.ok;
    }
    if (!(await confirmLive(values, io, `Failback of ${site}`, site))) return EXIT.checkFailed;
    const driver = createDriver({
      kind: oneOf(values, "driver", DRIVER_KINDS, "auto"),
      sitesFile: typeof values.sites === "string" ? values.sites : undefined,
      projectDir,
      network: loadNetwork(net.abs, net.display),
      onOutput: (line) => io.err(line.replace(/\n$/, "")),
    });
    const logTo = json ? io.err : io.out;
    logTo(`Failback of ${site} (primary ${prepared.primary}) with ${driver.describe()}`);
    try {
      const report = await runFailback(
        {
          driver,
          networkText: text,
          networkFile: net.display,
          writeNetwork: (t) => writeAtomically(net.abs, t),
          log: (s) => logTo(formatStepLine(s)),
        },
        opts,
      );
      return finishRun(report, io, json);
    } finally {
      await driver.close?.();
    }
  },
};
