/**
 * The pgBackRest backup job and the restore verification script's PostgreSQL part, run for real:
 * a PostgreSQL 15 cluster archiving to an encrypted pgBackRest repository (posix) is backed up by
 * the rendered backup job (its guard checked on a too-small incremental); the rendered verify
 * script then runs `pgbackrest verify`, restores the backup into scratch, starts a temporary
 * instance on a private socket and runs the row checks. A row check the data cannot meet makes
 * it report failure. (As root, PostgreSQL runs as the `postgres` user through runuser.)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { type PgBackupType, renderPgBackupScript } from "../components/backup/scripts";
import { renderVerifyScript, type RowCheck } from "../components/backup/verify";

const asRoot = process.getuid?.() === 0;
const PG_BIN = "/usr/lib/postgresql/15/bin";

function run(cmd: string, env: Record<string, string>, timeout = 120_000) {
  const argv = asRoot
    ? [
        "runuser",
        "-u",
        "postgres",
        "--",
        "env",
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        "bash",
        "-c",
        cmd,
      ]
    : ["bash", "-c", cmd];
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    timeout,
    env: asRoot ? { PATH: process.env.PATH } : { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("backup: restore verification against a real PostgreSQL + pgBackRest backup", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pgverify-"));
  const port = String(30000 + Math.floor(Math.random() * 20000));
  const env: Record<string, string> = {
    PATH: `${PG_BIN}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    PGBACKREST_CONFIG: path.join(dir, "pgbackrest.conf"),
    PGBACKREST_STANZA: "drill",
    PGBACKREST_REPO1_PATH: path.join(dir, "repo"),
    PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc",
    PGBACKREST_REPO1_CIPHER_PASS: "test-only-cipher-pass",
    PGBACKREST_LOG_PATH: path.join(dir, "log"),
    PGBACKREST_LOCK_PATH: path.join(dir, "lock"),
    PGBACKREST_LOG_LEVEL_CONSOLE: "warn",
    PGBACKREST_JOB_RETRY: "0", // fail fast on the corrupted file instead of retrying for 30 s
  };
  const src = path.join(dir, "src");
  const sock = path.join(dir, "sock");
  const server = {
    ...env,
    PGBACKREST_PG1_PATH: src,
    PGBACKREST_PG1_PORT: port,
    PGBACKREST_PG1_SOCKET_PATH: sock,
  };

  before(function () {
    if (!fs.existsSync(`${PG_BIN}/initdb`)) this.skip();
    fs.writeFileSync(path.join(dir, "pgbackrest.conf"), "");
    for (const d of ["repo", "log", "lock", "sock", "bucket", "metrics"])
      fs.mkdirSync(path.join(dir, d));
    if (asRoot) spawnSync("chown", ["-R", "postgres:postgres", dir]);
    fs.chmodSync(dir, 0o755);
    const setup = [
      `initdb -D ${src} -U postgres --auth=trust >/dev/null`,
      `printf '%s\\n' "port = ${port}" "listen_addresses = ''" "unix_socket_directories = '${sock}'" "wal_level = replica" "archive_mode = on" "archive_command = 'pgbackrest --stanza=drill archive-push %p'" >> ${src}/postgresql.conf`,
      `pg_ctl -D ${src} -w -l ${dir}/src.log start >/dev/null`,
      `psql -h ${sock} -p ${port} -U postgres -d postgres -Xqc "CREATE TABLE ledger (id int PRIMARY KEY, payload text); INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1, 500) g;"`,
      `pgbackrest stanza-create`,
    ].join(" && ");
    const r = run(setup, server, 240_000);
    expect(r.code, r.out).to.equal(0);
  });

  /** Runs the rendered pgBackRest backup job script against the running cluster. */
  const backup = (type: PgBackupType, minBytes: number) => {
    const m = fs.mkdtempSync(path.join(dir, "metrics-"));
    const script = path.join(dir, `backup-${path.basename(m)}.sh`);
    fs.writeFileSync(script, renderPgBackupScript(type, minBytes));
    if (asRoot) spawnSync("chown", ["-R", "postgres:postgres", m, script]);
    const r = run(
      `bash ${script}`,
      { ...server, SITE: "primary", STANZA: "drill", METRICS_DIR: m },
      240_000,
    );
    const text = fs
      .readdirSync(m)
      .map((f) => fs.readFileSync(path.join(m, f), "utf8"))
      .join("");
    return { ...r, metrics: text };
  };

  it("the full backup job backs up, passes its guard and reports the repository size", () => {
    const r = backup("full", 1024 * 1024);
    expect(r.code, r.out).to.equal(0);
    const size = Number(
      /^backup_size_bytes\{site="primary",kind="pg-full"\} (\d+)$/m.exec(r.metrics)?.[1],
    );
    expect(size).to.be.greaterThan(1024 * 1024);
    expect(r.metrics).to.match(
      /^backup_last_success_timestamp_seconds\{site="primary",kind="pg-full"\} \d+$/m,
    );
  });

  it("the incremental job refuses success when the backup is smaller than its minimum", () => {
    const r = backup("incr", 1024 * 1024 * 1024);
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(/guard: backup \S+I is \d+ bytes, below the minimum of 1073741824/);
    expect(r.metrics)
      .to.contain("backup_last_failure_timestamp_seconds")
      .and.not.contain("backup_size_bytes");
  });

  after(() => {
    run(`pg_ctl -D ${src} -m immediate stop`, server);
  });

  const verify = (rowChecks: RowCheck[], metricsDir: string) => {
    const script = path.join(dir, `verify-${path.basename(metricsDir)}.sh`);
    fs.writeFileSync(script, renderVerifyScript({ postgres: true, redis: false, rowChecks }));
    const scratch = fs.mkdtempSync(path.join(dir, "scratch-"));
    if (asRoot) spawnSync("chown", ["-R", "postgres:postgres", scratch, metricsDir, script]);
    const r = run(
      `bash ${script}`,
      {
        ...env,
        SITE: "primary",
        STANZA: "drill",
        BUCKET: path.join(dir, "bucket"),
        METRICS_DIR: metricsDir,
        SCRATCH_DIR: scratch,
      },
      240_000,
    );
    return { ...r, scratch };
  };
  const metrics = (d: string) =>
    fs.readFileSync(path.join(d, "drstack-backup-verify-verify.prom"), "utf8");

  it("verifies the repository, restores the backup into scratch and finds the rows", () => {
    const m = fs.mkdtempSync(path.join(dir, "metrics-"));
    const r = verify(
      [{ database: "postgres", sql: "SELECT count(*) FROM ledger", minRows: 500 }],
      m,
    );
    expect(r.code, r.out).to.equal(0);
    const text = metrics(m);
    expect(text).to.match(
      /^backup_restore_verification_success\{site="primary",check="pgbackrest-verify"\} 1$/m,
    );
    expect(text).to.match(
      /^backup_restore_verification_success\{site="primary",check="postgres-restore"\} 1$/m,
    );
    expect(text).to.match(
      /^backup_restore_verification_last_run_timestamp_seconds\{site="primary"\} \d+$/m,
    );
  });

  it("reports failure when the restored data does not meet a row check", () => {
    const m = fs.mkdtempSync(path.join(dir, "metrics-"));
    const r = verify(
      [{ database: "postgres", sql: "SELECT count(*) FROM ledger", minRows: 501 }],
      m,
    );
    expect(r.code).to.not.equal(0);
    expect(r.out).to.contain("returned '500', need at least 501");
    expect(metrics(m)).to.match(/check="postgres-restore"\} 0$/m);
    // The temporary instance is stopped even though the check failed half-way.
    expect(run(`pg_ctl -D ${r.scratch}/pgdata status`, env).code).to.equal(3);
  });

  it("reports failure when a file in the repository is corrupted (pgbackrest verify)", () => {
    const backups = path.join(dir, "repo", "backup", "drill");
    const label = fs.readdirSync(backups).find((f) => /F$/.test(f))!;
    const file = path.join(backups, label, "pg_data", "PG_VERSION.gz");
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const m = fs.mkdtempSync(path.join(dir, "metrics-"));
    const r = verify([], m);
    expect(r.code).to.not.equal(0);
    expect(metrics(m)).to.match(/check="pgbackrest-verify"\} 0$/m);
  });
});
