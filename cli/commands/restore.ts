import { spawnSync } from "node:child_process";
import { loadNetwork } from "../../components/topology/load";
import { pgRestoreCommands } from "../../failover/runbook";
import {
  type Command,
  confirmLive,
  didYouMean,
  EXIT,
  oneOf,
  toJson,
  UsageError,
  YES_OPTION,
} from "../command";
import { networkPaths } from "./failover";
import { runbookSites } from "./runbook";

const TARGETS = ["postgres", "keys"] as const;

/** `--to` for a pgBackRest point-in-time restore: an ISO-like time with an explicit offset. */
const PITR_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:?\d{2})?|Z)$/;

export interface RestoreStep {
  readonly text: string;
  readonly command: string;
}

/** The steps of a restore, in order; each is one shell command. */
export function restoreSteps(
  target: (typeof TARGETS)[number],
  site: Parameters<typeof pgRestoreCommands>[0],
  to?: string,
): RestoreStep[] {
  if (target === "keys")
    return [
      {
        text: `Fetch the sealed key backups of ${site.site} from its bucket (the scheduled keys job writes keys/${site.site}/<time>.sealed.json; the replica bucket holds the same)`,
        command: `rclone copy backup:<bucket>/keys/${site.site}/ ./sealed --include '*.sealed.json'`,
      },
      {
        text: "Open the newest with K custodians' shares of the recovery key (each custodian brings a share and its passphrase file); nothing is written unless every check passes (docs/keys.md)",
        command:
          "drstack keys restore --sealed ./sealed/<newest>.sealed.json --backup <recovery>/backup.json --share share-1-<custodian>.json=<passfile> --share ... --share ... --out ./restored",
      },
    ];
  const args = to
    ? ` --type=time --target="${to.replace("T", " ").replace(/Z$/, "+00")}" --target-action=promote`
    : "";
  const texts = [
    "Show the members and the leader (the leader must be member 0; switch over to it first otherwise)",
    "Pause Patroni: no automatic failover while members are down",
    ...Array.from(
      { length: (site.members ?? 3) - 1 },
      (_, i) => `Stop PostgreSQL on replica ${site.scope}-${i + 1} (replicas before the leader)`,
    ),
    `Stop PostgreSQL on the leader ${site.scope}-0 (last)`,
    to
      ? `Restore the leader with pgBackRest to ${to} (--delta; promote at the target)`
      : "Restore the leader with pgBackRest from the latest backup (--delta)",
    "Resume Patroni: it starts the leader, which replays WAL and promotes",
    ...Array.from(
      { length: (site.members ?? 3) - 1 },
      (_, i) => `Re-seed replica ${site.scope}-${i + 1} from the restored leader`,
    ),
    "Show the members again: one leader, every replica streaming",
  ];
  return pgRestoreCommands(site, args).map((command, i) => ({ text: texts[i], command }));
}

export const restoreCommand: Command = {
  name: "restore",
  summary:
    "restore PostgreSQL (latest or point in time, pgBackRest) or the validator keys on a site",
  options: {
    target: { type: "string" },
    site: { type: "string" },
    to: { type: "string" },
    "dry-run": { type: "boolean" },
    network: { type: "string" },
    json: { type: "boolean" },
    ...YES_OPTION,
  },
  help: `Usage: drstack restore --target postgres|keys [--site SITE] [--to TIME] [--dry-run | --yes] [--network FILE] [--json]

Restores a site's data from its backups, in explicit steps (each one shell command):
  postgres  pgBackRest: show members, pause Patroni, stop PostgreSQL on the replicas then on the
            leader, restore the leader (latest backup, or --to TIME: point in time, promote at
            the target), resume Patroni (it starts the leader), re-seed every replica, show members
  keys      the validator keys from the newest sealed key backup: rclone copy from the bucket,
            then drstack keys restore --sealed with K custodians' shares (dry run only: the
            custodians run the printed commands themselves, with their shares and passphrases)

Options:
      --target WHAT   postgres or keys
      --site SITE     the site (default: the primary in stacks/network.yaml)
      --to TIME       postgres point in time, e.g. "2026-01-01 12:00:00+00" (default: latest backup)
      --dry-run       print every step and command; changes nothing
  -y, --yes           do not ask for confirmation (automation); without it a live restore asks you
                      to type SITE at a terminal, and is refused without one
      --network FILE  topology file (default stacks/network.yaml)
      --json          print the steps as JSON
      --project DIR   project directory (default: current directory)

Examples:
  drstack restore --target postgres --dry-run
  drstack restore --target postgres --to "2026-01-01 12:00:00+00" --dry-run
  drstack restore --target keys --site primary --dry-run

Exit codes: 0 done (or dry run shown), 1 a step failed or confirmation declined, 2 bad input
(unknown target or site, bad --to, no terminal to confirm on and no --yes), 3 internal error.
See docs/restore.md.`,
  async run({ values, io, projectDir }) {
    if (values.target === undefined)
      throw new UsageError(`say what to restore: --target ${TARGETS.join("|")}`);
    const target = oneOf(values, "target", TARGETS, "postgres");
    const to = typeof values.to === "string" ? values.to : undefined;
    if (to !== undefined && target !== "postgres")
      throw new UsageError("--to (point in time) applies to --target postgres only");
    if (to !== undefined && !PITR_TIME.test(to))
      throw new UsageError(
        `--to must be a time with its offset, e.g. "2026-01-01 12:00:00+00", got ${JSON.stringify(to)}`,
      );
    const net = networkPaths(values, projectDir);
    const network = loadNetwork(net.abs, net.display);
    const names = network.sites.map((s) => s.name);
    const siteName =
      typeof values.site === "string"
        ? values.site
        : network.sites.find((s) => s.role === "primary")!.name;
    const site = network.sites.find((s) => s.name === siteName);
    if (!site)
      throw new UsageError(
        `--site: no site named ${JSON.stringify(siteName)} in ${net.display}${didYouMean(siteName, names)}; use one of: ${names.join(", ")}`,
      );
    if (target === "postgres" && !site.services.includes("postgres"))
      throw new UsageError(`--site: site ${siteName} does not run postgres`);
    const facts = runbookSites(projectDir, network).get(siteName);
    if (!facts) throw new UsageError(`--site: no stack file selects site ${siteName}`);
    const steps = restoreSteps(target, facts, to);
    if (values["dry-run"]) {
      if (values.json)
        io.out(toJson({ drstackRestore: 1, dryRun: true, target, site: siteName, to, steps }));
      else
        io.out(
          [
            `Restore ${target} on ${siteName}${to ? ` to ${to}` : ""}: dry run (nothing is changed)`,
            "",
            ...steps.flatMap((s, i) => [`  ${i + 1}. ${s.text}`, `     $ ${s.command}`]),
          ].join("\n"),
        );
      return EXIT.ok;
    }
    if (target === "keys")
      throw new UsageError(
        "--target keys needs K custodians' shares and passphrases, which drstack never holds: run it with --dry-run and have the custodians run the printed commands (docs/keys.md)",
      );
    if (!(await confirmLive(values, io, `Restore ${target} on ${siteName}`, siteName)))
      return EXIT.checkFailed;
    for (const [i, s] of steps.entries()) {
      io.err(`[${i + 1}/${steps.length}] ${s.text}\n$ ${s.command}`);
      const r = spawnSync("sh", ["-c", s.command], { stdio: "inherit" });
      if (r.status !== 0) {
        io.err(
          `error: step ${i + 1} failed (exit ${r.status ?? r.signal}); stopped. Fix it, then run the remaining steps by hand (drstack restore --dry-run lists them).`,
        );
        return EXIT.checkFailed;
      }
    }
    io.out(`Restore ${target} on ${siteName}: ${steps.length} steps done`);
    return EXIT.ok;
  },
};
