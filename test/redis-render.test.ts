/**
 * The rendered configs run by the real redis-server and redis-sentinel (Debian packages): a
 * master, two replicas and three sentinels on free loopback ports in 16300-16399, read back with CONFIG GET
 * and SENTINEL MASTER, auth checked, the split-brain guard exercised; stopped by PID.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  normalizeRedisSettings,
  type RedisSettings,
  renderRedisConfig,
  renderSentinelConfig,
} from "../components/redis";
import { confValue, sentinelMonitors } from "../components/redis/parse";
import { redisInitScript, sentinelInitScript } from "../components/redis/scripts";
import { Problems } from "../components/topology/errors";

const PASSWORD = "s3cretTestPassw0rd";
/** Ports in the tests' range (16300-16399), picked free at start so concurrent runs do not collide. */
const PORTS = { master: 0, replica: 0, replica2: 0, sentinels: [0, 0, 0], scratch: 0 };

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function pickPorts(n: number, from = 16300, to = 16399): Promise<number[]> {
  const span = to - from + 1;
  const start = Math.floor(Math.random() * span);
  const out: number[] = [];
  for (let i = 0; i < span && out.length < n; i++) {
    const port = from + ((start + i) % span);
    if (await portFree(port)) out.push(port);
  }
  if (out.length < n) throw new Error(`only ${out.length} free ports in ${from}-${to}`);
  return out;
}

function need(tool: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(
      `${tool} is not installed: run scripts/install-debian-deps.sh (Debian package redis-server / redis-sentinel)`,
    );
  return r.stdout.trim();
}

function cli(port: number, args: string[], password: string | null = PASSWORD): string {
  const auth = password === null ? [] : ["--no-auth-warning", "-a", password];
  const r = spawnSync(
    "redis-cli",
    ["-h", "127.0.0.1", "-p", String(port), ...auth, "--raw", ...args],
    { encoding: "utf8", timeout: 10_000 },
  );
  return (r.stdout + r.stderr).trim();
}

/** CONFIG GET / SENTINEL MASTER style replies (alternating key, value lines) as a map. */
function pairs(text: string): Record<string, string> {
  const lines = text.split("\n");
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("redis renderers under the real redis-server and redis-sentinel", function () {
  this.timeout(120_000);
  const procs: ChildProcess[] = [];
  let dir: string;
  let settings: RedisSettings;

  function start(binary: string, name: string, text: string): ChildProcess {
    const file = path.join(dir, `${name}.conf`);
    fs.writeFileSync(file, text);
    const p = spawn(binary, [file], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    p.stdout!.on("data", (d) => (log += d));
    p.stderr!.on("data", (d) => (log += d));
    p.on("exit", (code) => {
      if (code) fs.writeFileSync(path.join(dir, `${name}.log`), log);
    });
    procs.push(p);
    return p;
  }

  before(async () => {
    need("redis-server");
    need("redis-sentinel");
    need("redis-cli");
    const [master, replica, replica2, s0, s1, s2, scratch] = await pickPorts(7);
    Object.assign(PORTS, { master, replica, replica2, sentinels: [s0, s1, s2], scratch });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-redis-"));
    const problems = new Problems();
    // The split-brain guard with a 1s lag so the test can watch it engage.
    settings = normalizeRedisSettings(
      { minReplicasMaxLag: 1, downAfterMilliseconds: 2000, failoverTimeout: 10000 },
      problems,
    );
    expect(problems.list).to.deep.equal([]);
    const dataDir = (n: string) => {
      fs.mkdirSync(path.join(dir, n));
      return path.join(dir, n);
    };
    const local = { bind: "127.0.0.1", password: PASSWORD };
    start(
      "redis-server",
      "master",
      renderRedisConfig(settings, { ...local, port: PORTS.master, dataDir: dataDir("master") }),
    );
    start(
      "redis-server",
      "replica",
      renderRedisConfig(settings, {
        ...local,
        port: PORTS.replica,
        dataDir: dataDir("replica"),
        replicaOf: { host: "127.0.0.1", port: PORTS.master },
      }),
    );
    start(
      "redis-server",
      "replica2",
      renderRedisConfig(settings, {
        ...local,
        port: PORTS.replica2,
        dataDir: dataDir("replica2"),
        replicaOf: { host: "127.0.0.1", port: PORTS.master },
      }),
    );
    PORTS.sentinels.forEach((port, i) =>
      start(
        "redis-sentinel",
        `sentinel-${i}`,
        renderSentinelConfig(settings, {
          ...local,
          port,
          dataDir: dataDir(`sentinel-${i}`),
          master: { host: "127.0.0.1", port: PORTS.master },
        }),
      ),
    );
    await until("the replicas to sync", () =>
      [PORTS.replica, PORTS.replica2].every((p) =>
        cli(p, ["INFO", "replication"]).includes("master_link_status:up"),
      ),
    );
    await until("the sentinels to find each other and the replica", () =>
      PORTS.sentinels.every((p) => {
        const m = pairs(cli(p, ["SENTINEL", "MASTER", settings.masterName]));
        return m["num-other-sentinels"] === "2" && m["num-slaves"] === "2";
      }),
    );
  });

  after(() => {
    for (const p of procs) {
      if (p.exitCode !== null || p.signalCode !== null || !p.pid) continue;
      process.kill(p.pid, "SIGCONT");
      process.kill(p.pid, "SIGKILL");
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("redis-server runs the rendered config: AOF on, the split-brain guard set", () => {
    const got = pairs(cli(PORTS.master, ["CONFIG", "GET", "*"]));
    expect(got).to.include({
      appendonly: "yes",
      appendfsync: "everysec",
      "min-replicas-to-write": "1",
      "min-replicas-max-lag": "1",
      "replica-read-only": "yes",
      dir: path.join(dir, "master"),
      port: String(PORTS.master),
    });
    expect(fs.readdirSync(path.join(dir, "master"))).to.include("appendonlydir");
    expect(cli(PORTS.replica, ["ROLE"]).split("\n")[0]).to.equal("slave");
  });

  it("redis-sentinel runs the rendered config: quorum, timings and parallel-syncs as set", () => {
    for (const port of PORTS.sentinels) {
      const m = pairs(cli(port, ["SENTINEL", "MASTER", settings.masterName]));
      expect(m).to.include({
        ip: "127.0.0.1",
        port: String(PORTS.master),
        quorum: "2",
        "down-after-milliseconds": "2000",
        "failover-timeout": "10000",
        "parallel-syncs": "1",
        flags: "master",
      });
      expect(cli(port, ["SENTINEL", "CKQUORUM", settings.masterName])).to.match(
        /^OK 3 usable Sentinels/,
      );
    }
  });

  it("requires the password on Redis and on the sentinels", () => {
    for (const port of [PORTS.master, PORTS.replica, PORTS.replica2, ...PORTS.sentinels]) {
      expect(cli(port, ["PING"], null), `port ${port}`).to.match(/NOAUTH/);
      expect(cli(port, ["PING"], "wrong-password"), `port ${port}`).to.match(
        /WRONGPASS|invalid password/i,
      );
      expect(cli(port, ["PING"])).to.equal("PONG");
    }
  });

  it("an isolated master stops taking writes after min-replicas-max-lag, and resumes with its replicas", async () => {
    expect(cli(PORTS.master, ["SET", "k", "before"])).to.equal("OK");
    await until(
      "the write to reach the replica",
      () => cli(PORTS.replica, ["GET", "k"]) === "before",
    );
    const replicas = [procs[1], procs[2]];
    for (const r of replicas) process.kill(r.pid!, "SIGSTOP"); // cut off: no more acks
    try {
      const t0 = Date.now();
      await until(
        "the master to refuse writes",
        () => cli(PORTS.master, ["SET", "k", "isolated"]).includes("NOREPLICAS"),
        10_000,
      );
      // Measured: the guard engages within the lag (1s) plus the 1s ack period.
      expect(Date.now() - t0).to.be.below(5_000);
    } finally {
      for (const r of replicas) process.kill(r.pid!, "SIGCONT");
    }
    await until("writes to resume", () => cli(PORTS.master, ["SET", "k", "after"]) === "OK");
  });

  it("the sentinel rewrites its config file at run time (so pods start from a writable copy)", () => {
    const text = fs.readFileSync(path.join(dir, "sentinel-0.conf"), "utf8");
    expect(text).to.match(/^sentinel myid [0-9a-f]{40}$/m);
    expect(text).to.match(
      new RegExp(`^sentinel known-replica drstack 127\\.0\\.0\\.1 ${PORTS.replica}$`, "m"),
    );
    const [m] = sentinelMonitors(text);
    expect(m).to.include({ masterName: "drstack", quorum: 2, port: PORTS.master });
  });

  describe("the pods' init scripts", () => {
    function runInit(
      script: string,
      env: Record<string, string>,
    ): { code: number; out: string; conf: string } {
      const cfg = fs.mkdtempSync(path.join(dir, "cfg-"));
      const run = fs.mkdtempSync(path.join(dir, "run-"));
      fs.writeFileSync(
        path.join(cfg, "redis.conf"),
        renderRedisConfig(settings, { bind: "0.0.0.0", port: 6379, dataDir: "/data" }),
      );
      fs.writeFileSync(
        path.join(cfg, "sentinel.conf"),
        renderSentinelConfig(settings, {
          bind: "0.0.0.0",
          port: 26379,
          dataDir: "/run/redis",
          hostnames: true,
          master: { host: "redis-0.redis-headless.ns.svc.cluster.local", port: 6379 },
        }),
      );
      const r = spawnSync("sh", ["-c", script], {
        encoding: "utf8",
        timeout: 30_000,
        env: {
          PATH: process.env.PATH,
          CONFIG_DIR: cfg,
          RUN_DIR: run,
          REDIS_PASSWORD: PASSWORD,
          MASTER_NAME: "drstack",
          ...env,
        },
      });
      const file = fs.readdirSync(run)[0];
      return {
        code: r.status ?? -1,
        out: r.stdout + r.stderr,
        conf: file ? fs.readFileSync(path.join(run, file), "utf8") : "",
      };
    }
    const headless = {
      REDIS_HEADLESS: "redis-headless.ns.svc.cluster.local",
      SENTINEL_SERVICE: "127.0.0.1",
    };

    it("a Redis pod follows the master the sentinels report", () => {
      const r = runInit(redisInitScript(), {
        ...headless,
        HOSTNAME: "redis-0",
        MODE: "primary",
        SENTINEL_PORT: String(PORTS.sentinels[0]),
      });
      expect(r.code, r.out).to.equal(0);
      expect(confValue(r.conf, "replicaof")).to.equal(`127.0.0.1 ${PORTS.master}`);
      expect(confValue(r.conf, "requirepass")).to.equal(PASSWORD);
      expect(confValue(r.conf, "masterauth")).to.equal(PASSWORD);
      expect(confValue(r.conf, "replica-announce-ip")).to.equal(
        "redis-0.redis-headless.ns.svc.cluster.local",
      );
    });

    it("with no sentinel answering, pod 0 starts as master and the others replicate it", () => {
      const none = { ...headless, MODE: "primary", SENTINEL_PORT: String(PORTS.scratch) };
      const pod0 = runInit(redisInitScript(), { ...none, HOSTNAME: "redis-0" });
      expect(pod0.code, pod0.out).to.equal(0);
      expect(confValue(pod0.conf, "replicaof")).to.equal(undefined);
      const pod2 = runInit(redisInitScript(), { ...none, HOSTNAME: "redis-2" });
      expect(confValue(pod2.conf, "replicaof")).to.equal(
        "redis-0.redis-headless.ns.svc.cluster.local 6379",
      );
    });

    it("a standby follows the primary site from pod 0, and refuses to start without its endpoint", () => {
      const up = {
        ...headless,
        MODE: "replica",
        UPSTREAM_HOST: "redis.primary.example",
        UPSTREAM_PORT: "6380",
      };
      expect(
        confValue(runInit(redisInitScript(), { ...up, HOSTNAME: "redis-0" }).conf, "replicaof"),
      ).to.equal("redis.primary.example 6380");
      expect(
        confValue(runInit(redisInitScript(), { ...up, HOSTNAME: "redis-1" }).conf, "replicaof"),
      ).to.equal("redis-0.redis-headless.ns.svc.cluster.local 6379");
      const missing = runInit(redisInitScript(), { ...up, UPSTREAM_HOST: "", HOSTNAME: "redis-0" });
      expect(missing.code).to.not.equal(0);
      expect(missing.out).to.match(/exports no cross-site redis endpoint/);
    });

    it("the sentinel script's output is accepted by redis-sentinel", async () => {
      // No peer resolves here, so it keeps the rendered master; point it at the local master to start it.
      const r = runInit(sentinelInitScript(settings, true), {
        HOSTNAME: "redis-sentinel-0",
        SENTINEL_HEADLESS: "invalid.",
        SENTINELS: "3",
        SENTINEL_PORT: String(PORTS.scratch),
      });
      expect(r.code, r.out).to.equal(0);
      const text = r.conf
        .replace(/^port 26379$/m, `port ${PORTS.scratch}`)
        .replace(/^bind 0\.0\.0\.0$/m, "bind 127.0.0.1")
        .replace(/^dir .*$/m, `dir "${dir}"`)
        .replace(
          /^sentinel monitor drstack \S+ 6379/m,
          `sentinel monitor drstack 127.0.0.1 ${PORTS.master}`,
        )
        .replace(/^sentinel announce-ip .*$/m, "");
      expect(sentinelMonitors(text)[0].options).to.include({ "auth-pass": PASSWORD });
      start("redis-sentinel", "scratch-sentinel", text);
      await until(
        "the scripted sentinel to monitor the master",
        () => pairs(cli(PORTS.scratch, ["SENTINEL", "MASTER", "drstack"])).flags === "master",
      );
    });
  });

  describe("a real failover with the rendered settings", () => {
    it("promotes a replica when the master stops; the new master takes writes; the old one rejoins as a replica", async () => {
      const master = procs[0];
      const t0 = Date.now();
      process.kill(master.pid!, "SIGSTOP");
      let promoted = 0;
      try {
        await until(
          "the sentinels to promote a replica",
          () => {
            const [, port] = cli(PORTS.sentinels[0], [
              "SENTINEL",
              "GET-MASTER-ADDR-BY-NAME",
              "drstack",
            ]).split("\n");
            promoted = Number(port);
            return promoted === PORTS.replica || promoted === PORTS.replica2;
          },
          40_000,
        );
        const seconds = (Date.now() - t0) / 1000;
        // Measured (printed): detection (down-after 2000 ms) + vote + promotion.
        console.log(`      failover: new master :${promoted} after ${seconds.toFixed(1)} s`);
        // A split vote among the sentinels retries after 2 x failover-timeout; normally it is ~3 s.
        expect(seconds).to.be.below(
          (2 * settings.failoverTimeout + settings.downAfterMilliseconds) / 1000 + 2,
        );
        // With 2 replicas the new master keeps one, so min-replicas-to-write lets it take writes.
        await until(
          "the new master to take writes",
          () => cli(promoted, ["SET", "k", "failed-over"]) === "OK",
          20_000,
        );
      } finally {
        process.kill(master.pid!, "SIGCONT");
      }
      await until(
        "the old master to rejoin as a replica",
        () => cli(PORTS.master, ["ROLE"]).split("\n")[0] === "slave",
        30_000,
      );
      await until(
        "the old master to catch up",
        () => cli(PORTS.master, ["GET", "k"]) === "failed-over",
        20_000,
      );
    });
  });
});
