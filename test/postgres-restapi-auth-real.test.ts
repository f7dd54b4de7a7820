/**
 * Patroni's REST API with the stack's basic auth and HTTPS, run for real (Debian's Patroni 3.0.2,
 * etcd, PostgreSQL 15): the member's patroni.yaml is rendered by `renderPatroniConfig` with the
 * `restApi` the pods get (user in the file, password only in `PATRONI_RESTAPI_PASSWORD`, PEM
 * files from a throwaway CA made by `openssl`), Patroni runs as `postgres` with exactly that
 * environment (`env -i`). Unauthenticated and wrong-password POST /restart, POST /failover and
 * PATCH /config are refused (401); the failover engine's client (`restAuth`, the CA through
 * NODE_EXTRA_CA_CERTS), the in-pod request the Kubernetes driver sends, and patronictl (its
 * `ctl.cacert`) are let in; plain HTTP gets no answer. Ports 27000-27499.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { renderPatroniConfig } from "../components/postgres/patroni";
import { inPodRequestScript } from "../failover/kubernetes";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const PATH = `${PG_BIN}:/usr/local/bin:/usr/bin:/bin`;
const PORTS = { etcdClient: 27101, etcdPeer: 27102, pg: 27132, rest: 27108 };
const USER = "drstack";
const PASSWORD = "rest-test-password-0123456789";

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

/** One HTTPS request to the REST API, verifying the certificate against `ca`. */
function call(
  ca: string,
  method: string,
  p: string,
  opts: { auth?: string; body?: unknown } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      {
        host: "127.0.0.1",
        port: PORTS.rest,
        method,
        path: p,
        ca,
        timeout: 10_000,
        headers: {
          ...(opts.auth
            ? { authorization: `Basic ${Buffer.from(opts.auth).toString("base64")}` }
            : {}),
          ...(data
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) }
            : {}),
        },
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    if (data) req.write(data);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Patroni REST API: basic auth and HTTPS, real Patroni 3.0.2 + etcd + PostgreSQL 15", function () {
  this.timeout(240_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-restauth-"));
  const tls = path.join(dir, "tls");
  const conf = path.join(dir, "patroni.yaml");
  const procs: ChildProcess[] = [];
  const logs: Record<string, string> = { etcd: "", patroni: "" };
  let ca = "";
  const ids = postgresIds();
  /** Exactly the pod's environment for Patroni (and the tools run beside it). */
  const podEnv = { PATH, LANG: "C.UTF-8", HOME: dir, PATRONI_RESTAPI_PASSWORD: PASSWORD };

  const start = (name: string, cmd: string, args: string[], env: Record<string, string>) => {
    const child = spawn(cmd, args, { env, ...(ids ?? {}), stdio: ["ignore", "pipe", "pipe"] });
    const keep = (c: Buffer) => (logs[name] = (logs[name] + c.toString()).slice(-20_000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    procs.push(child);
    return child;
  };

  before(async function () {
    if (!fs.existsSync("/usr/bin/patroni") || !fs.existsSync(`${PG_BIN}/initdb`) || !ids)
      this.skip();
    fs.mkdirSync(tls);
    const ext = path.join(tls, "server.ext");
    fs.writeFileSync(
      ext,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    );
    const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
      ["req", "-x509", ...newKey, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"].concat([
        "-subj",
        "/O=drstack/CN=drstack test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]),
      tls,
    );
    openssl(
      ["req", ...newKey, "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/O=drstack/CN=pg"],
      tls,
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
      ].concat(["-out", "tls.crt", "-days", "2", "-extfile", ext]),
      tls,
    );
    ca = fs.readFileSync(path.join(tls, "ca.crt"), "utf8");
    // Laid out as the kubelet mounts the Secret with fsGroup: root:<group> 0640.
    for (const f of ["ca.crt", "tls.crt", "tls.key"]) {
      fs.chownSync(path.join(tls, f), 0, ids!.gid);
      fs.chmodSync(path.join(tls, f), 0o640);
    }
    fs.chmodSync(tls, 0o755);
    fs.mkdirSync(path.join(dir, "etcd"), { mode: 0o700 });
    fs.mkdirSync(path.join(dir, "sock"));
    fs.chownSync(path.join(dir, "etcd"), ids!.uid, ids!.gid);
    fs.chownSync(path.join(dir, "sock"), ids!.uid, ids!.gid);
    fs.chownSync(dir, ids!.uid, ids!.gid);

    const etcdUrl = (p: number) => `http://127.0.0.1:${p}`;
    start(
      "etcd",
      "etcd",
      [
        "--name=restauth",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl(PORTS.etcdClient)}`,
        `--advertise-client-urls=${etcdUrl(PORTS.etcdClient)}`,
        `--listen-peer-urls=${etcdUrl(PORTS.etcdPeer)}`,
        `--initial-advertise-peer-urls=${etcdUrl(PORTS.etcdPeer)}`,
        `--initial-cluster=restauth=${etcdUrl(PORTS.etcdPeer)}`,
      ],
      { PATH, ETCD_UNSUPPORTED_ARCH: "" },
    );

    fs.writeFileSync(
      conf,
      renderPatroniConfig(
        {
          ttl: 30,
          loopWait: 10,
          retryTimeout: 10,
          synchronousMode: false,
          synchronousModeStrict: false,
          usePgRewind: true,
          useSlots: true,
          maximumLagOnFailover: 1048576,
          parameters: {},
        },
        {
          scope: "restauth",
          name: "m0",
          dcs: {
            kind: "etcd3",
            hosts: [`127.0.0.1:${PORTS.etcdClient}`],
            prefix: "/drstack-restauth/",
          },
          postgres: {
            listen: `127.0.0.1:${PORTS.pg}`,
            connectAddress: `127.0.0.1:${PORTS.pg}`,
            dataDir: path.join(dir, "data"),
            binDir: PG_BIN,
            socketDir: path.join(dir, "sock"),
            pgpassPath: path.join(dir, "pgpass"),
          },
          restApi: {
            listen: `127.0.0.1:${PORTS.rest}`,
            connectAddress: `127.0.0.1:${PORTS.rest}`,
            // As in the pods: the user in the file, the password only in the environment.
            authentication: { username: USER },
            tls: {
              certFile: path.join(tls, "tls.crt"),
              keyFile: path.join(tls, "tls.key"),
              caFile: path.join(tls, "ca.crt"),
            },
          },
          authentication: {
            superuser: { username: "postgres", password: "su-pass" },
            replication: { username: "replicator", password: "repl-pass" },
            rewind: { username: "rewinder", password: "rewind-pass" },
          },
          allowedCidrs: ["127.0.0.1/32"],
        },
      ),
    );
    fs.chownSync(conf, ids!.uid, ids!.gid);
    start("patroni", "patroni", [conf], podEnv);

    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await call(ca, "GET", "/primary").catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > deadline)
        throw new Error(
          `Patroni did not become primary:\n${logs.patroni}\n${logs.etcd.slice(-2000)}`,
        );
      await sleep(1000);
    }
  });

  after(() => {
    for (const p of procs.reverse()) if (p.exitCode === null) p.kill("SIGTERM");
  });
  after(async () => {
    await sleep(2000);
    for (const p of procs)
      if (p.exitCode === null && p.signalCode === null && p.pid)
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
  });

  it("reads stay open: GET /patroni answers without credentials", async () => {
    const r = await call(ca, "GET", "/patroni");
    expect(r.status).to.equal(200);
    expect(JSON.parse(r.body)).to.include({ role: "master" });
  });

  for (const [method, p, body] of [
    ["POST", "/restart", {}],
    ["POST", "/failover", { candidate: "m1" }],
    ["POST", "/switchover", { leader: "m0" }],
    ["POST", "/reinitialize", { force: true }],
    ["PATCH", "/config", { synchronous_mode: false }],
  ] as const)
    it(`refuses an unauthenticated or wrong-password ${method} ${p} (401)`, async () => {
      const none = await call(ca, method, p, { body });
      expect(none.status, none.body).to.equal(401);
      expect(String(none.headers["www-authenticate"])).to.match(/^Basic /);
      const wrong = await call(ca, method, p, { body, auth: `${USER}:not-the-password` });
      expect(wrong.status, wrong.body).to.equal(401);
      const otherUser = await call(ca, method, p, { body, auth: `postgres:${PASSWORD}` });
      expect(otherUser.status, otherUser.body).to.equal(401);
    });

  it("accepts an authenticated POST /restart (PostgreSQL restarted)", async () => {
    const r = await call(ca, "POST", "/restart", { body: {}, auth: `${USER}:${PASSWORD}` });
    expect(r.status, r.body).to.equal(200);
    expect(r.body).to.match(/restarted successfully/);
  });

  it("the failover engine's client (restAuth, CA through NODE_EXTRA_CA_CERTS) patches /config", () => {
    const script = `
      const { PatroniApi } = require(${JSON.stringify(path.resolve(__dirname, "../failover/patroni.js"))});
      const { restAuthHeaders } = require(${JSON.stringify(path.resolve(__dirname, "../failover/local.js"))});
      const site = { rest: ["https://127.0.0.1:${PORTS.rest}"], restAuth: { username: "${USER}", passwordEnv: "PATRONI_RESTAPI_PASSWORD" },
                     postgres: { hosts: [], user: "postgres", database: "postgres" } };
      const bare = new PatroniApi(site.rest);
      const api = new PatroniApi(site.rest, 5000, restAuthHeaders(site));
      (async () => {
        const refused = await bare.request("PATCH", "/config", { maximum_lag_on_failover: 2097152 });
        const r = await api.patchConfig({ maximum_lag_on_failover: 2097152 });
        console.log(JSON.stringify({ refused: refused.status, ok: r.status, lag: r.json.maximum_lag_on_failover }));
      })().catch((e) => { console.error(e.message); process.exit(1); });`;
    const r = spawnSync(process.execPath, ["-e", script], {
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH,
        NODE_EXTRA_CA_CERTS: path.join(tls, "ca.crt"),
        PATRONI_RESTAPI_PASSWORD: PASSWORD,
      },
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ refused: 401, ok: 200, lag: 2097152 });
  });

  it("the Kubernetes driver's in-pod request authenticates from the pod's environment", () => {
    const script = inPodRequestScript(path.join(tls, "ca.crt"), PORTS.rest);
    const body = JSON.stringify({ maximum_lag_on_failover: 1048576 });
    const inPod = spawnSync("python3", ["-c", script, "PATCH", "/config", body], {
      encoding: "utf8",
      env: podEnv,
      timeout: 30_000,
      ...(ids ?? {}),
    });
    expect(inPod.status, inPod.stderr).to.equal(0);
    const [status, answer] = [
      inPod.stdout.split("\n")[0],
      inPod.stdout.slice(inPod.stdout.indexOf("\n") + 1),
    ];
    expect(status).to.equal("200");
    expect(JSON.parse(answer)).to.include({ maximum_lag_on_failover: 1048576 });
    // Without the pod's password the script cannot authenticate at all.
    const noPass = spawnSync("python3", ["-c", script, "PATCH", "/config", body], {
      encoding: "utf8",
      env: { PATH },
      timeout: 30_000,
    });
    expect(noPass.status).to.not.equal(0);
  });

  it("patronictl uses the rendered ctl.cacert and the REST credentials; without the password it is refused", () => {
    const ctl = (env: Record<string, string>) =>
      spawnSync("patronictl", ["-c", conf, "restart", "restauth", "m0", "--force"], {
        encoding: "utf8",
        env,
        timeout: 60_000,
        ...(ids ?? {}),
      });
    const ok = ctl(podEnv);
    expect(ok.status, `${ok.stdout}${ok.stderr}`).to.equal(0);
    expect(ok.stdout).to.match(/Success: restart on member m0/);
    const { PATRONI_RESTAPI_PASSWORD: _drop, ...noPass } = podEnv;
    void _drop;
    const refused = ctl({ ...noPass, PATRONI_RESTAPI_PASSWORD: "wrong" });
    expect(`${refused.stdout}${refused.stderr}`).to.match(/401|no auth header|not authorized/i);
  });

  it("answers HTTPS only: a plain HTTP request gets no HTTP answer", async () => {
    const r = await fetch(`http://127.0.0.1:${PORTS.rest}/patroni`, {
      signal: AbortSignal.timeout(5000),
    }).then(
      (x) => x.status,
      () => "refused",
    );
    expect(r).to.not.equal(200);
  });
});
