/**
 * `backup-restore`: pgbench data, then under write load a full backup (repo1, and the encrypted
 * repo2), changes, an incremental backup (repo1), a destructive statement; `pgbackrest verify`
 * on both repositories; then three restores into fresh data directories, each checked row by row:
 *  - the latest backup (full + incremental) from repo1, timed to "accepting writes";
 *  - the same data through `pg_dump` + `psql` into a fresh `initdb`, timed the same way (ratio);
 *  - a point-in-time restore from the encrypted repo2 to just before the destructive statement.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type PgBackRestSpec, renderPgBackRestConfig } from "../../components/postgres/pgbackrest";
import { type DrillEnvironment, pgbackrest, pgTarget, primaryLeader } from "../environment";
import { PgWriter, type PgTarget, sql, WRITES_TABLE } from "../pg";
import { cleanEnv, run } from "../procs";
import { ratio, type RunResult } from "../stats";
import { pgBinDir, runtimePath } from "../runtime";
import { chownTree, nowMs, waitFor } from "../system";
import { primaryHealthy, secondsBetween, writesFlowing } from "./common";

/** pgbench scale of the data set (100,000 accounts per unit). */
export const DEFAULT_SCALE = 10;
const DB = "drill";
const CHECKSUM = "SELECT count(*) || ':' || coalesce(sum(abalance), 0) FROM pgbench_accounts;";

function scratchSpec(env: DrillEnvironment, dataDir: string, port: number): PgBackRestSpec {
  const l = env.layout;
  return {
    stanza: env.settings.primaryPostgres.scope,
    pgDataDir: dataDir,
    pgPort: port,
    pgSocketPath: path.join(l.scratchDir, "run"),
    repos: [
      { type: "posix", path: l.pgBackRest.repo1, encrypted: false },
      {
        type: "posix",
        path: l.pgBackRest.repo2,
        encrypted: true,
        cipherPass: env.secrets.cipherPass,
      },
    ],
    logPath: l.pgBackRest.logDir,
    lockPath: path.join(l.pgBackRest.lockDir, "restore"),
  };
}

/** Starts a scratch postgres on `dataDir` (as the postgres user) and waits until it takes writes. */
async function startScratch(
  env: DrillEnvironment,
  name: string,
  dataDir: string,
  port: number,
  target: PgTarget,
  timeoutMs: number,
): Promise<void> {
  const sock = path.join(env.layout.scratchDir, "run");
  env.supervisor.start(name, path.join(pgBinDir(), "postgres"), {
    args: [
      "-D",
      dataDir,
      "-c",
      `port=${port}`,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${sock}`,
      "-c",
      `hba_file=${path.join(dataDir, "pg_hba.conf")}`,
      "-c",
      `ident_file=${path.join(dataDir, "pg_ident.conf")}`,
      "-c",
      "archive_mode=off",
      "-c",
      "synchronous_standby_names=",
      "-c",
      "cluster_name=drill-restore",
    ],
    user: env.pgUser,
    env: cleanEnv(runtimePath(), env.pgUser.home),
    cwd: env.layout.scratchDir,
    logFile: path.join(env.layout.scratchDir, `${name}.log`),
  });
  await waitFor(
    `${name} to finish recovery and accept writes`,
    async () =>
      (await sql(target, "SELECT pg_is_in_recovery();", 5000)) === "f" ? true : undefined,
    timeoutMs,
    50,
  );
}

async function stopScratch(env: DrillEnvironment, name: string, dataDir: string): Promise<void> {
  await env.supervisor.kill(name, "SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
}

export async function backupRestore(
  env: DrillEnvironment,
  runNo: number,
  scale = DEFAULT_SCALE,
): Promise<RunResult> {
  await primaryHealthy(env);
  const l = env.layout;
  const p = env.progress;
  const primary = pgTarget(env, "primary", true);
  const drillDb: PgTarget = { ...primary, database: DB };
  const pgEnv = { ...cleanEnv(runtimePath(), "/tmp"), PGPASSWORD: env.secrets.superuser };
  fs.mkdirSync(path.join(l.scratchDir, "run"), { recursive: true });
  chownTree(l.scratchDir, env.pgUser);

  if ((await sql(primary, `SELECT count(*) FROM pg_database WHERE datname = '${DB}';`)) === "0")
    await sql(primary, `CREATE DATABASE ${DB};`);
  let leader = await primaryLeader(env);
  p(`  backup-restore #${runNo}: loading pgbench scale ${scale} on ${leader.name}`);
  let t = nowMs();
  await run(
    path.join(pgBinDir(), "pgbench"),
    [
      "-i",
      "-q",
      "-s",
      String(scale),
      "-h",
      "127.0.0.1",
      "-p",
      String(leader.pgPort),
      "-U",
      "postgres",
      DB,
    ],
    {
      env: pgEnv,
      cwd: l.scratchDir,
      timeoutMs: 900_000,
    },
  );
  const loadSeconds = secondsBetween(t, nowMs());

  const writer = new PgWriter(primary, `backup-${runNo}-${Date.now()}`);
  writer.start();
  try {
    await writesFlowing(writer, 20);
    const conf = leader.pgBackRestConfig;
    p(`  backup-restore #${runNo}: full backup to repo1 and encrypted repo2 under write load`);
    t = nowMs();
    await pgbackrest(env, conf, ["--repo=1", "--type=full", "--start-fast", "backup"]);
    const fullSeconds = secondsBetween(t, nowMs());
    t = nowMs();
    await pgbackrest(env, conf, ["--repo=2", "--type=full", "--start-fast", "backup"]);
    const fullEncryptedSeconds = secondsBetween(t, nowMs());
    await sql(
      drillDb,
      "UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid % 10 = 0;",
      300_000,
    );
    leader = await primaryLeader(env);
    t = nowMs();
    await pgbackrest(env, leader.pgBackRestConfig, [
      "--repo=1",
      "--type=incr",
      "--start-fast",
      "backup",
    ]);
    const incrSeconds = secondsBetween(t, nowMs());
    const dumpFile = path.join(l.scratchDir, "drill.sql");
    t = nowMs();
    await run(
      path.join(pgBinDir(), "pg_dump"),
      ["-h", "127.0.0.1", "-p", String(leader.pgPort), "-U", "postgres", "-f", dumpFile, DB],
      {
        env: pgEnv,
        cwd: l.scratchDir,
        timeoutMs: 900_000,
      },
    );
    const dumpSeconds = secondsBetween(t, nowMs());
    const before = await sql(drillDb, CHECKSUM);

    // The destructive statement, just after the recovery target.
    // Writes acknowledged before the target was taken committed before it: PITR must have them all.
    const targetAsked = nowMs();
    const target = await sql(primary, "SELECT clock_timestamp();");
    await new Promise((r) => setTimeout(r, 200));
    await sql(drillDb, "DELETE FROM pgbench_accounts;", 300_000);
    const after = await sql(drillDb, CHECKSUM);
    const seg = await sql(primary, "SELECT pg_walfile_name(pg_switch_wal());");
    await waitFor(
      `WAL segment ${seg} to be archived`,
      async () => {
        const last = await sql(
          primary,
          "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;",
        );
        return last >= seg ? true : undefined;
      },
      120_000,
      200,
    );
    await writer.stop();
    const beforeTarget = new Set(
      writer.acks.filter((a) => a.ackedAt < targetAsked).map((a) => a.seq),
    );

    p(`  backup-restore #${runNo}: pgbackrest verify (repo1, repo2)`);
    const verify: string[] = [];
    for (const repo of [1, 2]) {
      try {
        await pgbackrest(env, leader.pgBackRestConfig, [`--repo=${repo}`, "verify"]);
        verify.push(`repo${repo}: ok`);
      } catch (e) {
        verify.push(`repo${repo}: ${(e as Error).message}`);
      }
    }

    // Restore 1: latest backup (full + incremental) from repo1, to a server taking writes.
    const restorePort = l.restorePorts.pgbackrest;
    const dirA = path.join(l.scratchDir, "restore-latest");
    const confA = path.join(l.scratchDir, "restore-latest.conf");
    fs.writeFileSync(confA, renderPgBackRestConfig(scratchSpec(env, dirA, restorePort)), {
      mode: 0o600,
    });
    chownTree(confA, env.pgUser);
    const targetA: PgTarget = { ...primary, ports: [restorePort], readWrite: false };
    p(`  backup-restore #${runNo}: timed restore of the latest backup (pgBackRest, repo1)`);
    t = nowMs();
    await pgbackrest(env, confA, [
      "--repo=1",
      "--type=immediate",
      "--target-action=promote",
      "restore",
    ]);
    const restoreFilesSeconds = secondsBetween(t, nowMs());
    await startScratch(env, "restore-latest", dirA, restorePort, targetA, 300_000);
    const pgbackrestRestoreSeconds = secondsBetween(t, nowMs());
    const restoredA = await sql({ ...targetA, database: DB }, CHECKSUM);
    await stopScratch(env, "restore-latest", dirA);

    // Restore 2: the same data through pg_dump + psql into a fresh cluster.
    const dumpPort = l.restorePorts.dump;
    const dirB = path.join(l.scratchDir, "restore-dump");
    const targetB: PgTarget = { ...primary, ports: [dumpPort], readWrite: false };
    p(`  backup-restore #${runNo}: timed restore of the same data with initdb + psql < pg_dump`);
    t = nowMs();
    await run(
      path.join(pgBinDir(), "initdb"),
      ["-D", dirB, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
      {
        user: env.pgUser,
        env: cleanEnv(runtimePath(), env.pgUser.home),
        cwd: l.scratchDir,
        timeoutMs: 300_000,
      },
    );
    await startScratch(env, "restore-dump", dirB, dumpPort, targetB, 120_000);
    await sql(targetB, `CREATE DATABASE ${DB};`);
    await run(
      path.join(pgBinDir(), "psql"),
      [
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-p",
        String(dumpPort),
        "-U",
        "postgres",
        "-d",
        DB,
        "-f",
        dumpFile,
      ],
      {
        env: pgEnv,
        cwd: l.scratchDir,
        timeoutMs: 900_000,
      },
    );
    const dumpRestoreSeconds = secondsBetween(t, nowMs());
    const restoredB = await sql({ ...targetB, database: DB }, CHECKSUM);
    await stopScratch(env, "restore-dump", dirB);

    // Restore 3: point in time, from the encrypted repo2, to just before the destructive statement.
    const dirC = path.join(l.scratchDir, "restore-pitr");
    const confC = path.join(l.scratchDir, "restore-pitr.conf");
    fs.writeFileSync(confC, renderPgBackRestConfig(scratchSpec(env, dirC, restorePort)), {
      mode: 0o600,
    });
    chownTree(confC, env.pgUser);
    p(`  backup-restore #${runNo}: point-in-time restore from encrypted repo2 to ${target}`);
    t = nowMs();
    await pgbackrest(env, confC, [
      "--repo=2",
      "--type=time",
      `--target=${target}`,
      "--target-action=promote",
      "restore",
    ]);
    await startScratch(env, "restore-pitr", dirC, restorePort, targetA, 300_000);
    const pitrSeconds = secondsBetween(t, nowMs());
    const restoredC = await sql({ ...targetA, database: DB }, CHECKSUM);
    const pitrWrites = (
      await sql(
        targetA,
        `SELECT seq || '|' || CASE WHEN at <= '${target}' THEN 't' ELSE 'f' END FROM ${WRITES_TABLE} WHERE run = '${writer.run}';`,
        60_000,
      )
    )
      .split("\n")
      .filter(Boolean)
      .map((x) => x.split("|"));
    const lastRecovered = await sql(
      targetA,
      `SELECT coalesce(EXTRACT(EPOCH FROM '${target}'::timestamptz - max(at)), -1) FROM ${WRITES_TABLE} WHERE run = '${writer.run}';`,
    );
    await stopScratch(env, "restore-pitr", dirC);
    fs.rmSync(dumpFile, { force: true });

    const recovered = new Set(pitrWrites.map(([s]) => Number(s)));
    const afterTarget = pitrWrites.filter(([, le]) => le !== "t").length;
    const lost = [...beforeTarget].filter((s) => !recovered.has(s));
    const gap = Number(lastRecovered);
    const r = ratio(dumpRestoreSeconds, pgbackrestRestoreSeconds);
    p(
      `  backup-restore #${runNo}: pgBackRest restore ${pgbackrestRestoreSeconds.toFixed(2)}s vs pg_dump/psql ${dumpRestoreSeconds.toFixed(2)}s (x${r}); PITR ${pitrSeconds.toFixed(2)}s`,
    );
    const full = env.settings.network.objectives.full;
    return {
      scenario: "backup-restore",
      run: runNo,
      rtoSeconds: pitrSeconds,
      lostWrites: lost.length,
      rpoSeconds: lost.length ? gap : 0,
      acknowledgedWrites: writer.acks.length,
      measures: {
        pgbenchScale: scale,
        loadSeconds,
        fullBackupSeconds: fullSeconds,
        fullBackupEncryptedSeconds: fullEncryptedSeconds,
        incrementalBackupSeconds: incrSeconds,
        pgDumpSeconds: dumpSeconds,
        restoreFilesSeconds,
        pgbackrestRestoreSeconds,
        dumpRestoreSeconds,
        restoreSpeedup: r ?? 0,
        pitrRestoreSeconds: pitrSeconds,
        pitrTarget: target,
        pitrGapSeconds: gap,
        rowsBefore: before,
        rowsAfterDestructive: after,
        verify: verify.join("; "),
      },
      checks: [
        {
          name: "pgbackrest verify passes on repo1 and encrypted repo2",
          ok: verify.every((v) => v.endsWith(": ok")),
          detail: verify.join("; "),
        },
        {
          name: "latest backup restores every row (pgBackRest)",
          ok: restoredA === before,
          detail: `${restoredA} vs ${before}`,
        },
        {
          name: "pg_dump/psql restores every row",
          ok: restoredB === before,
          detail: `${restoredB} vs ${before}`,
        },
        {
          name: "PITR stops before the destructive statement",
          ok: restoredC === before && after !== before,
          detail: `${restoredC} (before ${before}, after ${after})`,
        },
        {
          name: "PITR has no write committed after the target",
          ok: afterTarget === 0,
          detail: `${afterTarget} after`,
        },
        {
          name: "PITR has every write committed before the target",
          ok: lost.length === 0,
          detail: `${lost.length} missing of ${beforeTarget.size}`,
        },
        ...(full
          ? [
              {
                name: `full restore within the full-loss RTO ${full.rto}`,
                ok: pgbackrestRestoreSeconds <= full.rtoSeconds,
                detail: `${pgbackrestRestoreSeconds}s`,
              },
            ]
          : []),
      ],
    };
  } finally {
    await writer.stop();
  }
}
