/**
 * The pgBackRest TLS server, run for real (Debian's pgBackRest 2.45, OpenSSL, PostgreSQL 15): the
 * server's pgbackrest.conf is rendered by `renderPgBackRestConfig` with the pods' `tlsServer`
 * section and started with the sidecar's command; its certificates are throwaway ones made by
 * `openssl` from `pgBackRestTlsPlan`'s subjects and DNS names, laid out as the kubelet lays out a
 * 0600/0400 Secret with fsGroup (`..data` links, root:<group> 0640/0440). The client is given the
 * shipped primary stack's `pg-full` CronJob environment (its `PGBACKREST_PG1_*`, /tls pointing
 * at the client files) and the rendered full-backup job script backs the database up through the
 * server, which sees PGDATA read-only (a bind mount in its own mount namespace, as root) like
 * the sidecar. Clients with a wrong common name or another CA, a host name not in the certificate and a
 * world-readable key are refused; the sidecar's liveness check notices a renewed Secret.
 * (As root, PostgreSQL and both pgBackRest sides run as the `postgres` user.)
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { renderPgBackupScript } from "../components/backup/scripts";
import {
  pgBackRestArchiveCommand,
  renderPgBackRestConfig,
} from "../components/postgres/pgbackrest";
import {
  opensslSubject,
  PGBACKREST_CLIENT_CN,
  PGBACKREST_TLS_PORT,
  pgBackRestTlsPlan,
  pgBackRestServerCommand,
  podTlsServerSpec,
  tlsRenewedCheck,
  type CertSubject,
} from "../components/postgres/tls";
import { byType, planShipped } from "./support/project";

const asRoot = process.getuid?.() === 0;
const PG_BIN = "/usr/lib/postgresql/15/bin";
const PATH = `${PG_BIN}:/usr/local/bin:/usr/bin:/bin`;

function postgresIds(): { uid: number; gid: number } | undefined {
  if (!asRoot) return undefined;
  const id = (flag: string) =>
    Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** Runs a shell command as the database user (postgres when root) with exactly `env`. */
function run(cmd: string, env: Record<string, string>, timeout = 120_000) {
  const ids = postgresIds();
  const r = spawnSync("bash", ["-c", cmd], {
    encoding: "utf8",
    timeout,
    env: { PATH, ...env },
    ...(ids ?? {}),
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** A fresh P-256 key and a certificate for `subject`, signed by `ca` (or self-signed as a CA). */
function issue(
  dir: string,
  stem: string,
  subject: CertSubject,
  ext: string[],
  ca?: { cert: string; key: string },
): { cert: string; key: string } {
  const key = path.join(dir, `${stem}.key`);
  const cert = path.join(dir, `${stem}.crt`);
  const extFile = path.join(dir, `${stem}.ext`);
  fs.writeFileSync(extFile, `${ext.join("\n")}\n`);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  if (!ca) {
    openssl(
      ["req", "-x509", ...newKey, "-keyout", key, "-out", cert, "-days", "2"].concat([
        "-subj",
        opensslSubject(subject),
        "-extensions",
        "v3",
        "-config",
        extFile,
      ]),
      dir,
    );
  } else {
    const csr = path.join(dir, `${stem}.csr`);
    openssl(
      ["req", "-new", ...newKey, "-keyout", key, "-out", csr, "-subj", opensslSubject(subject)],
      dir,
    );
    openssl(
      ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial"].concat([
        "-out",
        cert,
        "-days",
        "2",
        "-extfile",
        extFile,
        "-extensions",
        "v3",
      ]),
      dir,
    );
  }
  return { cert, key };
}

const caExt = [
  "[req]",
  "distinguished_name = dn",
  "[dn]",
  "[v3]",
  "basicConstraints = critical, CA:TRUE",
  "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
];
const leafExt = (usage: string, dnsNames: readonly string[] = []) => [
  "[v3]",
  "basicConstraints = CA:FALSE",
  "keyUsage = critical, digitalSignature, keyEncipherment",
  `extendedKeyUsage = ${usage}`,
  ...(dnsNames.length > 0 ? [`subjectAltName = ${dnsNames.map((n) => `DNS:${n}`).join(",")}`] : []),
];

/** Two free loopback ports in 18000-18099 (TLS server, PostgreSQL). */
async function freePorts(): Promise<[number, number]> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  const start = 18000 + 2 * Math.floor(Math.random() * 50);
  for (let i = 0; i < 50; i++) {
    const p = 18000 + ((start - 18000 + 2 * i) % 100);
    if ((await free(p)) && (await free(p + 1))) return [p, p + 1];
  }
  throw new Error("no two free ports in 18000-18099");
}

/**
 * Writes `files` (name to source) into `dir` laid out as the kubelet lays out a Secret volume:
 * the files in a timestamped directory, `..data` linking to it, each name linking to
 * `..data/<name>`; owned root:<fsGroup> and moded as a Secret with fsGroup leaves them. Called
 * again, it publishes a new version by swapping `..data` (as an update of the Secret does).
 */
function secretVolume(dir: string, files: Record<string, string>, keyMode: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const version = `..${new Date().toISOString().replace(/\D/g, "_")}${Math.random().toString(36).slice(2, 6)}`;
  fs.mkdirSync(path.join(dir, version), { mode: 0o755 });
  const ids = postgresIds();
  for (const [name, src] of Object.entries(files)) {
    const dst = path.join(dir, version, name);
    fs.copyFileSync(src, dst);
    if (ids) fs.chownSync(dst, 0, ids.gid);
    fs.chmodSync(dst, name.endsWith(".key") ? keyMode : 0o644);
    if (!fs.existsSync(path.join(dir, name)))
      fs.symlinkSync(`..data/${name}`, path.join(dir, name));
  }
  fs.symlinkSync(version, path.join(dir, "..data_tmp"));
  fs.renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
}

describe("pgBackRest TLS server: real pgbackrest server, client over TLS, PostgreSQL 15", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pgtls-"));
  const stanza = "pg-tls-test";
  // The names the pods' server certificate carries, plus localhost to reach it here.
  const plan = pgBackRestTlsPlan({
    scope: stanza,
    namespace: "drstack-data",
    headlessService: `${stanza}-members`,
    site: "primary",
    extraDnsNames: ["localhost"],
  });
  const src = path.join(dir, "src");
  const sock = path.join(dir, "sock");
  const serverConf = path.join(dir, "server.conf");
  const cipher = { PGBACKREST_REPO1_CIPHER_PASS: "test-only-cipher-pass" };
  let tlsPort = 0;
  let pgPort = 0;
  let server: ChildProcess | undefined;
  let serverLog = "";
  let pgStarted = false;
  /** The server runs with PGDATA mounted read-only (root with mount namespaces only). */
  let readOnlyData = false;
  let jobTlsEnv: Record<string, string> = {};
  let serverFiles: Record<string, string> = {};
  const serverTls = path.join(dir, "server-tls");
  const marker = path.join(dir, "sock", "pgbackrest-tls-loaded");
  const clientDir = (name: string) => path.join(dir, "clients", name);

  /** The backup job's environment for the client files in `clients/<name>`, on `host`. */
  const clientEnv = (name: string, host = "localhost"): Record<string, string> => ({
    HOME: dir,
    PGBACKREST_CONFIG: path.join(dir, "client.conf"),
    PGBACKREST_STANZA: stanza,
    PGBACKREST_REPO1_PATH: path.join(dir, "repo"),
    PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc",
    ...cipher,
    PGBACKREST_LOG_PATH: path.join(dir, "client-log"),
    PGBACKREST_LOCK_PATH: path.join(dir, "client-lock"),
    PGBACKREST_LOG_LEVEL_CONSOLE: "warn",
    PGBACKREST_IO_TIMEOUT: "10",
    PGBACKREST_PROTOCOL_TIMEOUT: "11",
    ...Object.fromEntries(
      Object.entries(jobTlsEnv).map(([k, v]) => [k, v.replace(/^\/tls\//, `${clientDir(name)}/`)]),
    ),
    PGBACKREST_PG1_HOST: host,
    // The pods' PGDATA, socket directory and port are the job's; here the test cluster's.
    PGBACKREST_PG1_PATH: src,
    PGBACKREST_PG1_SOCKET_PATH: sock,
    PGBACKREST_PG1_PORT: String(pgPort),
    // The job relies on pgBackRest's default port (8432, the pods'); here the server's test port.
    PGBACKREST_PG1_HOST_PORT: String(tlsPort),
  });

  before(async function () {
    if (!fs.existsSync(`${PG_BIN}/initdb`)) this.skip();
    // What the shipped primary's pg-full CronJob sets for pgBackRest's database host.
    const plans = await planShipped();
    const primary = plans.find((p) => p.stack === "primary")!;
    const job = byType(primary, "kubernetes:batch/v1:CronJob").find(
      (r) => (r.inputs.metadata as { name: string }).name === "drstack-backup-pg-full",
    )!;
    const env = (job.inputs as any).spec.jobTemplate.spec.template.spec.containers[0].env as {
      name: string;
      value?: string;
    }[];
    jobTlsEnv = Object.fromEntries(
      env.filter((e) => e.name.startsWith("PGBACKREST_PG1_")).map((e) => [e.name, e.value ?? ""]),
    );
    expect(jobTlsEnv).to.include({ PGBACKREST_PG1_HOST_TYPE: "tls" });
    expect(jobTlsEnv).to.not.have.property("PGBACKREST_PG1_HOST_PORT");
    // pgBackRest passes these to the server, whose own pg1-socket-path/pg1-port do not apply.
    expect(jobTlsEnv).to.include({
      PGBACKREST_PG1_SOCKET_PATH: "/tmp",
      PGBACKREST_PG1_PORT: "5432",
      PGBACKREST_PG1_PATH: "/pgdata/pg15",
    });

    [tlsPort, pgPort] = await freePorts();
    for (const d of [
      "repo",
      "server-log",
      "server-lock",
      "client-log",
      "client-lock",
      "sock",
      "clients",
    ])
      fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, "client.conf"), "");

    // Certificates: the plan's CA, server and client, plus an intruder and a stranger CA's client.
    const certs = path.join(dir, "certs");
    fs.mkdirSync(certs, { mode: 0o700 });
    const ca = issue(certs, "ca", plan.ca.subject, caExt);
    const srv = issue(
      certs,
      "server",
      plan.server.subject,
      leafExt("serverAuth", plan.server.dnsNames),
      ca,
    );
    const cli = issue(certs, "client", plan.client.subject, leafExt("clientAuth"), ca);
    const intruder = issue(
      certs,
      "intruder",
      { ...plan.client.subject, commonName: "intruder" },
      leafExt("clientAuth"),
      ca,
    );
    const otherCa = issue(certs, "other-ca", { ...plan.ca.subject, commonName: "other CA" }, caExt);
    const stranger = issue(certs, "stranger", plan.client.subject, leafExt("clientAuth"), otherCa);

    // The server's Secret volume: 0600 + fsGroup gives root:postgres 0640; the jobs' 0400 gives 0440.
    serverFiles = { "ca.crt": ca.cert, "tls.crt": srv.cert, "tls.key": srv.key };
    secretVolume(serverTls, serverFiles, 0o640);
    const client = (name: string, c: { cert: string; key: string }, caCert = ca.cert) =>
      secretVolume(
        clientDir(name),
        { "ca.crt": caCert, "tls.crt": c.cert, "tls.key": c.key },
        0o440,
      );
    client("good", cli);
    client("intruder", intruder);
    client("stranger", stranger);
    if (!asRoot)
      for (const f of ["server-tls", "clients/good", "clients/intruder", "clients/stranger"])
        fs.chmodSync(path.join(dir, f, "tls.key"), 0o600);

    // The server's config: the pods' pgbackrest.conf shape (posix repository here), on loopback.
    fs.writeFileSync(
      serverConf,
      renderPgBackRestConfig({
        stanza,
        pgDataDir: src,
        pgPort,
        pgSocketPath: sock,
        repos: [{ type: "posix", path: path.join(dir, "repo") }],
        logPath: path.join(dir, "server-log"),
        lockPath: path.join(dir, "server-lock"),
        tlsServer: {
          ...podTlsServerSpec(plan, path.join(dir, "server-tls")),
          address: "127.0.0.1",
          port: tlsPort,
        },
      }),
    );
    if (asRoot)
      spawnSync("chown", [
        "-R",
        "postgres:postgres",
        path.join(dir, "repo"),
        ...["server-log", "server-lock", "client-log", "client-lock", "sock"].map((d) =>
          path.join(dir, d),
        ),
        serverConf,
        path.join(dir, "client.conf"),
      ]);
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(src);
    if (asRoot) spawnSync("chown", ["postgres:postgres", src]);
    fs.chmodSync(src, 0o700);

    const setup = [
      `initdb -D ${src} -U postgres --auth=trust >/dev/null`,
      `printf '%s\\n' "port = ${pgPort}" "listen_addresses = ''" "unix_socket_directories = '${sock}'" "wal_level = replica" "archive_mode = on" "archive_command = '${pgBackRestArchiveCommand(serverConf, stanza)}'" >> ${src}/postgresql.conf`,
      `pg_ctl -D ${src} -w -l ${dir}/server-log/postgresql.log start >/dev/null`,
    ].join(" && ");
    const r = run(setup, { HOME: dir, ...cipher }, 240_000);
    pgStarted = true;
    expect(r.code, r.out).to.equal(0);

    // The sidecar's own command (touches the marker, then execs the server: same PID). As root,
    // in a mount namespace of its own where PGDATA is read-only, as the sidecar mounts it.
    const command = pgBackRestServerCommand(serverConf, marker);
    readOnlyData = asRoot && spawnSync("unshare", ["-m", "true"]).status === 0;
    const argv = readOnlyData
      ? ["unshare", "-m", "sh", "-c"]
          .concat([
            `mount --bind ${src} ${src} && mount -o remount,ro,bind ${src} && exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"`,
          ])
          .concat(["sh", ...command])
      : command;
    server = spawn(argv[0], argv.slice(1), {
      env: { PATH, HOME: dir, ...cipher },
      stdio: ["ignore", "pipe", "pipe"],
      ...(readOnlyData ? {} : (postgresIds() ?? {})),
    });
    server.stdout!.on("data", (d) => (serverLog += d));
    server.stderr!.on("data", (d) => (serverLog += d));
    const ping = ["server-ping", "--tls-server-address=127.0.0.1", `--tls-server-port=${tlsPort}`];
    for (let i = 0; ; i++) {
      const p = spawnSync("pgbackrest", ping, { encoding: "utf8", env: { PATH } });
      if (p.status === 0) break;
      if (i > 50 || server.exitCode !== null)
        throw new Error(`pgbackrest server did not come up: ${serverLog}${p.stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  after(() => {
    if (server?.pid && server.exitCode === null) {
      server.kill("SIGTERM");
      spawnSync("sleep", ["0.5"]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    if (pgStarted) run(`pg_ctl -D ${src} -m immediate stop`, { HOME: dir });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("renders the server options pgBackRest reads: every interface in the pods, port 8432, the client's CN for the stanza", () => {
    const text = renderPgBackRestConfig({
      stanza,
      pgDataDir: "/pgdata/pg15",
      repos: [{ type: "posix", path: "/repo" }],
      tlsServer: podTlsServerSpec(plan),
    });
    expect(text).to.match(/^tls-server-address=\*$/m);
    expect(text).to.match(new RegExp(`^tls-server-port=${PGBACKREST_TLS_PORT}$`, "m"));
    expect(text).to.match(/^tls-server-key-file=\/etc\/pgbackrest-tls\/tls\.key$/m);
    expect(text).to.match(new RegExp(`^tls-server-auth=${PGBACKREST_CLIENT_CN}=${stanza}$`, "m"));
    // In [global], before the stanza section.
    expect(text.indexOf("tls-server-auth")).to.be.lessThan(text.indexOf(`[${stanza}]`));
  });

  it("answers server-ping on its TLS port", () => {
    const r = spawnSync(
      "pgbackrest",
      ["server-ping", "--tls-server-address=localhost", `--tls-server-port=${tlsPort}`],
      { encoding: "utf8", env: { PATH } },
    );
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  });

  it("lets the backup job's client (CN pgbackrest-client) create the stanza and take a full backup through it", () => {
    const env = clientEnv("good");
    const created = run("pgbackrest stanza-create && pgbackrest check", env, 240_000);
    expect(created.code, `${created.out}\n${serverLog}`).to.equal(0);
    const metrics = fs.mkdtempSync(path.join(dir, "metrics-"));
    const script = path.join(dir, "pg-full.sh");
    fs.writeFileSync(script, renderPgBackupScript("full", 1024 * 1024));
    if (asRoot) spawnSync("chown", ["-R", "postgres:postgres", metrics, script]);
    const r = run(
      `bash ${script}`,
      { ...env, SITE: "primary", STANZA: stanza, METRICS_DIR: metrics },
      240_000,
    );
    expect(r.code, `${r.out}\n${serverLog}`).to.equal(0);
    const text = fs
      .readdirSync(metrics)
      .map((f) => fs.readFileSync(path.join(metrics, f), "utf8"))
      .join("");
    expect(text).to.match(/^backup_size_bytes\{site="primary",kind="pg-full"\} \d+$/m);
    const info = run("pgbackrest --output=json info", env);
    expect(JSON.parse(info.out)[0].backup).to.have.length(1);
    // ... reading PGDATA through a read-only mount, as the sidecar has it.
    if (readOnlyData) {
      const mounts = fs.readFileSync(`/proc/${server!.pid}/mountinfo`, "utf8").split("\n");
      const line = mounts.find((l) => l.split(" ")[4] === src);
      expect(line, `PGDATA mount in the server's namespace`).to.match(
        /^\S+ \S+ \S+ \S+ \S+ ro[, ]/,
      );
      const write = spawnSync("nsenter", [
        `--mount=/proc/${server!.pid}/ns/mnt`,
        "touch",
        `${src}/probe`,
      ]);
      expect(write.status).to.not.equal(0);
    }
  });

  it("will not start with a key file others can read (why the pods mount the Secret 0600)", () => {
    const loose = path.join(dir, "loose-tls");
    secretVolume(loose, serverFiles, 0o644);
    const conf = path.join(dir, "loose.conf");
    fs.writeFileSync(
      conf,
      renderPgBackRestConfig({
        stanza,
        pgDataDir: src,
        repos: [{ type: "posix", path: path.join(dir, "repo") }],
        tlsServer: { ...podTlsServerSpec(plan, loose), address: "127.0.0.1", port: pgPort + 1 },
      }),
    );
    const r = run(`exec pgbackrest --config=${conf} server`, { HOME: dir }, 20_000);
    expect(r.code).to.equal(42);
    expect(r.out).to.match(/key file '.*tls\.key' has group or other permissions/);
  });

  it("its liveness check passes while the Secret is unchanged and fails once the Secret is renewed", () => {
    const [sh, ...args] = tlsRenewedCheck(serverTls, marker);
    const check = () => spawnSync(sh, args, { encoding: "utf8", env: { PATH } }).status;
    expect(fs.existsSync(marker)).to.equal(true);
    expect(check()).to.equal(0);
    spawnSync("sleep", ["0.05"]);
    secretVolume(serverTls, serverFiles, 0o640);
    expect(check()).to.equal(1);
    // Restarted (the marker touched again), the sidecar is alive, and serves the new files.
    fs.utimesSync(marker, new Date(), new Date());
    expect(check()).to.equal(0);
  });

  it("refuses a client whose certificate names another common name", () => {
    const r = run("pgbackrest check", clientEnv("intruder"));
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(
      /\[AccessError\] raised from remote-0 tls protocol on 'localhost': access denied/,
    );
  });

  it("refuses a client certificate from another CA", () => {
    const r = run("pgbackrest check", clientEnv("stranger"));
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(/TLS error .*unknown ca/);
  });

  it("is refused by the client when the host it connects to is not in the certificate", () => {
    const r = run("pgbackrest check", clientEnv("good", "127.0.0.1"));
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(
      /unable to find hostname '127\.0\.0\.1' in certificate common name or subject alternative names/,
    );
  });
});
