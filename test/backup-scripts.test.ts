/**
 * The rendered backup scripts run by real bash against real files and tools: the size guard
 * rejects missing, empty and too-small artifacts; the Redis job snapshots a real redis-server
 * found through a real Sentinel and uploads with rclone (local backend) with a verified checksum;
 * the key job encrypts with gpg; restore verification runs redis-check-rdb and reports failure
 * for a corrupted snapshot. Metrics are read from the textfile output (METRICS_DIR).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  PG_INFO_GUARD,
  renderCopyScript,
  renderCustodialKeysScript,
  renderKeysBackupScript,
  renderPrelude,
  renderRedisBackupScript,
} from "../components/backup/scripts";
import { pushgatewayWebConfig } from "../components/monitoring/scrape";
import { runCli } from "./support/project";
import {
  REDIS_STEP_RESULT,
  renderVerifyRedisStep,
  renderVerifyScript,
} from "../components/backup/verify";

function tmp(prefix = "drstack-backup-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bash(script: string, env: Record<string, string>, cwd = os.tmpdir()): Run {
  const file = path.join(tmp(), "job.sh");
  fs.writeFileSync(file, script);
  const r = spawnSync("bash", [file], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function metrics(dir: string): string {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".prom"))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .join("");
}

function guard(file: string, min: number): Run {
  const dir = tmp();
  return bash(`${renderPrelude("test")}\nguard_artifact ${JSON.stringify(file)} ${min}\n`, {
    SITE: "primary",
    METRICS_DIR: dir,
  });
}

describe("backup scripts: artifact guard (bash on real files)", () => {
  it("rejects an empty file", () => {
    const f = path.join(tmp(), "dump.rdb");
    fs.writeFileSync(f, "");
    const r = guard(f, 1);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("is empty");
  });

  it("rejects a missing file", () => {
    const r = guard(path.join(tmp(), "nothing.rdb"), 1);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("was not produced");
  });

  it("rejects a suspiciously small file (20 bytes against a 256-byte minimum)", () => {
    const f = path.join(tmp(), "dump.rdb");
    fs.writeFileSync(f, "x".repeat(20));
    const r = guard(f, 256);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("20 bytes, below the minimum of 256");
  });

  it("accepts a good file and prints its size", () => {
    const f = path.join(tmp(), "dump.rdb");
    fs.writeFileSync(f, "x".repeat(4096));
    const r = guard(f, 256);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal("4096");
  });

  it("a failing job publishes backup_last_failure_timestamp_seconds and no success", () => {
    const dir = tmp();
    const f = path.join(tmp(), "empty");
    fs.writeFileSync(f, "");
    const r = bash(
      `${renderPrelude("redis")}\nsize=$(guard_artifact ${f} 1)\nreport_success "$size"\n`,
      { SITE: "primary", METRICS_DIR: dir },
    );
    expect(r.code).to.not.equal(0);
    const m = metrics(dir);
    expect(m).to.match(
      /^backup_last_failure_timestamp_seconds\{site="primary",kind="redis"\} \d+$/m,
    );
    expect(m).to.not.contain("backup_last_success_timestamp_seconds");
  });
});

describe("backup scripts: pgBackRest info guard (python3 on real info JSON)", () => {
  const info = (backups: object[]) => {
    const f = path.join(tmp(), "info.json");
    fs.writeFileSync(f, JSON.stringify([{ name: "pg", backup: backups }]));
    return f;
  };
  const run = (file: string, before: string, type: string, min: number) =>
    bash(
      `${renderPrelude("pg-full")}${PG_INFO_GUARD}\nguard_pgbackrest_info ${file} "${before}" ${type} ${min}\n`,
      { SITE: "primary", METRICS_DIR: tmp() },
    );
  const full = {
    label: "20260101-020000F",
    type: "full",
    info: { repository: { delta: 5_000_000, size: 5_000_000 } },
  };

  it("accepts a new full backup above the minimum", () => {
    const r = run(info([full]), "", "full", 1048576);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal("5000000");
  });

  it("rejects when no new backup was recorded", () => {
    const r = run(info([full]), full.label, "full", 1);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("no new backup");
  });

  it("rejects an empty repository and a backup of the wrong type or size", () => {
    expect(run(info([]), "", "full", 1).code).to.not.equal(0);
    expect(run(info([full]), "", "incr", 1).stderr).to.contain("expected incr");
    const tiny = { ...full, info: { repository: { delta: 20, size: 20 } } };
    expect(run(info([tiny]), "", "full", 1048576).stderr).to.contain("20 bytes, below the minimum");
  });
});

/** A port in this suite's range (24500-24899, pairs: port and port + 1). */
function freePort(): number {
  return 24500 + 2 * Math.floor(Math.random() * 200);
}

async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("backup scripts: Redis snapshot and restore verification (real redis-server, Sentinel, rclone)", function () {
  this.timeout(120_000);
  const procs: ChildProcess[] = [];
  const dir = tmp("drstack-redis-");
  const redisPort = freePort();
  const sentinelPort = redisPort + 1;
  const bucket = path.join(dir, "bucket");
  const env = (metricsDir: string): Record<string, string> => ({
    SITE: "primary",
    BUCKET: bucket,
    METRICS_DIR: metricsDir,
    SCRATCH_DIR: tmp(),
    HOME: dir,
    SENTINEL_HOST: "127.0.0.1",
    SENTINEL_PORT: String(sentinelPort),
    REDIS_MASTER_NAME: "drstack",
    RCLONE_CONFIG_BACKUP_TYPE: "local",
  });
  const cli = (...args: string[]) =>
    spawnSync("redis-cli", ["-p", String(redisPort), ...args], { encoding: "utf8" });

  before(async () => {
    fs.mkdirSync(bucket);
    procs.push(
      spawn(
        "redis-server",
        [
          "--port",
          String(redisPort),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
        ],
        { stdio: "ignore" },
      ),
    );
    const conf = path.join(dir, "sentinel.conf");
    fs.writeFileSync(
      conf,
      `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor drstack 127.0.0.1 ${redisPort} 1\n`,
    );
    procs.push(spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" }));
    await waitFor(
      () =>
        spawnSync(
          "redis-cli",
          ["-p", String(sentinelPort), "SENTINEL", "get-master-addr-by-name", "drstack"],
          { encoding: "utf8" },
        ).stdout.includes(String(redisPort)),
      "sentinel",
    );
  });
  after(() => {
    for (const p of procs) p.kill("SIGTERM");
  });

  it("refuses to report success for an empty dataset's snapshot (below the minimum)", () => {
    const m = tmp();
    const r = bash(renderRedisBackupScript(256), env(m));
    expect(r.code, r.stdout + r.stderr).to.not.equal(0);
    expect(r.stderr).to.contain("below the minimum of 256");
    expect(metrics(m))
      .to.contain("backup_last_failure_timestamp_seconds")
      .and.not.contain("backup_size_bytes");
  });

  it("snapshots a real dataset, checks it with redis-check-rdb, uploads it with a matching checksum and reports its size", () => {
    for (let i = 0; i < 200; i++) cli("SET", `key:${i}`, "v".repeat(100));
    const m = tmp();
    const r = bash(renderRedisBackupScript(256), env(m));
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const uploaded = fs.readdirSync(path.join(bucket, "redis", "primary"));
    const rdb = uploaded.find((f) => f.endsWith(".rdb"))!;
    expect(uploaded).to.include(`${rdb}.sha256`);
    const data = fs.readFileSync(path.join(bucket, "redis", "primary", rdb));
    const sum = spawnSync("sha256sum", [path.join(bucket, "redis", "primary", rdb)], {
      encoding: "utf8",
    }).stdout.split(" ")[0];
    expect(
      fs.readFileSync(path.join(bucket, "redis", "primary", `${rdb}.sha256`), "utf8").trim(),
    ).to.equal(sum);
    const text = metrics(m);
    expect(text).to.match(
      new RegExp(`^backup_size_bytes\\{site="primary",kind="redis"\\} ${data.length}$`, "m"),
    );
    expect(text).to.match(
      /^backup_last_success_timestamp_seconds\{site="primary",kind="redis"\} \d{10}$/m,
    );
  });

  it("restore verification passes on the uploaded snapshot and fails (metric 0) once it is corrupted", () => {
    const script = renderVerifyScript({ postgres: false, redis: true, rowChecks: [] });
    const ok = tmp();
    const r = bash(script, env(ok));
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(metrics(ok)).to.match(
      /^backup_restore_verification_success\{site="primary",check="redis-rdb"\} 1$/m,
    );

    const folder = path.join(bucket, "redis", "primary");
    const rdb = fs
      .readdirSync(folder)
      .filter((f) => f.endsWith(".rdb"))
      .sort()
      .pop()!;
    const file = path.join(folder, rdb);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);
    fs.writeFileSync(
      `${file}.sha256`,
      spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0],
    ); // checksum matches: only redis-check-rdb can tell
    const bad = tmp();
    const r2 = bash(script, env(bad));
    expect(r2.code).to.not.equal(0);
    expect(metrics(bad)).to.match(
      /^backup_restore_verification_success\{site="primary",check="redis-rdb"\} 0$/m,
    );
  });
  it("refuses a truncated dump (redis-check-rdb) with a message and uploads nothing", () => {
    // A dump cut short in transit: the real redis-cli writes it, then it loses its second half.
    const bin = tmp();
    fs.writeFileSync(
      path.join(bin, "redis-cli"),
      `#!/bin/bash\n${spawnSync("bash", ["-c", "command -v redis-cli"], { encoding: "utf8" }).stdout.trim()} "$@" || exit $?\n` +
        `prev=""; for a in "$@"; do if [ "$prev" = --rdb ]; then truncate -s $(( $(stat -c %s "$a") / 2 )) "$a"; fi; prev=$a; done\n`,
      { mode: 0o755 },
    );
    const before = fs.readdirSync(path.join(bucket, "redis", "primary")).sort();
    const m = tmp();
    const r = bash(renderRedisBackupScript(256), {
      ...env(m),
      PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    });
    expect(r.code, r.stdout + r.stderr).to.not.equal(0);
    expect(r.stdout + r.stderr).to.match(/RDB ERROR|Unexpected EOF|FAILED/);
    expect(fs.readdirSync(path.join(bucket, "redis", "primary")).sort()).to.deep.equal(before);
    expect(metrics(m))
      .to.contain("backup_last_failure_timestamp_seconds")
      .and.not.contain("backup_size_bytes");
  });

  it("a refused upload (read-only WebDAV bucket) fails the job and leaves the previous backup intact", async () => {
    const folder = path.join(bucket, "redis", "primary");
    const snapshot = () =>
      Object.fromEntries(
        fs.readdirSync(folder).map((f) => [f, fs.readFileSync(path.join(folder, f), "hex")]),
      );
    // A good backup first (object names have one-second resolution), then the failing one.
    spawnSync("sleep", ["1.1"]);
    cli("SET", "after-corruption", "x".repeat(1000));
    const good = bash(renderRedisBackupScript(256), env(tmp()));
    expect(good.code, good.stdout + good.stderr).to.equal(0);
    const before = snapshot();
    // The same bucket served read-only by a real WebDAV server (rclone serve): every PUT is refused.
    const port = 24900 + Math.floor(Math.random() * 90);
    const server = spawn(
      "rclone",
      ["serve", "webdav", "--read-only", "--addr", `127.0.0.1:${port}`, path.dirname(bucket)],
      { stdio: "ignore", env: { ...process.env, HOME: dir } },
    );
    procs.push(server);
    const dav = {
      RCLONE_CONFIG_BACKUP_TYPE: "webdav",
      RCLONE_CONFIG_BACKUP_URL: `http://127.0.0.1:${port}/`,
      BUCKET: path.basename(bucket),
    };
    await waitFor(
      () =>
        spawnSync("rclone", ["lsf", `backup:${dav.BUCKET}/redis/primary/`], {
          env: { ...process.env, HOME: dir, ...dav },
        }).status === 0,
      "rclone serve webdav",
    );
    spawnSync("sleep", ["1.1"]);
    const m = tmp();
    const r = bash(renderRedisBackupScript(256), { ...env(m), ...dav });
    expect(r.code, r.stdout + r.stderr).to.not.equal(0);
    expect(r.stderr).to.match(/Failed to copy|403|read only|Forbidden/i);
    expect(snapshot()).to.deep.equal(before);
    expect(metrics(m)).to.not.contain("backup_last_success_timestamp_seconds");
    // The previous snapshot still verifies, read through the same server.
    const v = tmp();
    const ok = bash(renderVerifyScript({ postgres: false, redis: true, rowChecks: [] }), {
      ...env(v),
      ...dav,
    });
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    server.kill("SIGTERM");
  });

  it("the verify job's Redis init step hands its result to the main container through /scratch", () => {
    const scratch = tmp();
    const m = tmp();
    const e = { ...env(m), SCRATCH_DIR: scratch };
    const step = bash(renderVerifyRedisStep(), e);
    expect(step.code, step.stdout + step.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(scratch, REDIS_STEP_RESULT), "utf8").trim()).to.equal("1");
    const main = bash(renderVerifyScript({ postgres: false, redis: "step", rowChecks: [] }), e);
    expect(main.code, main.stdout + main.stderr).to.equal(0);
    expect(metrics(m)).to.match(
      /^backup_restore_verification_success\{site="primary",check="redis-rdb"\} 1$/m,
    );
    // No result (the step never ran): the main container reports the check failed.
    const m2 = tmp();
    const none = bash(renderVerifyScript({ postgres: false, redis: "step", rowChecks: [] }), {
      ...env(m2),
      SCRATCH_DIR: tmp(),
    });
    expect(none.code).to.not.equal(0);
    expect(metrics(m2)).to.match(/check="redis-rdb"\} 0$/m);
  });
});

describe("backup scripts: validator keys encrypted client-side (real gpg, rclone)", function () {
  this.timeout(120_000);
  const dir = tmp("drstack-keys-");
  const home = path.join(dir, "gnupg-owner");
  const recipient = path.join(dir, "recipient.asc");
  const bucket = path.join(dir, "bucket");
  const env = (keys: string, m: string) => ({
    SITE: "primary",
    BUCKET: bucket,
    METRICS_DIR: m,
    SCRATCH_DIR: tmp(),
    HOME: dir,
    KEYS_DIR: keys,
    RECIPIENT_FILE: recipient,
    RCLONE_CONFIG_BACKUP_TYPE: "local",
  });

  before(() => {
    fs.mkdirSync(bucket);
    fs.mkdirSync(home, { mode: 0o700 });
    const gen = spawnSync(
      "gpg",
      [
        "--batch",
        "--homedir",
        home,
        "--passphrase",
        "",
        "--quick-gen-key",
        "drstack backup owner <owner@example.invalid>",
        "future-default",
        "default",
        "never",
      ],
      { encoding: "utf8" },
    );
    expect(gen.status, gen.stderr).to.equal(0);
    fs.writeFileSync(
      recipient,
      spawnSync("gpg", ["--batch", "--homedir", home, "--armor", "--export"], { encoding: "utf8" })
        .stdout,
    );
  });

  it("refuses to back up an empty key directory", () => {
    const keys = tmp();
    const r = bash(renderKeysBackupScript(64), env(keys, tmp()));
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("holds no files");
  });

  it("refuses a key directory holding less key material than the minimum", () => {
    const keys = tmp();
    fs.writeFileSync(path.join(keys, "priv_validator_key.json"), "{}");
    const m = tmp();
    const r = bash(renderKeysBackupScript(64), env(keys, m));
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("2 bytes of key material, below the minimum of 64");
    expect(metrics(m)).to.contain("backup_last_failure_timestamp_seconds");
  });

  it("uploads an OpenPGP message only the owner's private key opens, holding the key files", () => {
    const keys = tmp();
    fs.writeFileSync(
      path.join(keys, "priv_validator_key.json"),
      JSON.stringify({
        address: "A".repeat(40),
        pub_key: { type: "ed25519", value: "P".repeat(44) },
        priv_key: { type: "ed25519", value: `SECRET-KEY-MATERIAL${"s".repeat(69)}` },
      }),
    );
    fs.writeFileSync(path.join(keys, "config.toml"), "moniker = 'val-a'\n");
    const r = bash(renderKeysBackupScript(64), env(keys, tmp()));
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const folder = path.join(bucket, "keys", "primary");
    const file = path.join(
      folder,
      fs.readdirSync(folder).find((f) => f.endsWith(".tar.gpg"))!,
    );
    expect(fs.readFileSync(file).includes("SECRET-KEY-MATERIAL")).to.equal(false);
    const dec = spawnSync(
      "bash",
      ["-c", `gpg --batch --homedir ${home} --decrypt ${file} 2>/dev/null | tar -tf -`],
      { encoding: "utf8" },
    );
    expect(dec.stdout).to.contain("priv_validator_key.json").and.contain("config.toml");
  });
});

describe("backup scripts: bucket copy (rclone, local backend)", () => {
  it("copies every object to the target bucket, checks it and reports the copied size", () => {
    const src = tmp();
    const dst = tmp();
    fs.mkdirSync(path.join(src, "redis", "primary"), { recursive: true });
    fs.writeFileSync(path.join(src, "redis", "primary", "a.rdb"), "r".repeat(1000));
    fs.writeFileSync(path.join(src, "keys.tar.gpg"), "k".repeat(500));
    const m = tmp();
    const r = bash(renderCopyScript("copy-replica"), {
      SITE: "primary",
      BUCKET: src,
      TARGET_BUCKET: dst,
      METRICS_DIR: m,
      HOME: tmp(),
      RCLONE_CONFIG_BACKUP_TYPE: "local",
      RCLONE_CONFIG_TARGET_TYPE: "local",
    });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(dst, "redis", "primary", "a.rdb"), "utf8")).to.equal(
      "r".repeat(1000),
    );
    expect(metrics(m)).to.match(/^backup_size_bytes\{site="primary",kind="copy-replica"\} 1500$/m);
  });
});

describe("backup scripts: metrics without curl (bash /dev/tcp to a real Pushgateway with basic auth)", function () {
  this.timeout(60_000);
  let proc: ChildProcess | undefined;
  const port = 24990 + Math.floor(Math.random() * 9);
  before(async () => {
    const dir = tmp();
    const hash = spawnSync("htpasswd", ["-nbBC", "10", "drstack", "s3cret"], { encoding: "utf8" })
      .stdout.trim()
      .split(":")[1];
    const web = path.join(dir, "web.yml");
    fs.writeFileSync(web, pushgatewayWebConfig("drstack", hash));
    proc = spawn(
      "prometheus-pushgateway",
      [`--web.listen-address=127.0.0.1:${port}`, `--web.config.file=${web}`],
      { stdio: "ignore" },
    );
    await waitFor(() => bash(`exec 3<>/dev/tcp/127.0.0.1/${port}`, {}).code === 0, "pushgateway");
  });
  after(() => proc?.kill("SIGTERM"));

  it("http_post pushes the metrics the job reports; wrong credentials are an error", () => {
    const body = path.join(tmp(), "m.prom");
    fs.writeFileSync(
      body,
      '# TYPE backup_size_bytes gauge\nbackup_size_bytes{site="primary",kind="redis"} 4242\n',
    );
    const url = `http://127.0.0.1:${port}/metrics/job/drstack-backup/site/primary/kind/redis`;
    const push = (password: string) =>
      bash(
        `${renderPrelude("redis")}\nhttp_post ${JSON.stringify(url)} ${JSON.stringify(body)}\n`,
        {
          SITE: "primary",
          PUSHGATEWAY_USER: "drstack",
          PUSHGATEWAY_PASSWORD: password,
        },
      );
    const ok = push("s3cret");
    expect(ok.code, ok.stderr).to.equal(0);
    const scraped = spawnSync(
      "curl",
      ["-fsS", "-u", "drstack:s3cret", `http://127.0.0.1:${port}/metrics`],
      {
        encoding: "utf8",
      },
    ).stdout;
    expect(scraped).to.match(/^backup_size_bytes\{.*kind="redis".*site="primary"\} 4242$/m);
    const bad = push("wrong");
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain("401");
  });
});

describe("backup scripts: custodial key backup job (real node sealing, rclone; opened by drstack keys restore --sealed)", function () {
  this.timeout(120_000);
  const dir = tmp("drstack-custody-");
  const keys = path.join(dir, "keys");
  const bucket = path.join(dir, "bucket");
  const kdf = ["--kdf-memory", "64", "--kdf-time", "1", "--kdf-lanes", "1"];
  let publicKey = "";
  const env = (m: string, extra: Record<string, string> = {}) => ({
    SITE: "primary",
    BUCKET: bucket,
    METRICS_DIR: m,
    SCRATCH_DIR: tmp(),
    HOME: dir,
    KEYS_DIR: keys,
    RECOVERY_PUBLIC_KEY: publicKey,
    RECOVERY_SHARES: "5",
    RECOVERY_THRESHOLD: "3",
    RCLONE_CONFIG_BACKUP_TYPE: "local",
    ...extra,
  });
  before(() => {
    fs.mkdirSync(keys);
    fs.mkdirSync(bucket);
    // As a Secret volume mounts them: files are links into a ..data directory.
    fs.mkdirSync(path.join(keys, "..data"));
    fs.writeFileSync(
      path.join(keys, "..data", "priv_validator_key.json"),
      `{"priv_key":"${"k".repeat(120)}"}\n`,
    );
    fs.writeFileSync(
      path.join(keys, "..data", "node_key.json"),
      Buffer.from([1, 2, 3, 0, 255, 10]),
    );
    fs.symlinkSync("..data/priv_validator_key.json", path.join(keys, "priv_validator_key.json"));
    fs.symlinkSync("..data/node_key.json", path.join(keys, "node_key.json"));
    const r = runCli([
      "keys",
      "recovery-key",
      "--out",
      path.join(dir, "recovery"),
      "--shares-out",
      path.join(dir, "shares"),
      ...kdf,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    publicKey = /recovery public key: ([0-9a-f]{64})/.exec(r.stdout)![1];
  });

  it("refuses a wrong recovery key and too little key material", () => {
    const bad = bash(renderCustodialKeysScript(64), env(tmp(), { RECOVERY_PUBLIC_KEY: "abc" }));
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain("RECOVERY_PUBLIC_KEY must be");
    const small = bash(renderCustodialKeysScript(100_000), env(tmp()));
    expect(small.code).to.not.equal(0);
    expect(small.stderr).to.contain("below the minimum of 100000");
    expect(fs.readdirSync(bucket)).to.deep.equal([]);
  });

  it("seals the keys to the recovery key, uploads only ciphertext and share metadata, and 3 custodians restore them byte for byte", () => {
    const m = tmp();
    const r = bash(renderCustodialKeysScript(64), env(m));
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const folder = path.join(bucket, "keys", "primary");
    const stored = fs.readdirSync(folder);
    const sealed = stored.find((f) => f.endsWith(".sealed.json"))!;
    expect(stored).to.deep.equal([sealed, `${sealed}.sha256`]);
    const text = fs.readFileSync(path.join(folder, sealed), "utf8");
    expect(text).to.not.contain("kkkk");
    const header = JSON.parse(JSON.parse(text).header);
    expect(header.recipient).to.deep.equal({ publicKey, shares: 5, threshold: 3 });
    expect(header.files.map((f: { name: string }) => f.name)).to.deep.equal([
      "node_key.json",
      "priv_validator_key.json",
    ]);
    expect(text).to.not.match(/"share"|wrapped/);
    expect(metrics(m)).to.match(/^backup_size_bytes\{site="primary",kind="keys"\} \d+$/m);
    const shares = fs.readdirSync(path.join(dir, "shares")).sort();
    const out = path.join(dir, "restored");
    const restore = runCli([
      "keys",
      "restore",
      "--sealed",
      path.join(folder, sealed),
      "--backup",
      path.join(dir, "recovery", "backup.json"),
      ...[shares[0], shares[2], shares[4]].flatMap((s) => ["--share", path.join(dir, "shares", s)]),
      "--out",
      out,
    ]);
    expect(restore.code, restore.stderr).to.equal(0);
    for (const f of ["priv_validator_key.json", "node_key.json"])
      expect(
        fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(keys, f))),
      ).to.equal(true);
    // An altered sealed backup is refused and nothing is written.
    const doc = JSON.parse(text);
    doc.header = doc.header.replace('"site":"primary"', '"site":"dr"');
    fs.writeFileSync(path.join(dir, "altered.json"), JSON.stringify(doc));
    const altered = runCli([
      "keys",
      "restore",
      "--sealed",
      path.join(dir, "altered.json"),
      "--backup",
      path.join(dir, "recovery", "backup.json"),
      ...shares.slice(0, 3).flatMap((s) => ["--share", path.join(dir, "shares", s)]),
      "--out",
      path.join(dir, "none"),
    ]);
    expect(altered.code).to.equal(1);
    expect(altered.stderr).to.contain("does not open");
    expect(fs.existsSync(path.join(dir, "none"))).to.equal(false);
  });
});
