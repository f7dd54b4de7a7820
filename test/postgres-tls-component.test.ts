/**
 * The pgBackRest TLS server as the stacks declare it, read from the offline planner's records:
 * the certificates (`@pulumi/tls`), the server Secret mounted 0600 into the Patroni pods'
 * `pgbackrest server` sidecar, the client Secret in the backup namespace (secret inputs), the
 * primary Service / Endpoints port and the NetworkPolicy; and the wiring: the host and stanza the
 * backup CronJobs use are what the server certificate names and `tls-server-auth` admits. The
 * pure parts (`pgBackRestTlsPlan`, the `tlsServer` section) are checked on their own too.
 */
import { expect } from "chai";
import type { ResourceRecord } from "../planner/monitor";
import type { StackPlan } from "../planner/plan";
import { renderPgBackRestConfig } from "../components/postgres/pgbackrest";
import {
  BACKUP_TLS_SECRET,
  PGBACKREST_CLIENT_CN,
  PGBACKREST_TLS_PORT,
  pgBackRestTlsPlan,
  podTlsServerSpec,
  tlsRenewedCheck,
} from "../components/postgres/tls";
import { byType, one, planShipped } from "./support/project";

type Any = any;

const input = {
  scope: "pg-x",
  namespace: "drstack-data",
  headlessService: "pg-x-members",
  site: "primary",
};

describe("pgBackRest TLS: the plan (pure)", () => {
  it("names the primary Service and every member, short and fully qualified", () => {
    const p = pgBackRestTlsPlan(input);
    expect(p.server.dnsNames).to.have.members([
      "pg-x.drstack-data.svc",
      "pg-x.drstack-data.svc.cluster.local",
      "pg-x.drstack-data",
      "*.pg-x-members.drstack-data.svc",
      "*.pg-x-members.drstack-data.svc.cluster.local",
    ]);
    expect(p.server.subject.commonName).to.equal("pg-x.drstack-data.svc");
    expect(p.client.subject.commonName).to.equal(PGBACKREST_CLIENT_CN);
    expect(p.client.secretName).to.equal(BACKUP_TLS_SECRET);
    expect(p.server.secretName).to.equal("pg-x-pgbackrest-tls");
    expect(p.auth).to.deep.equal({ [PGBACKREST_CLIENT_CN]: ["pg-x"] });
    expect(
      pgBackRestTlsPlan({ ...input, clusterDomain: "corp.example" }).server.dnsNames,
    ).to.include("pg-x.drstack-data.svc.corp.example");
  });

  it("renews every certificate before it expires (leaves 30 days, the CA a year ahead)", () => {
    const p = pgBackRestTlsPlan(input);
    expect(p.server.earlyRenewalHours).to.equal(720);
    expect(p.server.validityHours).to.be.greaterThan(p.server.earlyRenewalHours);
    expect(p.ca.validityHours).to.be.greaterThan(p.server.validityHours + p.ca.earlyRenewalHours);
  });

  it("rejects names that are not DNS labels, naming each field", () => {
    expect(() =>
      pgBackRestTlsPlan({
        ...input,
        scope: "PG_X",
        namespace: "a".repeat(64),
        extraDnsNames: ["ok.example", "bad..name"],
      }),
    ).to.throw(/scope: "PG_X" is not a lowercase DNS label.*namespace: .*extraDnsNames\[1\]/);
  });

  it("renders tls-server-* into [global] and refuses a bad section, naming each field", () => {
    const base = {
      stanza: "pg-x",
      pgDataDir: "/d",
      repos: [{ type: "posix" as const, path: "/r" }],
    };
    const text = renderPgBackRestConfig({
      ...base,
      tlsServer: {
        ...podTlsServerSpec(pgBackRestTlsPlan(input)),
        auth: { b: ["pg-x", "pg-y"], a: ["*"] },
      },
    });
    expect(text).to.match(/^tls-server-auth=a=\*\ntls-server-auth=b=pg-x,pg-y$/m);
    expect(renderPgBackRestConfig(base)).to.not.match(/tls-server/);
    expect(() =>
      renderPgBackRestConfig({
        ...base,
        tlsServer: {
          address: "0.0.0.0 1.2.3.4",
          port: 70000,
          caFile: "ca.crt",
          certFile: "/c",
          keyFile: "/k",
          auth: { "a=b": ["bad stanza"] },
        },
      }),
    ).to.throw(
      /tlsServer.address: .*tlsServer.port: .*tlsServer.caFile: .*common name "a=b".*"bad stanza" is not a valid stanza name/,
    );
    expect(() =>
      renderPgBackRestConfig({
        ...base,
        tlsServer: { ...podTlsServerSpec(pgBackRestTlsPlan(input)), auth: {} },
      }),
    ).to.throw(/tlsServer.auth: needs at least one client/);
  });
});

describe("pgBackRest TLS: what the stacks declare (planner records)", () => {
  let plans: StackPlan[];
  before(async () => {
    plans = await planShipped();
  });
  /** The stacks that run PostgreSQL (and back it up). */
  const stacks = () => plans.filter((p) => byType(p, "drstack:postgres:PatroniCluster").length > 0);
  const named = (plan: StackPlan, type: string, k8sName: string): ResourceRecord => {
    const r = byType(plan, type).find((x) => (x.inputs.metadata as Any)?.name === k8sName);
    if (!r) throw new Error(`no ${type} named ${k8sName} in ${plan.stack}`);
    return r;
  };
  const patroni = (plan: StackPlan) =>
    byType(plan, "kubernetes:apps/v1:StatefulSet").find((r) =>
      (r.inputs.spec as Any).template.spec.containers.some((c: Any) => c.name === "patroni"),
    )!;
  const pgFullEnv = (plan: StackPlan): Record<string, string> => {
    const job = named(plan, "kubernetes:batch/v1:CronJob", "drstack-backup-pg-full");
    const env = (job.inputs.spec as Any).jobTemplate.spec.template.spec.containers[0].env as Any[];
    return Object.fromEntries(
      env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
  };
  const tlsRecord = (plan: StackPlan, type: string, role: string) =>
    plan.resources.find((r) => r.type === type && r.name.endsWith(`-pgbackrest-tls-${role}`))!;

  it("runs a pgbackrest server sidecar in every Patroni pod: same image, port 8432, TCP readiness, restricted", () => {
    expect(stacks().map((p) => p.stack)).to.have.members(["primary", "dr"]);
    for (const plan of stacks()) {
      const spec = (patroni(plan).inputs.spec as Any).template.spec;
      const [main, side] = ["patroni", "pgbackrest"].map((n) =>
        spec.containers.find((c: Any) => c.name === n),
      );
      expect(side, plan.stack).to.not.equal(undefined);
      expect(side.image).to.equal(main.image);
      expect(side.command).to.deep.equal([
        "sh",
        "-c",
        "touch /tmp/pgbackrest-tls-loaded && exec pgbackrest --config=/etc/patroni/pgbackrest.conf server",
      ]);
      expect(side.livenessProbe.exec.command).to.deep.equal(tlsRenewedCheck());
      expect(side.ports).to.deep.equal([
        { name: "pgbackrest", containerPort: PGBACKREST_TLS_PORT, protocol: "TCP" },
      ]);
      expect(side.readinessProbe.tcpSocket).to.deep.equal({ port: "pgbackrest" });
      expect(side.securityContext).to.deep.equal(main.securityContext);
      expect(side.securityContext).to.include({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      });
      // PGDATA read-only; the PostgreSQL socket and the config through the same volumes as Patroni.
      expect(side.volumeMounts).to.deep.include({
        name: "pgdata",
        mountPath: "/pgdata",
        readOnly: true,
      });
      expect(side.volumeMounts.map((m: Any) => m.name)).to.include.members([
        "config",
        "tmp",
        "pgbackrest-tls",
      ]);
    }
  });

  it("mounts the server Secret 0600, readable by the pod's user through fsGroup, at the paths pgbackrest.conf names", () => {
    for (const plan of stacks()) {
      const sts = patroni(plan);
      const spec = (sts.inputs.spec as Any).template.spec;
      const volume = spec.volumes.find((v: Any) => v.name === "pgbackrest-tls");
      expect(volume.secret.defaultMode).to.equal(0o600);
      expect(spec.securityContext.fsGroup).to.equal(spec.securityContext.runAsUser);
      const secret = named(plan, "kubernetes:core/v1:Secret", volume.secret.secretName);
      expect(secret.inputs.type).to.equal("kubernetes.io/tls");
      expect(secret.secretInputs).to.include("stringData");
      expect(secret.additionalSecretOutputs).to.include.members(["data", "stringData"]);
      expect(Object.keys(secret.inputs.stringData as Any)).to.have.members([
        "ca.crt",
        "tls.crt",
        "tls.key",
      ]);
      expect((secret.inputs.metadata as Any).namespace).to.equal(
        (sts.inputs.metadata as Any).namespace,
      );

      const mount = spec.containers
        .find((c: Any) => c.name === "pgbackrest")
        .volumeMounts.find((m: Any) => m.name === "pgbackrest-tls").mountPath;
      const cm = byType(plan, "kubernetes:core/v1:ConfigMap").find(
        (r) => (r.inputs.data as Any)?.["pgbackrest.conf"] !== undefined,
      )!;
      const conf = (cm.inputs.data as Any)["pgbackrest.conf"] as string;
      for (const [opt, file] of [
        ["ca", "ca.crt"],
        ["cert", "tls.crt"],
        ["key", "tls.key"],
      ])
        expect(conf).to.match(
          new RegExp(`^tls-server-${opt}-file=${mount}/${file.replace(".", "\\.")}$`, "m"),
        );
      expect(conf).to.match(/^tls-server-address=\*$/m);
      expect(conf).to.match(/^tls-server-port=8432$/m);
    }
  });

  it("issues ECDSA P-256 keys, a CA, a server and a client certificate with renewal, keys as secrets", () => {
    for (const plan of stacks()) {
      const keys = byType(plan, "tls:index/privateKey:PrivateKey");
      expect(keys.map((k) => k.name.replace(/.*-pgbackrest-tls-/, ""))).to.have.members([
        "ca-key",
        "server-key",
        "client-key",
      ]);
      for (const k of keys) {
        expect(k.inputs).to.include({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(k.additionalSecretOutputs).to.include("privateKeyPem");
      }
      const ca = tlsRecord(plan, "tls:index/selfSignedCert:SelfSignedCert", "ca");
      expect(ca.inputs).to.include({ isCaCertificate: true, earlyRenewalHours: 8760 });
      expect(ca.secretInputs).to.include("privateKeyPem");
      for (const [role, usage] of [
        ["server", "server_auth"],
        ["client", "client_auth"],
      ]) {
        const cert = tlsRecord(
          plan,
          "tls:index/locallySignedCert:LocallySignedCert",
          `${role}-cert`,
        );
        expect(cert.inputs.allowedUses).to.include(usage);
        expect(cert.inputs).to.include({ validityPeriodHours: 8760, earlyRenewalHours: 720 });
        expect(cert.secretInputs).to.include("caPrivateKeyPem");
        expect(cert.inputs.caCertPem).to.equal(ca.outputs.certPem);
      }
      // Everything is under the PatroniCluster.
      const component = plan.resources.find((r) => r.type === "drstack:postgres:PgBackRestTls")!;
      expect(component.parent).to.match(/drstack:postgres:PatroniCluster::/);
      for (const k of keys) expect(k.parent).to.equal(component.urn);
    }
  });

  it("wiring: the server certificate names the host the backup jobs connect to, and admits their client CN for their stanza", () => {
    for (const plan of stacks()) {
      const env = pgFullEnv(plan);
      expect(env).to.include({ PGBACKREST_PG1_HOST_TYPE: "tls" });
      const csr = tlsRecord(plan, "tls:index/certRequest:CertRequest", "server-csr");
      expect(csr.inputs.dnsNames, plan.stack).to.include(env.PGBACKREST_PG1_HOST);
      // The jobs use pgBackRest's default port: the server's.
      expect(env).to.not.have.property("PGBACKREST_PG1_HOST_PORT");
      const clientCsr = tlsRecord(plan, "tls:index/certRequest:CertRequest", "client-csr");
      const cn = (clientCsr.inputs.subject as Any).commonName;
      const cm = byType(plan, "kubernetes:core/v1:ConfigMap").find(
        (r) => (r.inputs.data as Any)?.["pgbackrest.conf"] !== undefined,
      )!;
      const conf = (cm.inputs.data as Any)["pgbackrest.conf"] as string;
      expect(conf).to.include(`\ntls-server-auth=${cn}=${env.PGBACKREST_STANZA}\n`);
      // The job's socket path and PGDATA are the pods'.
      expect(conf).to.include(`\npg1-socket-path=${env.PGBACKREST_PG1_SOCKET_PATH}\n`);
      expect(conf).to.include(`\npg1-path=${env.PGBACKREST_PG1_PATH}\n`);
      expect(conf).to.include(`\npg1-port=${env.PGBACKREST_PG1_PORT}\n`);
    }
  });

  it("gives the backup jobs the client certificate and key in Secret drstack-pgbackrest-tls of the backup namespace, as a secret", () => {
    for (const plan of stacks()) {
      const job = named(plan, "kubernetes:batch/v1:CronJob", "drstack-backup-pg-full");
      const ns = (job.inputs.metadata as Any).namespace;
      const secret = named(plan, "kubernetes:core/v1:Secret", BACKUP_TLS_SECRET);
      expect((secret.inputs.metadata as Any).namespace).to.equal(ns);
      expect(secret.secretInputs).to.include("stringData");
      expect(secret.additionalSecretOutputs).to.include.members(["data", "stringData"]);
      const data = secret.inputs.stringData as Record<string, string>;
      const clientKey = tlsRecord(plan, "tls:index/privateKey:PrivateKey", "client-key");
      const clientCert = tlsRecord(
        plan,
        "tls:index/locallySignedCert:LocallySignedCert",
        "client-cert",
      );
      const ca = tlsRecord(plan, "tls:index/selfSignedCert:SelfSignedCert", "ca");
      expect(data["tls.key"]).to.equal(clientKey.outputs.privateKeyPem);
      expect(data["tls.crt"]).to.equal(clientCert.outputs.certPem);
      expect(data["ca.crt"]).to.equal(ca.outputs.certPem);
      // The job mounts exactly that Secret at /tls.
      const pod = (job.inputs.spec as Any).jobTemplate.spec.template.spec;
      const vol = pod.volumes.find((v: Any) => v.secret?.secretName === BACKUP_TLS_SECRET);
      expect(vol).to.not.equal(undefined);
      // The server's key never reaches the backup namespace.
      const serverKey = tlsRecord(plan, "tls:index/privateKey:PrivateKey", "server-key");
      expect(Object.values(data)).to.not.include(serverKey.outputs.privateKeyPem);
    }
  });

  it("exposes 8432 on the primary Service and its Endpoints, and only to the backup namespace", () => {
    for (const plan of stacks()) {
      const sts = patroni(plan);
      const scope = (sts.inputs.metadata as Any).name;
      const svc = named(plan, "kubernetes:core/v1:Service", scope);
      expect((svc.inputs.spec as Any).ports).to.deep.include({
        name: "pgbackrest",
        port: 8432,
        targetPort: 8432,
        protocol: "TCP",
      });
      const cm = byType(plan, "kubernetes:core/v1:ConfigMap").find(
        (r) => (r.inputs.data as Any)?.["patroni.yaml"] !== undefined,
      )!;
      expect((cm.inputs.data as Any)["patroni.yaml"]).to.match(/- name: pgbackrest\n\s+port: 8432/);

      const policy = named(
        plan,
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        `${scope}-network`,
      );
      const spec = policy.inputs.spec as Any;
      expect(spec.podSelector.matchLabels).to.deep.equal(
        (sts.inputs.spec as Any).selector.matchLabels,
      );
      // No ingress rule is open to every source (docs/network.md); 8432 has exactly one rule.
      for (const r of spec.ingress as Any[]) expect(r.from?.length ?? 0).to.be.greaterThan(0);
      const to8432 = (spec.ingress as Any[]).filter((r) =>
        (r.ports as Any[]).some((p) => p.port === 8432),
      );
      expect(to8432).to.have.length(1);
      const backup = to8432[0];
      expect(backup.ports).to.deep.equal([{ protocol: "TCP", port: 8432 }]);
      // The selector matches the backup namespace (and no other namespace of the site).
      const selector = backup.from[0].namespaceSelector.matchLabels as Record<string, string>;
      const matching = byType(plan, "kubernetes:core/v1:Namespace").filter((n) =>
        Object.entries(selector).every(([k, v]) => (n.inputs.metadata as Any).labels[k] === v),
      );
      const jobNs = (
        named(plan, "kubernetes:batch/v1:CronJob", "drstack-backup-pg-full").inputs.metadata as Any
      ).namespace;
      expect(matching.map((n) => (n.inputs.metadata as Any).name)).to.deep.equal([jobNs]);
    }
  });

  it("keeps the TLS resources named after the cluster", () => {
    const plan = stacks()[0];
    const site = plan.stack;
    expect(() =>
      one(plan, "tls:index/selfSignedCert:SelfSignedCert", `${site}-postgres-pgbackrest-tls-ca`),
    ).to.not.throw();
  });
});
