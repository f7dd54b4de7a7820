import { DEFAULT_BASE_PORT, PORT_SPAN, validBasePort } from "../../drill/layout";
import {
  DEPLOYED,
  DRILL_DEFAULT,
  DRILL_VERSIONS,
  majorMinor,
} from "../../components/shared/versions";
import { formatReport } from "../../drill/report";
import { runtimeFor } from "../../drill/runtime";
import { runDrill } from "../../drill/runner";
import { DEFAULT_SCALE } from "../../drill/scenarios/backup";
import { selectScenarios } from "../../drill/stats";
import { type Command, EXIT, many, positiveInt, toJson, UsageError } from "../command";

export const drillCommand: Command = {
  name: "drill",
  summary:
    "run the deployed Patroni/pgBackRest/Sentinel configuration locally, break it, measure RTO and RPO",
  options: {
    scenario: { type: "string", multiple: true },
    runs: { type: "string" },
    scale: { type: "string" },
    baseline: { type: "boolean" },
    json: { type: "boolean" },
    keep: { type: "boolean" },
    "base-port": { type: "string" },
    network: { type: "string" },
    patroni: { type: "string", multiple: true },
  },
  help: `Usage: drstack drill [--scenario NAME...] [--runs N] [--scale N] [--baseline] [--json] [--keep] [--base-port P] [--patroni VERSION...]

Brings up on 127.0.0.1, from the same renderers \`pulumi up\` uses (only addresses, paths and the
DCS change: etcd instead of Kubernetes): etcd, the primary site's 3-member Patroni cluster with
pgBackRest (a local repository and an encrypted one), the DR site's 2-member standby cluster,
3 Redis + 3 Sentinels, and writers that record every acknowledged write. Then it breaks things
and measures recovery time (RTO) and acknowledged writes lost (RPO), checked against the
objectives of stacks/network.yaml. Progress goes to stderr.

Scenarios (default: all, in this order):
  node-failover    kill -9 the leader's Patroni + postmaster; RTO to the first write on the new leader
  node-drain       SIGTERM the leader's Patroni (a drain: the key is released); same RTO
  switchover       planned switchover; RTO = the write pause
  redis-failover   kill -9 the Redis master; RTO to the first write on the master Sentinel reports
  backup-restore   full + incremental backup under load, verify, restore vs pg_dump/psql, PITR
  region-failover  kill the primary site, drstack failover --force to the DR standby cluster
  failback         (after a region failover) drstack failback: the old site rejoins as a standby

Options:
      --scenario NAME   run this scenario (repeatable)
      --runs N          runs of each scenario (default 1)
      --scale N         pgbench scale of the backup-restore data (default ${DEFAULT_SCALE}: ${(DEFAULT_SCALE * 100_000).toLocaleString("en")} rows)
      --baseline        also run node-failover with Patroni's default ttl/loop_wait (ratio)
      --json            print the report with every run as JSON
      --keep            keep the work directory (logs, data) after stopping
      --base-port P     first of the ${PORT_SPAN} ports used (default ${DEFAULT_BASE_PORT}; 15000-15999)
      --patroni VERSION Patroni to run: ${DRILL_VERSIONS.map((v) => `${v.patroni} (PostgreSQL ${v.postgresMajor}, ${v.source === "trixie" ? "Debian 13, bash scripts/fetch-trixie.sh" : "Debian 12"})`).join(" or ")};
                        repeat to compare them side by side (default ${DRILL_DEFAULT.patroni}: the
                        deployed image's Patroni ${majorMinor(DEPLOYED.patroni)} / PostgreSQL ${DEPLOYED.postgres.split(".")[0]})
      --network FILE    topology file (default: the stacks' drstack:network)
      --project DIR     project directory (default: current directory)

Needs the Debian packages (sudo bash scripts/install-debian-deps.sh). Every process it starts is
stopped by PID on success, failure and Ctrl-C.

Exit codes: 0 every objective met, 1 an objective missed or a scenario failed, 2 bad input
(unknown scenario, ports taken, binaries missing), 3 internal error.`,
  async run({ values, io, projectDir }) {
    let scenarios;
    try {
      scenarios = selectScenarios(many(values, "scenario"), values.baseline === true);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const runs = positiveInt(values, "runs", 1);
    const pgbenchScale = positiveInt(values, "scale", DEFAULT_SCALE);
    const basePort = positiveInt(values, "base-port", DEFAULT_BASE_PORT);
    if (!validBasePort(basePort))
      throw new UsageError(
        `--base-port must leave ${PORT_SPAN} ports inside 15000-15999, got ${basePort}`,
      );
    const versions = many(values, "patroni");
    for (const v of versions) {
      try {
        runtimeFor(v);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const t0 = Date.now();
    const reports = [];
    for (const patroni of versions.length > 0 ? versions : [DRILL_DEFAULT.patroni]) {
      reports.push(
        await runDrill({
          projectDir,
          ...(typeof values.network === "string" ? { networkFile: values.network } : {}),
          basePort,
          keep: values.keep === true,
          scenarios,
          runs,
          pgbenchScale,
          patroni,
          progress: (line) =>
            io.err(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`),
        }),
      );
    }
    io.out(
      values.json
        ? toJson(reports.length === 1 ? reports[0] : reports)
        : reports.map(formatReport).join("\n\n"),
    );
    return reports.every((r) => r.passed) ? EXIT.ok : EXIT.checkFailed;
  },
};
