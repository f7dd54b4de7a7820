/**
 * PatroniCluster as the planner records it for the shipped stacks: the inputs it sends (RBAC,
 * spread, env, volumes, services, secrets), the standby's StackReference wiring to what the
 * primary exports, the real `patroni --validate-config` on the recorded ConfigMap with the
 * recorded pod environment, the policies on the recorded resources, and config errors.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parse } from "yaml";
import { patroniRbacRules } from "../components/postgres";
import type { ResourceRecord } from "../planner/monitor";
import type { StackPlan } from "../planner/plan";
import { rule as encryption } from "../policies/rules/postgres/backup-encryption-on";
import { rule as minMembers } from "../policies/rules/postgres/patroni-min-members";
import { rule as zoneSpread } from "../policies/rules/postgres/postgres-zone-spread";
import { rule as syncRepl } from "../policies/rules/postgres/sync-replication-in-primary";
import { rule as walArchiving } from "../policies/rules/postgres/wal-archiving-on";
import { byType, one, planShipped, planWithConfig } from "./support/project";
import { runResourceRule } from "./support/policy";

type Obj = Record<string, any>;

const STS = "kubernetes:apps/v1:StatefulSet";
const SVC = "kubernetes:core/v1:Service";
const CM = "kubernetes:core/v1:ConfigMap";
const SECRET = "kubernetes:core/v1:Secret";

function stack(plans: StackPlan[], name: string): StackPlan {
  const p = plans.find((x) => x.stack === name);
  if (!p) throw new Error(`no stack ${name}`);
  return p;
}
const inputs = (r: ResourceRecord) => r.inputs as Obj;
const pod = (plan: StackPlan) =>
  inputs(one(plan, STS, `${plan.stack}-postgres-patroni`)).spec.template.spec as Obj;

describe("PatroniCluster (planned shipped stacks)", function () {
  this.timeout(120_000);
  let plans: StackPlan[];
  let primary: StackPlan;
  let dr: StackPlan;
  before(async () => {
    plans = await planShipped();
    primary = stack(plans, "primary");
    dr = stack(plans, "dr");
  });

  it("builds one cluster per site running postgres, every child on the site's provider", () => {
    for (const plan of plans) {
      const clusters = byType(plan, "drstack:postgres:PatroniCluster");
      expect(clusters.map((c) => c.name)).to.deep.equal(
        plan.stack === "primary" || plan.stack === "dr" ? [`${plan.stack}-postgres`] : [],
      );
      for (const c of clusters) {
        const children = plan.resources.filter(
          (r) => r.parent === c.urn && r.type.startsWith("kubernetes:"),
        );
        expect(children.length).to.be.greaterThan(10);
        for (const r of children) {
          expect(r.provider, r.name).to.match(new RegExp(`::${plan.stack}-k8s::`));
          expect(r.name.startsWith(`${c.name}-`), r.name).to.equal(true);
          expect(inputs(r).metadata.namespace).to.equal("drstack-data");
        }
      }
    }
  });

  it("grants Patroni exactly the verbs it calls, with no wildcards", () => {
    const role = inputs(
      one(primary, "kubernetes:rbac.authorization.k8s.io/v1:Role", "primary-postgres-role"),
    );
    expect(role.rules).to.deep.equal([
      {
        apiGroups: [""],
        resources: ["endpoints"],
        verbs: ["get", "list", "watch", "create", "patch", "deletecollection"],
      },
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "patch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["create"] },
    ]);
    expect(JSON.stringify(role.rules)).to.not.include("*");
    expect(patroniRbacRules(false)[0].resources).to.deep.equal(["configmaps"]);
    const binding = inputs(
      one(
        primary,
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "primary-postgres-rolebinding",
      ),
    );
    expect(binding.roleRef).to.deep.equal({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: role.metadata.name,
    });
    expect(binding.subjects).to.deep.equal([
      { kind: "ServiceAccount", name: pod(primary).serviceAccountName, namespace: "drstack-data" },
    ]);
  });

  it("spreads members over the site's zones, one per node, as a restricted pod", () => {
    const sts = inputs(one(primary, STS, "primary-postgres-patroni"));
    expect(sts.spec.replicas).to.equal(3);
    expect(inputs(one(dr, STS, "dr-postgres-patroni")).spec.replicas).to.equal(2);
    const spec = pod(primary);
    const selector = sts.spec.selector.matchLabels;
    expect(spec.topologySpreadConstraints).to.deep.equal([
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: selector },
      },
    ]);
    expect(
      spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
    ).to.deep.equal([
      { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selector } },
    ]);
    expect(
      spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
        .matchExpressions[0].values,
    ).to.deep.equal(["us-east-1a", "us-east-1b", "us-east-1c"]);
    expect(spec.securityContext).to.include({ runAsNonRoot: true });
    expect(spec.securityContext.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
    const c = spec.containers[0];
    expect(c.securityContext).to.deep.equal({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.readinessProbe.httpGet).to.deep.include({ path: "/readiness", port: "patroni" });
    expect(c.livenessProbe.httpGet).to.deep.include({ path: "/liveness", port: "patroni" });
    expect(sts.spec.template.metadata.annotations).to.include({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8008",
      "prometheus.io/path": "/metrics",
    });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).to.equal("20Gi");
    expect(c.volumeMounts.map((m: Obj) => m.mountPath)).to.have.members([
      "/pgdata",
      "/etc/patroni",
      "/tmp",
      "/dev/shm",
      "/etc/patroni-tls",
    ]);
    // The pod labels the primary/replica Services select (Patroni adds `role`).
    expect(sts.spec.template.metadata.labels).to.include({
      ...selector,
      "drstack.io/role": "primary",
    });
  });

  it("passes passwords and passphrases only through the Secret", () => {
    const env = pod(dr).containers[0].env as Obj[];
    const secretName = inputs(one(dr, SECRET, "dr-postgres-credentials")).metadata.name;
    const fromSecret = env
      .filter((e) => e.valueFrom?.secretKeyRef)
      .map((e) => [e.name, e.valueFrom.secretKeyRef.name]);
    expect(fromSecret).to.deep.equal(
      [
        "PATRONI_RESTAPI_PASSWORD",
        "PATRONI_SUPERUSER_PASSWORD",
        "PATRONI_REPLICATION_PASSWORD",
        "PATRONI_REWIND_PASSWORD",
        "DRSTACK_APP_PASSWORD",
        "PGBACKREST_REPO1_CIPHER_PASS",
        "PGBACKREST_REPO2_CIPHER_PASS",
      ].map((n) => [n, secretName]),
    );
    expect(env.filter((e) => e.value !== undefined).every((e) => !/PASS/.test(e.name))).to.equal(
      true,
    );
    for (const plan of [primary, dr]) {
      const secret = one(plan, SECRET, `${plan.stack}-postgres-credentials`);
      expect(secret.secretInputs).to.include("stringData");
      const text = JSON.stringify(byType(plan, CM).map((r) => r.inputs));
      for (const v of Object.values(inputs(secret).stringData as Record<string, string>))
        expect(text).to.not.include(v);
    }
  });

  it("gives the standby the primary's role passwords and repository passphrase, and its own repo1 passphrase", () => {
    const p = inputs(one(primary, SECRET, "primary-postgres-credentials")).stringData;
    const d = inputs(one(dr, SECRET, "dr-postgres-credentials")).stringData;
    const random = (plan: StackPlan, n: string) =>
      (one(plan, "random:index/randomPassword:RandomPassword", n).outputs as Obj).result;
    expect(p["superuser-password"]).to.equal(
      random(primary, "primary-postgres-superuser-password"),
    );
    for (const k of [
      "superuser-password",
      "replication-password",
      "rewind-password",
      "app-password",
    ])
      expect(d[k], k).to.equal(p[k]);
    expect(d["repo2-cipher-pass"]).to.equal(p["repo1-cipher-pass"]);
    expect(d["repo1-cipher-pass"])
      .to.equal(random(dr, "dr-postgres-backup-cipher"))
      .and.not.equal(p["repo1-cipher-pass"]);
  });

  it("offers the leader to other sites through an internal load balancer with the exported DNS name", () => {
    const exported = primary.outputs.postgres as Obj;
    const lb = inputs(one(primary, SVC, "primary-postgres-replication"));
    expect(lb.spec.type).to.equal("LoadBalancer");
    expect(lb.spec.selector).to.include({ role: "master", "cluster-name": exported.scope });
    expect(lb.metadata.annotations).to.include({
      "external-dns.alpha.kubernetes.io/hostname": exported.replicationHost,
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    });
    expect(inputs(one(dr, SVC, "dr-postgres-replication")).metadata.annotations).to.include({
      "networking.gke.io/load-balancer-type": "Internal",
    });
    const primarySvc = inputs(one(primary, SVC, "primary-postgres-primary"));
    expect(primarySvc.metadata.name).to.equal(exported.scope); // Patroni's leader Endpoints back it
    expect(primarySvc.spec.selector).to.equal(undefined);
    expect(inputs(one(primary, SVC, "primary-postgres-replicas")).spec.selector).to.include({
      role: "replica",
    });
  });

  it("wires the dr stack's standby_cluster to the host and repository the primary stack exports", () => {
    expect(dr.stackReferences).to.deep.equal(["primary"]);
    const exported = primary.outputs.postgres as Obj;
    const files = inputs(one(dr, CM, "dr-postgres-config")).data as Record<string, string>;
    const standby = parse(files["patroni.yaml"], { version: "1.1" }).bootstrap.dcs.standby_cluster;
    expect(standby.host).to.equal(exported.replicationHost);
    expect(standby.port).to.equal(exported.port);
    expect(standby.restore_command).to.include(`--stanza=${exported.stanza} --repo=2 archive-get`);
    expect(files["pgbackrest-primary.conf"]).to.include(`repo2-s3-bucket=${exported.repo.bucket}`);
    expect((dr.outputs.postgres as Obj).standbyHost).to.equal(exported.replicationHost);
    const primaryFiles = inputs(one(primary, CM, "primary-postgres-config")).data as Record<
      string,
      string
    >;
    expect(parse(primaryFiles["patroni.yaml"]).bootstrap.dcs).to.not.have.property(
      "standby_cluster",
    );
  });

  it("ships ConfigMaps that the real patroni --validate-config accepts with each pod's environment", () => {
    for (const plan of [primary, dr]) {
      const files = inputs(one(plan, CM, `${plan.stack}-postgres-config`)).data as Record<
        string,
        string
      >;
      const secret = inputs(one(plan, SECRET, `${plan.stack}-postgres-credentials`))
        .stringData as Record<string, string>;
      // The kubelet's view of the recorded env for a pod at 10.0.3.4; bin_dir as Debian installs it.
      const env: Record<string, string> = {};
      for (const e of pod(plan).containers[0].env as Obj[]) {
        if (e.valueFrom?.fieldRef)
          env[e.name] =
            e.valueFrom.fieldRef.fieldPath === "metadata.name" ? `${plan.stack}-pg-0` : "10.0.3.4";
        else if (e.valueFrom?.secretKeyRef) env[e.name] = secret[e.valueFrom.secretKeyRef.key];
        else env[e.name] = String(e.value).replace("$(POD_IP)", env.POD_IP);
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pv-"));
      const file = path.join(dir, "patroni.yaml");
      fs.writeFileSync(
        file,
        files["patroni.yaml"].replace(/bin_dir: .*/, "bin_dir: /usr/lib/postgresql/15/bin"),
      );
      const r = spawnSync("patroni", ["--validate-config", file], {
        env: { PATH: "/usr/bin:/bin", ...env },
        encoding: "utf8",
      });
      fs.rmSync(dir, { recursive: true, force: true });
      expect(`${r.stdout}${r.stderr}`, plan.stack).to.equal("");
      expect(r.status, plan.stack).to.equal(0);
    }
  });

  it("satisfies every postgres policy as recorded", async () => {
    for (const plan of [primary, dr]) {
      for (const r of plan.resources.filter((x) => x.parent?.includes("PatroniCluster"))) {
        const spec = { type: r.type, name: r.name, urn: r.urn, props: r.inputs };
        for (const rule of [minMembers, zoneSpread, syncRepl, walArchiving, encryption]) {
          const run = await runResourceRule(rule, spec);
          expect(run.messages, `${rule.name} on ${r.name}`).to.deep.equal([]);
        }
      }
    }
  });

  it("reports bad drstack:postgres values with field paths before registering anything", async () => {
    let err: Obj | undefined;
    try {
      await planWithConfig("primary", {
        "drstack:postgres": JSON.stringify({
          ttl: 8,
          loopWait: 2,
          retryTimeout: 4,
          memebers: 3,
          storageSize: "lots",
        }),
      });
    } catch (e) {
      err = e as Obj;
    }
    expect(err?.name).to.equal("ConfigError");
    const problems = (err!.problems as Obj[]).map(
      (p) => `${p.path}: ${p.message}${p.fix ? ` (${p.fix})` : ""}`,
    );
    expect(problems).to.have.members([
      'config.drstack:postgres.memebers: unknown key "memebers" (did you mean "members"?)',
      'config.drstack:postgres.storageSize: "lots" is not valid (use a Kubernetes quantity such as 500m, 1Gi)',
    ]);
    const timing = (await planWithConfig("primary", {
      "drstack:postgres": JSON.stringify({ ttl: 20, retryTimeout: 10 }),
    }).catch((e: unknown) => e)) as Obj;
    expect(timing.problems.map((p: Obj) => p.path)).to.deep.equal(["config.drstack:postgres.ttl"]);
    expect(timing.message).to.include("2 + 2 * 10 = 22 > 20");
  });

  it("follows drstack:postgres overrides into the resources", async () => {
    const plan = await planWithConfig("primary", {
      "drstack:postgres": JSON.stringify({
        members: 5,
        storageClass: "gp3",
        storageSize: "100Gi",
        synchronousModeStrict: true,
        ttl: 30,
        loopWait: 10,
        retryTimeout: 10,
      }),
    });
    const sts = inputs(one(plan, STS, "primary-postgres-patroni"));
    expect(sts.spec.replicas).to.equal(5);
    expect(sts.spec.volumeClaimTemplates[0].spec).to.deep.include({ storageClassName: "gp3" });
    const dcs = parse(
      (inputs(one(plan, CM, "primary-postgres-config")).data as Obj)["patroni.yaml"],
    ).bootstrap.dcs;
    expect(dcs).to.include({
      ttl: 30,
      loop_wait: 10,
      retry_timeout: 10,
      synchronous_mode: true,
      synchronous_mode_strict: true,
    });
  });
});
