/**
 * BackupSchedule as recorded by the planner (the CronJobs' inputs), and the cron parser that
 * schedules, alerts and policies rely on (checked against a brute-force minute-by-minute simulation).
 */
import { expect } from "chai";
import * as fc from "fast-check";
import { IMAGES } from "../components/shared/images";
import { maxIntervalSeconds, parseCron, scheduleInterval } from "../components/util/cron";
import type { ResourceRecord } from "../planner/monitor";
import { planStack, type StackPlan } from "../planner/plan";
import { byType, one, planShipped, projectRoot } from "./support/project";

type Obj = Record<string, any>;
const CRONJOB = "kubernetes:batch/v1:CronJob";
const DAY = 86400;

const spec = (r: ResourceRecord) => (r.inputs as Obj).spec;
const pod = (r: ResourceRecord) => spec(r).jobTemplate.spec.template.spec;
const envOf = (r: ResourceRecord) =>
  Object.fromEntries(
    (pod(r).containers[0].env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]),
  );

async function shipped(stack: string): Promise<StackPlan> {
  return (await planShipped()).find((p) => p.stack === stack)!;
}

describe("backup: BackupSchedule CronJobs (planner records)", () => {
  let plan: StackPlan;
  before(async () => {
    plan = await shipped("primary");
  });

  it("runs pgBackRest full weekly, diff daily, incr hourly, Redis hourly and restore verification daily, in the backup namespace", () => {
    const jobs = Object.fromEntries(
      byType(plan, CRONJOB).map((r) => [
        (r.inputs as Obj).metadata.name,
        [spec(r).schedule, (r.inputs as Obj).metadata.namespace],
      ]),
    );
    expect(jobs).to.deep.equal({
      "drstack-backup-pg-full": ["0 2 * * 0", "drstack-backup"],
      "drstack-backup-pg-diff": ["0 2 * * 1-6", "drstack-backup"],
      "drstack-backup-pg-incr": ["30 * * * *", "drstack-backup"],
      "drstack-backup-redis": ["15 * * * *", "drstack-backup"],
      "drstack-backup-keys": ["45 3 * * *", "drstack-backup"],
      "drstack-backup-verify": ["0 6 * * *", "drstack-backup"],
    });
    for (const r of byType(plan, CRONJOB)) {
      expect(r.parent).to.equal(one(plan, "drstack:backup:BackupSchedule", "primary-backup").urn);
      expect(r.provider).to.contain("primary-k8s");
    }
  });

  it("never overlaps runs, bounds retries and run time, and skips runs missed by more than 10 minutes", () => {
    for (const r of byType(plan, CRONJOB)) {
      const s = spec(r);
      expect(s.concurrencyPolicy, r.name).to.equal("Forbid");
      expect(s.startingDeadlineSeconds).to.equal(600);
      expect(s.timeZone).to.equal("Etc/UTC");
      expect(s.jobTemplate.spec.backoffLimit).to.be.within(1, 3);
      const deadline = s.jobTemplate.spec.activeDeadlineSeconds as number;
      expect(deadline).to.be.greaterThan(0);
      // A job must finish before the next run of the same schedule is due.
      expect(deadline, `${r.name} deadline`).to.be.lessThan(scheduleInterval(s.schedule)!);
    }
  });

  it("runs restricted pods: non-root, no privilege escalation, read-only root, all capabilities dropped, RuntimeDefault seccomp", () => {
    for (const r of byType(plan, CRONJOB)) {
      const p = pod(r);
      expect(p.securityContext).to.deep.include({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(p.restartPolicy).to.equal("Never");
      expect(p.serviceAccountName).to.equal("drstack-backup");
      const c = p.containers[0];
      expect(c.securityContext).to.deep.equal({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(c.command).to.deep.equal([
        "/bin/bash",
        `/scripts/${(r.inputs as Obj).metadata.labels["drstack.io/backup-job"]}.sh`,
      ]);
    }
  });

  it("ships each job's script in one ConfigMap, with the guard, and points jobs at the bucket and Pushgateway", () => {
    const cm = byType(plan, "kubernetes:core/v1:ConfigMap").find(
      (r) => (r.inputs as Obj).metadata.name === "drstack-backup-scripts",
    )!;
    const data = (cm.inputs as Obj).data as Record<string, string>;
    expect(Object.keys(data).sort()).to.deep.equal([
      "keys.sh",
      "pg-diff.sh",
      "pg-full.sh",
      "pg-incr.sh",
      "redis.sh",
      "verify-redis.sh",
      "verify.sh",
    ]);
    expect(data["redis.sh"]).to.contain("guard_artifact").and.contain("redis-check-rdb");
    expect(data["pg-full.sh"])
      .to.contain("--type=full")
      .and.contain('guard_pgbackrest_info "$info" "$before" full 1048576');
    expect(data["verify.sh"])
      .to.contain("--output=text --verbose verify")
      .and.contain('pgbackrest --stanza="$STANZA" --pg1-path=');
    const env = envOf(one(plan, CRONJOB, "primary-backup-pg-full"));
    expect(env).to.include({
      SITE: "primary",
      BUCKET: "example-network-primary-backups",
      PUSHGATEWAY_URL: "http://drstack-pushgateway:9091",
      PGBACKREST_REPO1_TYPE: "s3",
      PGBACKREST_REPO1_S3_BUCKET: "example-network-primary-backups",
      PGBACKREST_REPO1_S3_REGION: "us-east-1",
      PGBACKREST_REPO1_RETENTION_FULL_TYPE: "time",
      PGBACKREST_REPO1_RETENTION_FULL: "35",
      PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc",
      STANZA: "pg-example-network",
      RCLONE_CONFIG_BACKUP_TYPE: "s3",
    });
    // The repository's cipher pass and the Redis password come from the PostgreSQL and Redis
    // components, copied (as Pulumi secrets) into a Secret of the backup namespace.
    expect(env.PGBACKREST_REPO1_CIPHER_PASS).to.deep.equal({
      secretKeyRef: { name: "drstack-backup-credentials", key: "passphrase" },
    });
    expect(envOf(one(plan, CRONJOB, "primary-backup-redis")).REDISCLI_AUTH).to.deep.equal({
      secretKeyRef: { name: "drstack-backup-credentials", key: "password" },
    });
    const creds = one(plan, "kubernetes:core/v1:Secret", "primary-backup-credentials");
    expect((creds.inputs as Obj).metadata).to.deep.include({
      name: "drstack-backup-credentials",
      namespace: "drstack-backup",
    });
    expect(creds.secretInputs).to.include("stringData");
    expect(Object.keys((creds.inputs as Obj).stringData).sort()).to.deep.equal([
      "passphrase",
      "password",
    ]);
    expect((creds.inputs as Obj).stringData.passphrase).to.have.length.greaterThan(20);
    expect(env.PGBACKREST_REPO1_S3_KMS_KEY_ID).to.match(/^arn:aws:kms:us-east-1:/);
  });

  it("on a standby site, creates the pgBackRest jobs suspended and verifies only Redis", async () => {
    const dr = await shipped("dr");
    const suspended = Object.fromEntries(byType(dr, CRONJOB).map((r) => [r.name, spec(r).suspend]));
    expect(suspended).to.deep.equal({
      "dr-backup-pg-full": true,
      "dr-backup-pg-diff": true,
      "dr-backup-pg-incr": true,
      "dr-backup-redis": false,
      "dr-backup-keys": false,
      "dr-backup-verify": false,
    });
    const verify = one(dr, CRONJOB, "dr-backup-verify");
    expect(envOf(verify)).to.not.have.property("STANZA");
    expect(envOf(verify)).to.include({ RCLONE_CONFIG_BACKUP_TYPE: "google cloud storage" });
  });

  it("by default seals validator keys to the custodians' recovery key on the node image, scratch in memory, no share in the job", async () => {
    const keys = one(await shipped("primary"), CRONJOB, "primary-backup-keys");
    const p = pod(keys);
    expect(p.containers.map((c: Obj) => c.image)).to.deep.equal([IMAGES.node.ref]);
    expect(p.initContainers.map((c: Obj) => c.image)).to.deep.equal([IMAGES.rclone.ref]);
    const env = envOf(keys);
    expect(env.RECOVERY_PUBLIC_KEY).to.match(/^[0-9a-f]{64}$/);
    expect(env).to.include({ RECOVERY_SHARES: "5", RECOVERY_THRESHOLD: "3", KEYS_DIR: "/keys" });
    const volumes = Object.fromEntries((p.volumes as Obj[]).map((v) => [v.name, v]));
    expect(volumes.scratch.emptyDir.medium).to.equal("Memory");
    expect(Object.keys(volumes).sort()).to.deep.equal(
      ["scratch", "scripts", "tmp", "tools", "validator-keys"].sort(),
    );
  });

  it("the OpenPGP key backup needs the single-image variant (gpg): without image it is a config error", async () => {
    let err: unknown;
    try {
      await planStack("primary", {
        projectDir: projectRoot(),
        stackOutputs: new Map((await planShipped()).map((x) => [x.stack, x.outputs])),
        configOverrides: {
          "drstack:backup": JSON.stringify({
            keyRecipient:
              "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----\n",
          }),
        },
      });
    } catch (e) {
      err = e;
    }
    expect(
      String((err as Error)?.message ?? err) +
        JSON.stringify((err as { problems?: unknown })?.problems ?? ""),
    ).to.contain("needs gpg");
  });

  it("backs up validator keys encrypted to the configured OpenPGP recipient (single image), with scratch space in memory", async () => {
    const outputs = new Map((await planShipped()).map((p) => [p.stack, p.outputs]));
    const recipient =
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n";
    const p = await planStack("primary", {
      projectDir: projectRoot(),
      stackOutputs: outputs,
      configOverrides: {
        "drstack:backup": JSON.stringify({
          keyRecipient: recipient,
          image: "registry.example.com/drstack-backup-tools:1",
        }),
      },
    });
    const keys = one(p, CRONJOB, "primary-backup-keys");
    const volumes = Object.fromEntries((pod(keys).volumes as Obj[]).map((v) => [v.name, v]));
    expect(volumes["validator-keys"].secret.secretName).to.equal("drstack-validator-keys");
    expect(volumes.recipient.configMap.name).to.equal("drstack-backup-recipient");
    expect(volumes.scratch.emptyDir.medium).to.equal("Memory");
    const cm = byType(p, "kubernetes:core/v1:ConfigMap").find(
      (r) => (r.inputs as Obj).metadata.name === "drstack-backup-recipient",
    )!;
    expect((cm.inputs as Obj).data["recipient.asc"]).to.equal(recipient);
  });

  it("a validators-only site has no backup jobs", async () => {
    expect(byType(await shipped("west"), CRONJOB)).to.have.length(0);
  });
});

/** Brute force: every minute of `days` days from 2024-01-01 UTC; the longest gap between firings. */
function bruteForceGap(expr: string, days: number): number {
  const c = parseCron(expr);
  if (!c.ok) throw new Error(c.error);
  const { cron } = c;
  let last: number | undefined;
  let max = 0;
  const start = Date.UTC(2024, 0, 1) / 1000;
  for (let t = start; t < start + days * DAY; t += 60) {
    const d = new Date(t * 1000);
    const dom = cron.daysOfMonth.has(d.getUTCDate());
    const dow = cron.daysOfWeek.has(d.getUTCDay());
    const day = cron.domRestricted && cron.dowRestricted ? dom || dow : dom && dow;
    if (
      day &&
      cron.months.has(d.getUTCMonth() + 1) &&
      cron.hours.includes(d.getUTCHours()) &&
      cron.minutes.includes(d.getUTCMinutes())
    ) {
      if (last !== undefined) max = Math.max(max, t - last);
      last = t;
    }
  }
  return max;
}

describe("backup: cron schedules", () => {
  it("knows the longest gap of common schedules", () => {
    expect(scheduleInterval("0 2 * * 0")).to.equal(7 * DAY);
    expect(scheduleInterval("@weekly")).to.equal(7 * DAY);
    expect(scheduleInterval("0 2 * * 1-6")).to.equal(2 * DAY);
    expect(scheduleInterval("30 * * * *")).to.equal(3600);
    expect(scheduleInterval("*/15 * * * *")).to.equal(900);
    expect(scheduleInterval("0 0 1 * *")).to.equal(31 * DAY);
    expect(scheduleInterval("0 0 29 2 *")).to.equal((366 + 365 * 3) * DAY);
    expect(scheduleInterval("0 0 30 2 *")).to.equal(Infinity);
    // Vixie cron: day-of-month OR day-of-week when both are restricted.
    expect(scheduleInterval("0 0 1 * sun")).to.be.at.most(7 * DAY);
  });

  it("rejects malformed expressions with the field at fault", () => {
    expect(parseCron("0 2 * *")).to.deep.include({ ok: false });
    expect(parseCron("61 * * * *")).to.deep.equal({
      ok: false,
      error: "minute: 61 is outside 0-59",
    });
    expect(parseCron("0 5-2 * * *")).to.deep.equal({
      ok: false,
      error: "hour: range 5-2 runs backwards",
    });
    expect(parseCron("*/0 * * * *")).to.deep.include({ ok: false });
    expect(parseCron("0 0 * * mon-fri")).to.deep.include({ ok: true });
  });

  it("matches a minute-by-minute simulation on random weekly schedules (property)", () => {
    const list = (min: number, max: number) =>
      fc
        .uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 3 })
        .map((xs) => xs.join(","));
    fc.assert(
      fc.property(list(0, 59), list(0, 23), list(0, 6), (mi, h, dow) => {
        const expr = `${mi} ${h} * * ${dow}`;
        const r = parseCron(expr);
        if (!r.ok) return false;
        return maxIntervalSeconds(r.cron) === bruteForceGap(expr, 35);
      }),
      { numRuns: 25 },
    );
  });
});
