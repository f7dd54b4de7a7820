/**
 * The postgres policy rules, run as the analyzer would (test/support/policy.ts) on resources
 * built by the same pure functions PatroniCluster uses, and on one-field changes of them.
 */
import { expect } from "chai";
import {
  kubernetesPatroniEnvironment,
  normalizePostgresSettings,
  patroniPodLabels,
  patroniStatefulSetSpec,
  type PostgresSettings,
  renderPatroniConfig,
  renderPgBackRestConfig,
  sitePgBackRestSpec,
} from "../components/postgres";
import { siteLabels } from "../components/shared/labels";
import { Problems } from "../components/topology/errors";
import type { Network, Site } from "../components/topology/model";
import { rule as encryption } from "../policies/rules/postgres/backup-encryption-on";
import { rule as restApiAuth } from "../policies/rules/postgres/patroni-restapi-auth";
import { rule as minMembers } from "../policies/rules/postgres/patroni-min-members";
import { rule as zoneSpread } from "../policies/rules/postgres/postgres-zone-spread";
import { rule as syncRepl } from "../policies/rules/postgres/sync-replication-in-primary";
import { rule as walArchiving } from "../policies/rules/postgres/wal-archiving-on";
import { changed, resource, type ResourceSpec, runResourceRule } from "./support/policy";

const mkSite = (name: string, role: "primary" | "standby"): Site => ({
  name,
  role,
  cloud: "aws",
  region: "us-east-1",
  zones: ["us-east-1a", "us-east-1b", "us-east-1c"],
  kubernetes: {},
  services: ["postgres"],
});
const primary = mkSite("primary", "primary");
const standby = mkSite("dr", "standby");
const network: Network = {
  name: "net",
  sites: [primary, standby],
  validators: [],
  parties: [],
  objectives: {},
};

function settings(site: Site, raw: unknown = {}): PostgresSettings {
  return normalizePostgresSettings(raw, network, site, new Problems());
}

function statefulSetOf(site: Site, raw: unknown = {}): ResourceSpec {
  const s = settings(site, raw);
  const labels = { ...siteLabels(site, "postgres"), ...patroniPodLabels(s.scope) };
  const spec = patroniStatefulSetSpec(s, {
    scope: s.scope,
    namespace: "drstack-data",
    serviceAccount: "sa",
    configMap: "cm",
    secret: "sec",
    tlsSecret: "tls",
    headlessService: "hl",
    selector: patroniPodLabels(s.scope),
    podLabels: labels,
    zones: site.zones,
    standby: site.role !== "primary",
    configHash: "0",
  });
  return resource("kubernetes:apps/v1:StatefulSet", `${site.name}-postgres`, {
    metadata: { name: s.scope, namespace: "drstack-data", labels },
    spec,
  });
}

function configMapOf(site: Site, raw: unknown = {}): ResourceSpec {
  const s = settings(site, raw);
  return resource("kubernetes:core/v1:ConfigMap", `${site.name}-postgres-config`, {
    metadata: {
      name: `${s.scope}-config-files`,
      namespace: "drstack-data",
      labels: { ...siteLabels(site, "postgres"), ...patroniPodLabels(s.scope) },
    },
    data: {
      "patroni.yaml": renderPatroniConfig(s, kubernetesPatroniEnvironment(s, "drstack-data")),
      "pgbackrest.conf": renderPgBackRestConfig(sitePgBackRestSpec(s)),
    },
  });
}

describe("postgres policies", () => {
  describe("patroni-min-members", () => {
    it("passes the defaults (3 in a primary, 2 in a standby site)", async () => {
      expect((await runResourceRule(minMembers, statefulSetOf(primary))).messages).to.deep.equal(
        [],
      );
      expect((await runResourceRule(minMembers, statefulSetOf(standby))).messages).to.deep.equal(
        [],
      );
    });
    it("rejects 2 members in a primary site and 1 in a standby", async () => {
      const p = await runResourceRule(minMembers, statefulSetOf(primary, { members: 2 }));
      expect(p.messages).to.have.length(1);
      expect(p.messages[0]).to.match(/site role primary.*2 Patroni members.*at least 3/);
      expect(
        (await runResourceRule(minMembers, statefulSetOf(standby, { members: 1 }))).messages[0],
      ).to.match(/at least 2/);
    });
    it("follows its configuration and ignores other StatefulSets", async () => {
      expect(
        (await runResourceRule(minMembers, statefulSetOf(primary), { minPrimary: 5 })).messages,
      ).to.have.length(1);
      const other = changed(
        changed(statefulSetOf(primary), "metadata.labels", {}),
        "spec.template.spec.containers[0].command",
        ["redis-server"],
      );
      expect((await runResourceRule(minMembers, other)).notApplicable).to.be.a("string");
    });
  });

  describe("sync-replication-in-primary", () => {
    it("passes the primary's rendered config and ignores the standby's", async () => {
      expect((await runResourceRule(syncRepl, configMapOf(primary))).messages).to.deep.equal([]);
      expect((await runResourceRule(syncRepl, configMapOf(standby))).notApplicable).to.match(
        /not in a primary site/,
      );
    });
    it("rejects synchronous mode off in a primary site, and non-strict when strict is required", async () => {
      const off = await runResourceRule(syncRepl, configMapOf(primary, { synchronousMode: false }));
      expect(off.messages).to.have.length(1);
      expect(off.messages[0]).to.match(/synchronous_mode is false in the primary site/);
      expect(
        (await runResourceRule(syncRepl, configMapOf(primary), { requireStrict: true }))
          .messages[0],
      ).to.match(/synchronous_mode_strict/);
      expect(
        (
          await runResourceRule(syncRepl, configMapOf(primary, { synchronousModeStrict: true }), {
            requireStrict: true,
          })
        ).messages,
      ).to.deep.equal([]);
    });
  });

  describe("postgres-zone-spread", () => {
    it("passes the StatefulSet PatroniCluster builds", async () => {
      expect((await runResourceRule(zoneSpread, statefulSetOf(primary))).messages).to.deep.equal(
        [],
      );
    });
    it("rejects a missing or loose zone spread, a one-zone pin and a single member", async () => {
      const sts = statefulSetOf(primary);
      const none = await runResourceRule(
        zoneSpread,
        changed(sts, "spec.template.spec.topologySpreadConstraints", []),
      );
      expect(none.messages[0]).to.match(/no topology spread constraint/);
      const loose = await runResourceRule(
        zoneSpread,
        changed(
          sts,
          "spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable",
          "ScheduleAnyway",
        ),
      );
      expect(loose.messages[0]).to.match(/ScheduleAnyway/);
      const pinned = await runResourceRule(
        zoneSpread,
        changed(
          sts,
          "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
          ["us-east-1a"],
        ),
      );
      expect(pinned.messages).to.deep.equal([
        `StatefulSet drstack-data/pg-net may only run in 1 zone (us-east-1a); at least 2 are needed`,
      ]);
      expect(
        (await runResourceRule(zoneSpread, changed(sts, "spec.replicas", 1))).messages[0],
      ).to.match(/one member cannot be in two zones/);
    });
  });

  describe("wal-archiving-on", () => {
    it("passes both sites' rendered configs", async () => {
      expect((await runResourceRule(walArchiving, configMapOf(primary))).messages).to.deep.equal(
        [],
      );
      expect((await runResourceRule(walArchiving, configMapOf(standby))).messages).to.deep.equal(
        [],
      );
    });
    it("rejects archiving turned off or made a no-op through parameters", async () => {
      const off = await runResourceRule(
        walArchiving,
        configMapOf(primary, { parameters: { archive_mode: "off" } }),
      );
      expect(off.messages).to.deep.equal([
        "ConfigMap drstack-data/pg-net-config-files: archive_mode is off; WAL is not archived, so no point-in-time recovery",
      ]);
      const noop = await runResourceRule(
        walArchiving,
        configMapOf(primary, { parameters: { archive_command: "/bin/true" } }),
      );
      expect(noop.messages[0]).to.match(/archive_command "\/bin\/true" archives nothing/);
      const slow = await runResourceRule(
        walArchiving,
        configMapOf(primary, { parameters: { archive_timeout: "3600" } }),
      );
      expect(slow.messages[0]).to.match(/archive_timeout is 3600/);
    });
  });

  describe("backup-encryption-on", () => {
    it("passes the rendered pgBackRest config", async () => {
      expect((await runResourceRule(encryption, configMapOf(primary))).messages).to.deep.equal([]);
    });
    it("rejects an unencrypted repository, an inline passphrase and a missing pgBackRest config", async () => {
      const cm = configMapOf(primary);
      const text = (cm.props.data as Record<string, string>)["pgbackrest.conf"];
      const unencrypted = await runResourceRule(
        encryption,
        changed(cm, "data", {
          ...(cm.props.data as object),
          "pgbackrest.conf": text.replace(/^repo1-cipher-type=.*\n/m, ""),
        }),
      );
      expect(unencrypted.messages).to.deep.equal([
        "ConfigMap drstack-data/pg-net-config-files: pgbackrest.conf repo1 is not encrypted (repo1-cipher-type is not set (none))",
      ]);
      const inline = await runResourceRule(
        encryption,
        changed(cm, "data", {
          ...(cm.props.data as object),
          "pgbackrest.conf": `${text}repo1-cipher-pass=hunter2\n`,
        }),
      );
      expect(inline.messages[0]).to.match(/writes repo1-cipher-pass into a ConfigMap/);
      const missing = await runResourceRule(
        encryption,
        changed(cm, "data", {
          "patroni.yaml": (cm.props.data as Record<string, string>)["patroni.yaml"],
        }),
      );
      expect(missing.messages[0]).to.match(/no pgbackrest.conf/);
    });
  });

  describe("patroni-restapi-auth", () => {
    it("passes the rendered Patroni config", async () => {
      expect((await runResourceRule(restApiAuth, configMapOf(primary))).messages).to.deep.equal([]);
    });
    it("rejects a REST API without auth, with an inline password, and over plain HTTP", async () => {
      const cm = configMapOf(primary);
      const text = (cm.props.data as Record<string, string>)["patroni.yaml"];
      const mutate = (t: string) =>
        runResourceRule(
          restApiAuth,
          changed(cm, "data", { ...(cm.props.data as object), "patroni.yaml": t }),
        );
      const noAuth = await mutate(
        text.replace(/^ {2}authentication:\n {4}username: drstack\n/m, ""),
      );
      expect(noAuth.messages).to.have.length(1);
      expect(noAuth.messages[0]).to.match(/no restapi.authentication/);
      const inline = await mutate(
        text.replace(/^ {4}username: drstack\n/m, "    username: drstack\n    password: hunter2\n"),
      );
      expect(inline.messages[0]).to.match(/writes restapi.authentication.password/);
      const plain = await mutate(text.replace(/^ {2}certfile: .*\n/m, ""));
      expect(plain.messages).to.deep.equal([
        "ConfigMap drstack-data/pg-net-config-files: patroni.yaml serves the REST API over plain HTTP (no restapi.certfile/keyfile): its credentials and calls cross the network in clear",
      ]);
    });
  });
});
