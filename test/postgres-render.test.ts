/**
 * The pure Patroni / pgBackRest renderers: golden files for the Kubernetes primary and standby,
 * the real `patroni --validate-config` verdict on every rendered variant (Kubernetes with the
 * pod's environment, and the drill's etcd3 layout), and the timing rule's field-path errors.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import * as fc from "fast-check";
import { parse } from "yaml";
import {
  checkTiming,
  kubernetesPatroniEnvironment,
  normalizePostgresSettings,
  patroniConfig,
  type PatroniEnvironment,
  pgBackRestArchiveCommand,
  pgBackRestRestoreCommand,
  primaryRepoPgBackRestSpec,
  type PrimaryEndpoint,
  renderPatroniConfig,
  renderPgBackRestConfig,
  renderPostInitScript,
  sitePgBackRestSpec,
} from "../components/postgres";
import { Problems } from "../components/topology/errors";
import {
  DEPLOYED,
  DRILL_VERSIONS,
  majorMinor,
  patroniTimingFloor,
} from "../components/shared/versions";
import { type PatroniRuntime, runtimeFor } from "../drill/runtime";
import type { Network, Site } from "../components/topology/model";
import { projectRoot } from "./support/project";

const site = (
  name: string,
  role: "primary" | "standby",
  cloud: "aws" | "gcp",
  region: string,
): Site => ({
  name,
  role,
  cloud,
  region,
  zones: [`${region}-a`, `${region}-b`, `${region}-c`],
  kubernetes: {},
  services: ["validators", "postgres", "redis", "backup"],
});
const primarySite = site("primary", "primary", "aws", "us-east-1");
const drSite = site("dr", "standby", "gcp", "europe-west1");
const network: Network = {
  name: "example-network",
  sites: [primarySite, drSite],
  validators: [],
  parties: [],
  objectives: {},
};

function settingsFor(s: Site, raw: unknown = {}) {
  const problems = new Problems();
  const settings = normalizePostgresSettings(raw, network, s, problems);
  expect(problems.list).to.deep.equal([]);
  return settings;
}

const primarySettings = settingsFor(primarySite);
const drSettings = settingsFor(drSite);
const endpoint: PrimaryEndpoint = {
  host: primarySettings.replicationHost,
  port: 5432,
  scope: primarySettings.scope,
  stanza: primarySettings.scope,
  repo: primarySettings.backup,
};

/** Compares with test/__snapshots__/<name>; UPDATE_SNAPSHOTS=1 rewrites it. */
function matchSnapshot(name: string, text: string): void {
  const file = path.join(projectRoot(), "test", "__snapshots__", name);
  if (process.env.UPDATE_SNAPSHOTS === "1" || !fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  expect(text, `${name} differs from its golden file (UPDATE_SNAPSHOTS=1 to accept)`).to.equal(
    fs.readFileSync(file, "utf8"),
  );
}

/** Runs the real `patroni --validate-config` of `rt` on `text` with only `env` set. */
function patroniValidate(
  text: string,
  env: Record<string, string> = {},
  rt: PatroniRuntime = runtimeFor("3.0.2"),
): { code: number; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-patroni-"));
  const file = path.join(dir, "patroni.yaml");
  fs.writeFileSync(file, text);
  const r = spawnSync(rt.patroniCommand, [...rt.patroniPrefixArgs, "--validate-config", file], {
    env: { PATH: "/usr/bin:/bin", ...rt.patroniEnv, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** The variables the StatefulSet gives each pod, as the kubelet expands them for one pod. */
function podEnv(podIp: string): Record<string, string> {
  return {
    PATRONI_NAME: "pg-example-network-0",
    PATRONI_KUBERNETES_POD_IP: podIp,
    PATRONI_POSTGRESQL_CONNECT_ADDRESS: `${podIp}:5432`,
    PATRONI_RESTAPI_CONNECT_ADDRESS:
      "pg-example-network-0.pg-example-network-members.drstack-data.svc:8008",
    PATRONI_RESTAPI_PASSWORD: "example-restapi",
    PATRONI_SUPERUSER_PASSWORD: "example-superuser",
    PATRONI_REPLICATION_PASSWORD: "example-replication",
    PATRONI_REWIND_PASSWORD: "example-rewind",
  };
}

describe("postgres renderers", () => {
  describe("golden files", () => {
    it("renders the Kubernetes primary's Patroni config", () => {
      matchSnapshot(
        "postgres-primary.patroni.yaml",
        renderPatroniConfig(
          primarySettings,
          kubernetesPatroniEnvironment(primarySettings, "drstack-data"),
        ),
      );
    });
    it("renders the Kubernetes standby's Patroni config", () => {
      matchSnapshot(
        "postgres-standby.patroni.yaml",
        renderPatroniConfig(
          drSettings,
          kubernetesPatroniEnvironment(drSettings, "drstack-data", endpoint),
        ),
      );
    });
    it("renders the pgBackRest configs (site repo on S3 and GCS, primary's repo as repo2)", () => {
      matchSnapshot(
        "postgres-primary.pgbackrest.conf",
        renderPgBackRestConfig(sitePgBackRestSpec(primarySettings)),
      );
      matchSnapshot(
        "postgres-standby.pgbackrest.conf",
        renderPgBackRestConfig(sitePgBackRestSpec(drSettings)),
      );
      matchSnapshot(
        "postgres-standby.pgbackrest-primary.conf",
        renderPgBackRestConfig(primaryRepoPgBackRestSpec(endpoint)),
      );
    });
  });

  describe("what the rendered config says", () => {
    it("turns synchronous mode on in a primary site only, and archives WAL in both", () => {
      const p = patroniConfig(
        primarySettings,
        kubernetesPatroniEnvironment(primarySettings, "ns"),
      ) as any;
      const s = patroniConfig(
        drSettings,
        kubernetesPatroniEnvironment(drSettings, "ns", endpoint),
      ) as any;
      expect(p.bootstrap.dcs.synchronous_mode).to.equal(true);
      expect(s.bootstrap.dcs.synchronous_mode).to.equal(false);
      for (const c of [p, s]) {
        expect(c.bootstrap.dcs.postgresql.parameters.archive_mode).to.equal("on");
        expect(c.bootstrap.dcs.postgresql.parameters.archive_command).to.match(
          /^pgbackrest --config=\/etc\/patroni\/pgbackrest.conf --stanza=\S+ archive-push "%p"$/,
        );
        expect(c.bootstrap.dcs.postgresql.use_pg_rewind).to.equal(true);
        expect(c.postgresql.authentication.superuser).to.not.have.property("password");
      }
      expect(p.bootstrap.dcs).to.not.have.property("standby_cluster");
      expect(s.bootstrap.dcs.standby_cluster).to.deep.include({
        host: "pg-example-network-primary.drstack.internal",
        port: 5432,
      });
      expect(s.bootstrap.dcs.standby_cluster.restore_command).to.include("--repo=2 archive-get %f");
      expect(s.bootstrap.dcs.standby_cluster.restore_command).to.include("pgbackrest-primary.conf");
    });

    it("never lets the standby push WAL into the primary's repository", () => {
      const own = renderPgBackRestConfig(sitePgBackRestSpec(drSettings));
      const theirs = renderPgBackRestConfig(primaryRepoPgBackRestSpec(endpoint));
      expect(own).to.match(/^repo1-gcs-bucket=example-network-dr-backups$/m);
      expect(own).to.not.match(/^repo2-/m);
      expect(theirs).to.match(/^repo2-s3-bucket=example-network-primary-backups$/m);
      expect(theirs).to.not.match(/^repo1-/m);
      for (const text of [own, theirs]) expect(text).to.match(/^repo\d-cipher-type=aes-256-cbc$/m);
      for (const text of [own, theirs]) expect(text).to.not.match(/cipher-pass/);
    });

    it("quotes paths for the shell in archive and restore commands", () => {
      expect(pgBackRestArchiveCommand("/tmp/a b/pgbackrest.conf", "main")).to.equal(
        `pgbackrest --config='/tmp/a b/pgbackrest.conf' --stanza=main archive-push "%p"`,
      );
      expect(pgBackRestRestoreCommand("/etc/p.conf", "main", 2)).to.equal(
        `pgbackrest --config=/etc/p.conf --stanza=main --repo=2 archive-get %f "%p"`,
      );
    });

    it("rejects duplicate repository indexes and relative paths", () => {
      expect(() =>
        renderPgBackRestConfig({
          stanza: "m",
          pgDataDir: "/d",
          repos: [
            { type: "posix", path: "/r1" },
            { type: "posix", path: "/r2", index: 1 },
          ],
        }),
      ).to.throw(/repos\[1\]\.index: repo1 is defined twice/);
      expect(() =>
        renderPgBackRestConfig({
          stanza: "m",
          pgDataDir: "d",
          repos: [{ type: "posix", path: "r" }],
        }),
      ).to.throw(/pgDataDir: must be an absolute path.*repos\[0\]\.path/);
    });
  });

  // Every Patroni the drill runs, the deployed image's 4.0 first (components/shared/versions.ts).
  for (const version of DRILL_VERSIONS.map((v) => v.patroni))
    describe(`patroni --validate-config (Patroni ${version})`, function () {
      this.timeout(120_000);
      const rt = runtimeFor(version);
      const k8s = (s = primarySettings) => ({ ...s, binDir: rt.pgBinDir });

      it("accepts the Kubernetes primary config with the pod's environment", () => {
        const s = k8s();
        const r = patroniValidate(
          renderPatroniConfig(s, kubernetesPatroniEnvironment(s, "drstack-data")),
          podEnv("10.0.0.5"),
          rt,
        );
        expect(r.output).to.equal("");
        expect(r.code).to.equal(0);
      });

      it("accepts the Kubernetes standby config with the pod's environment", () => {
        const s = k8s(drSettings);
        const r = patroniValidate(
          renderPatroniConfig(s, kubernetesPatroniEnvironment(s, "drstack-data", endpoint)),
          podEnv("10.0.1.7"),
          rt,
        );
        expect(r.output).to.equal("");
        expect(r.code).to.equal(0);
      });

      it("rejects the Kubernetes config when the pod's environment is missing (the check is real)", () => {
        const s = k8s();
        const r = patroniValidate(
          renderPatroniConfig(s, kubernetesPatroniEnvironment(s, "drstack-data")),
          {},
          rt,
        );
        expect(r.code).to.equal(1);
        expect(r.output).to.match(/name|connect_address/);
      });

      if (patroniTimingFloor(version))
        it("rejects a ttl below its floor (what drstack's validator refuses first)", () => {
          const s = { ...k8s(), ttl: 10 };
          const r = patroniValidate(
            renderPatroniConfig(s, kubernetesPatroniEnvironment(s, "drstack-data")),
            podEnv("10.0.0.5"),
            rt,
          );
          expect(r.code).to.equal(1);
          expect(r.output).to.include("bootstrap.dcs.ttl 10 didn't pass validation");
        });

      it("accepts the drill layout: etcd3 DCS, local paths, a posix repo and a second encrypted repo", async () => {
        // The validator connects to every etcd host; a listening socket stands in for etcd.
        const server = net.createServer((c) => c.destroy());
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        const [pgPort, apiPort] = [await freePort(), await freePort()];
        try {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-drill-"));
          const conf = path.join(dir, "pgbackrest.conf");
          const env: PatroniEnvironment = {
            scope: "drill-primary",
            name: "pg-1",
            dcs: { kind: "etcd3", hosts: [`127.0.0.1:${port}`], prefix: "/drstack/" },
            postgres: {
              listen: `127.0.0.1:${pgPort}`,
              connectAddress: `10.0.0.21:${pgPort}`,
              dataDir: path.join(dir, "data"),
              binDir: rt.pgBinDir,
              socketDir: dir,
              pgpassPath: path.join(dir, "pgpass"),
            },
            restApi: { listen: `127.0.0.1:${apiPort}`, connectAddress: `10.0.0.21:${apiPort}` },
            authentication: {
              superuser: { username: "postgres", password: "s" },
              replication: { username: "replicator", password: "r" },
              rewind: { username: "rewinder", password: "w" },
            },
            allowedCidrs: ["10.0.0.0/24"],
            localAuth: "scram-sha-256",
            archive: { command: pgBackRestArchiveCommand(conf, "drill") },
            standbyCluster: {
              host: "10.0.0.20",
              port: 15432,
              restoreCommand: pgBackRestRestoreCommand(conf, "drill", 2),
            },
          };
          const r = patroniValidate(renderPatroniConfig(primarySettings, env), {}, rt);
          expect(r.output).to.equal("");
          expect(r.code).to.equal(0);
          const pgbr = renderPgBackRestConfig({
            stanza: "drill",
            pgDataDir: env.postgres.dataDir,
            pgPort,
            pgSocketPath: dir,
            repos: [
              { type: "posix", path: path.join(dir, "repo1"), cipherPass: "one", retentionFull: 2 },
              { type: "posix", path: path.join(dir, "repo2"), cipherPass: "two" },
            ],
          });
          expect(pgbr).to.match(/^repo1-cipher-pass=one$/m);
          expect(pgbr).to.match(/^repo2-path=.*repo2$/m);
        } finally {
          server.close();
        }
      });
    });

  describe("pgbackrest (2.45) reads the rendered configs", function () {
    this.timeout(120_000);
    /** `pgbackrest info` with `text` as its config; only option parsing and repo access happen. */
    function pgbackrestInfo(text: string, stanza: string): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pgbr-"));
      fs.writeFileSync(path.join(dir, "pgbackrest.conf"), text);
      const r = spawnSync(
        "pgbackrest",
        [
          `--config=${path.join(dir, "pgbackrest.conf")}`,
          `--stanza=${stanza}`,
          `--lock-path=${dir}`,
          `--log-path=${dir}`,
          "--log-level-console=warn",
          "--io-timeout=1",
          "info",
        ],
        {
          env: {
            PATH: "/usr/bin:/bin",
            PGBACKREST_REPO1_CIPHER_PASS: "x",
            PGBACKREST_REPO2_CIPHER_PASS: "y",
          },
          encoding: "utf8",
          timeout: 60_000,
        },
      );
      fs.rmSync(dir, { recursive: true, force: true });
      return `${r.stdout}${r.stderr}`;
    }

    it("accepts every option of the S3, GCS and primary-repo configs", () => {
      for (const text of [
        renderPgBackRestConfig(sitePgBackRestSpec(primarySettings)),
        renderPgBackRestConfig(sitePgBackRestSpec(drSettings)),
        renderPgBackRestConfig(primaryRepoPgBackRestSpec(endpoint)),
      ]) {
        const out = pgbackrestInfo(text, primarySettings.scope);
        expect(out).to.include(`stanza: ${primarySettings.scope}`);
        expect(out).to.not.match(/invalid option|not valid|ERROR: \[0(31|32|37)\]/);
      }
      // The check is real: an unknown option is reported.
      expect(
        pgbackrestInfo(
          `${renderPgBackRestConfig(sitePgBackRestSpec(primarySettings))}repo1-bogus=1\n`,
          primarySettings.scope,
        ),
      ).to.match(/invalid option 'repo1-bogus'/);
    });

    it("opens the drill's encrypted posix repository (empty: no stanza yet)", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-repo-"));
      const out = pgbackrestInfo(
        renderPgBackRestConfig({
          stanza: "drill",
          pgDataDir: path.join(dir, "data"),
          repos: [{ type: "posix", path: dir, cipherPass: "one" }],
        }),
        "drill",
      );
      fs.rmSync(dir, { recursive: true, force: true });
      expect(out).to.match(/stanza: drill\s+status: error \(missing stanza path\)/);
    });
  });

  describe("timing rule loop_wait + 2 * retry_timeout <= ttl", () => {
    it("reports a violation at the ttl field path with the fix", () => {
      const problems = new Problems("stacks/Pulumi.primary.yaml");
      normalizePostgresSettings(
        { ttl: 20, loopWait: 10, retryTimeout: 6 },
        network,
        primarySite,
        problems,
      );
      expect(problems.list).to.have.length(1);
      expect(problems.list[0].path).to.equal("config.drstack:postgres.ttl");
      expect(problems.list[0].message).to.include("10 + 2 * 6 = 22 > 20");
      expect(problems.list[0].fix).to.include("raise ttl to 22");
    });

    it("refuses values the deployed Patroni would rewrite, naming the floor", () => {
      const problems = new Problems("stacks/Pulumi.primary.yaml");
      normalizePostgresSettings(
        { ttl: 10, loopWait: 2, retryTimeout: 4 },
        network,
        primarySite,
        problems,
      );
      expect(problems.list.map((p) => p.path)).to.deep.equal(["config.drstack:postgres.ttl"]);
      expect(problems.list[0].message).to.include(
        `Patroni ${majorMinor(DEPLOYED.patroni)} (the deployed image's) raises ttl below 20 to 20`,
      );
      expect(problems.list[0].fix).to.equal("set ttl to at least 20");
    });

    it("holds exactly when the inequality holds", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 100 }),
          fc.integer({ min: 1, max: 100 }),
          fc.integer({ min: 1, max: 400 }),
          fc.constantFrom("3.0.2", "4.0.7"),
          (loopWait, retryTimeout, ttl, version) => {
            const problems = new Problems();
            const ok = checkTiming({ ttl, loopWait, retryTimeout }, "x", problems, version);
            // Patroni >= 3.2 rewrites ttl < 20, loop_wait < 1, retry_timeout < 3 (config.py).
            const floors =
              version === "3.0.2"
                ? 0
                : Number(ttl < 20) + Number(loopWait < 1) + Number(retryTimeout < 3);
            expect(ok).to.equal(floors === 0 && loopWait + 2 * retryTimeout <= ttl);
            expect(problems.size).to.equal(ok ? 0 : floors || 1);
          },
        ),
      );
    });

    it("has defaults that satisfy the rule and the deployed Patroni's minimums", () => {
      const s = settingsFor(primarySite);
      expect(s.loopWait + 2 * s.retryTimeout).to.be.at.most(s.ttl);
      expect(s.loopWait).to.be.at.least(1);
      expect(s.retryTimeout).to.be.at.least(3);
      expect(s.ttl).to.be.at.least(patroniTimingFloor(DEPLOYED.patroni)!.ttl);
      expect(s.members).to.equal(3);
      expect(settingsFor(drSite).members).to.equal(2);
    });
  });

  it("renders a post_init script that sh parses and that reads the password from the environment", () => {
    const script = renderPostInitScript("app", "app");
    const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    expect(script).to.include(`-v pw="$DRSTACK_APP_PASSWORD"`);
    expect(script).to.include("CREATE ROLE app LOGIN PASSWORD :'pw';");
  });

  it("keeps the rendered YAML parseable and free of secrets", () => {
    const text = renderPatroniConfig(
      primarySettings,
      kubernetesPatroniEnvironment(primarySettings, "drstack-data"),
    );
    const parsed = parse(text);
    expect(parsed.scope).to.equal("pg-example-network");
    expect(text).to.not.match(/password:/i);
    expect(text).to.not.match(/\*a\d|&a\d/, "no YAML aliases");
  });
});
