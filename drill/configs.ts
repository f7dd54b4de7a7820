/**
 * The drill's configuration files, from the components' pure renderers: Patroni (per member,
 * etcd v3 as the DCS), pgBackRest (posix repositories, repo2 encrypted), Redis and Sentinel.
 * Only addresses, paths and the DCS differ from what the Kubernetes components render.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { APP_DATABASE, USERS } from "../components/postgres/kubernetes";
import {
  type PatroniEnvironment,
  renderPatroniConfig,
  renderPostInitScript,
} from "../components/postgres/patroni";
import {
  pgBackRestArchiveCommand,
  pgBackRestRestoreCommand,
  type PgBackRestSpec,
  renderPgBackRestConfig,
} from "../components/postgres/pgbackrest";
import type { PostgresSettings } from "../components/postgres/settings";
import { renderRedisConfig, renderSentinelConfig } from "../components/redis/render";
import { type DrillLayout, HOST, type MemberLayout, type SiteLayout } from "./layout";
import { cleanEnv } from "./procs";
import type { DrillSettings } from "./settings";
import { currentRuntime, pgBinDir, runtimePath } from "./runtime";
import type { OsUser } from "./system";

/** Generated for each environment; never written outside its work directory. */
export interface Secrets {
  readonly superuser: string;
  readonly replication: string;
  readonly rewind: string;
  readonly app: string;
  readonly cipherPass: string;
  readonly redis: string;
}

export function pgBackRestSpec(
  l: DrillLayout,
  m: MemberLayout,
  s: PostgresSettings,
  secrets: Secrets,
): PgBackRestSpec {
  return {
    stanza: s.scope,
    pgDataDir: m.dataDir,
    pgPort: m.pgPort,
    pgSocketPath: m.socketDir,
    repos: [
      { type: "posix", path: l.pgBackRest.repo1, encrypted: false, retentionFull: s.retentionFull },
      {
        type: "posix",
        path: l.pgBackRest.repo2,
        encrypted: true,
        cipherPass: secrets.cipherPass,
        retentionFull: s.retentionFull,
      },
    ],
    logPath: l.pgBackRest.logDir,
    lockPath: l.pgBackRest.lockDir,
    spoolPath: path.join(m.dir, "spool"),
  };
}

export function patroniEnvironment(
  env: { layout: DrillLayout; secrets: Secrets },
  site: SiteLayout,
  m: MemberLayout,
  s: PostgresSettings,
  standby: boolean,
): PatroniEnvironment {
  const l = env.layout;
  return {
    scope: s.scope,
    name: m.name,
    dcs: { kind: "etcd3", hosts: [`${HOST}:${l.etcd.clientPort}`], prefix: site.dcsPrefix },
    postgres: {
      listen: `${HOST}:${m.pgPort}`,
      connectAddress: `${HOST}:${m.pgPort}`,
      dataDir: m.dataDir,
      binDir: pgBinDir(),
      socketDir: m.socketDir,
      pgpassPath: path.join(m.dir, "pgpass"),
    },
    restApi: { listen: `${HOST}:${m.restPort}`, connectAddress: `${HOST}:${m.restPort}` },
    authentication: {
      superuser: { username: USERS.superuser, password: env.secrets.superuser },
      replication: { username: USERS.replication, password: env.secrets.replication },
      rewind: { username: USERS.rewind, password: env.secrets.rewind },
    },
    allowedCidrs: ["127.0.0.1/32"],
    ...(standby
      ? {
          standbyCluster: {
            host: HOST,
            port: l.replicationPort,
            restoreCommand: pgBackRestRestoreCommand(
              path.join(m.dir, "pgbackrest-primary.conf"),
              s.scope,
              2,
            ),
          },
        }
      : // archive_command lives in the DCS (one value for every member, as on Kubernetes where
        // every pod has the same paths): one cluster config, with each member's pg1-* options
        // given to its Patroni (and so to PostgreSQL) as PGBACKREST_PG1_* variables.
        { archive: { command: pgBackRestArchiveCommand(l.pgBackRest.clusterConfig, s.scope) } }),
    postInit: path.join(l.workDir, "post-init.sh"),
  };
}

export function writeConfigs(env: {
  layout: DrillLayout;
  secrets: Secrets;
  settings: DrillSettings;
}): void {
  const l = env.layout;
  const { primaryPostgres: ps, standbyPostgres: ss } = env.settings;
  for (const d of [
    l.etcd.dataDir,
    l.pgBackRest.repo1,
    l.pgBackRest.repo2,
    l.pgBackRest.logDir,
    l.pgBackRest.lockDir,
    l.scratchDir,
  ])
    fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(l.workDir, "post-init.sh"),
    renderPostInitScript(USERS.app, APP_DATABASE),
    { mode: 0o755 },
  );
  for (const [site, s, standby] of [
    [l.primary, ps, false],
    [l.standby, ss, true],
  ] as const) {
    for (const m of site.members) {
      fs.mkdirSync(m.socketDir, { recursive: true });
      fs.mkdirSync(path.join(m.dir, "spool"), { recursive: true });
      fs.writeFileSync(
        m.configFile,
        renderPatroniConfig(s, patroniEnvironment(env, site, m, s, standby)),
        { mode: 0o600 },
      );
      if (!standby) {
        fs.writeFileSync(
          m.pgBackRestConfig,
          renderPgBackRestConfig(pgBackRestSpec(l, m, s, env.secrets)),
          { mode: 0o600 },
        );
        if (m === site.members[0])
          fs.writeFileSync(
            l.pgBackRest.clusterConfig,
            renderPgBackRestConfig(pgBackRestSpec(l, m, s, env.secrets)),
            { mode: 0o600 },
          );
      } else {
        // Read-only view of the primary's (unencrypted) repo1, as repo2: the standby's WAL fallback.
        const spec: PgBackRestSpec = {
          stanza: ps.scope,
          pgDataDir: m.dataDir,
          pgPort: m.pgPort,
          pgSocketPath: m.socketDir,
          repos: [{ type: "posix", path: l.pgBackRest.repo1, encrypted: false, index: 2 }],
          logPath: l.pgBackRest.logDir,
          lockPath: path.join(l.pgBackRest.lockDir, "standby"),
        };
        fs.writeFileSync(
          path.join(m.dir, "pgbackrest-primary.conf"),
          renderPgBackRestConfig(spec),
          { mode: 0o600 },
        );
      }
    }
  }
  const rs = env.settings.redis;
  const master = { host: HOST, port: l.redis.servers[0].port };
  l.redis.servers.forEach((r, i) => {
    fs.mkdirSync(r.dir, { recursive: true });
    fs.writeFileSync(
      r.config,
      renderRedisConfig(rs, {
        bind: HOST,
        port: r.port,
        dataDir: r.dir,
        password: env.secrets.redis,
        logFile: path.join(r.dir, "redis.log"),
        ...(i > 0 ? { replicaOf: master } : {}),
      }),
    );
  });
  for (const s of l.redis.sentinels) {
    fs.mkdirSync(s.dir, { recursive: true });
    fs.writeFileSync(
      s.config,
      renderSentinelConfig(rs, {
        bind: HOST,
        port: s.port,
        dataDir: s.dir,
        master,
        password: env.secrets.redis,
        logFile: path.join(s.dir, "sentinel.log"),
      }),
    );
  }
}

/** Environment of a Patroni process: clean (no inherited PG* variables), PostgreSQL on PATH. */
export function patroniEnv(
  env: { pgUser: OsUser; secrets: Secrets },
  m: MemberLayout,
): Record<string, string> {
  return cleanEnv(runtimePath(), env.pgUser.home, {
    ...currentRuntime().patroniEnv,
    DRSTACK_APP_PASSWORD: env.secrets.app,
    PGBACKREST_PG1_PATH: m.dataDir,
    PGBACKREST_PG1_PORT: String(m.pgPort),
    PGBACKREST_PG1_SOCKET_PATH: m.socketDir,
  });
}
