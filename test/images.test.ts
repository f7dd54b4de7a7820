/**
 * Every container image a recorded resource names comes from the catalogue
 * (components/shared/images.ts), and the backup jobs run on catalogue images unless the
 * single-image variant is set explicitly.
 */
import { expect } from "chai";
import type { StackPlan } from "../planner/plan";
import { type BackupJob, cronJobSpec } from "../components/backup/jobs";
import { catalogued, IMAGES } from "../components/shared/images";
import { planShipped } from "./support/project";

/** Every `image` of a container or init container anywhere in a resource's inputs. */
export function podImages(value: unknown, at = ""): { path: string; image: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => podImages(v, `${at}[${i}]`));
  if (!value || typeof value !== "object") return [];
  const out: { path: string; image: unknown }[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (
      (k === "containers" || k === "initContainers" || k === "ephemeralContainers") &&
      Array.isArray(v)
    ) {
      v.forEach((c, i) =>
        out.push({ path: `${at}.${k}[${i}]`, image: (c as { image?: unknown }).image }),
      );
    }
    out.push(...podImages(v, `${at}.${k}`));
  }
  return out;
}

describe("images: one catalogue of published images", () => {
  let plans: StackPlan[];
  before(async function () {
    this.timeout(300_000);
    plans = await planShipped();
  });

  it("every container of every recorded resource of every stack names a catalogued image", () => {
    const outside: string[] = [];
    let seen = 0;
    for (const p of plans)
      for (const r of p.resources)
        for (const { path, image } of podImages(r.inputs)) {
          seen++;
          if (typeof image !== "string" || !catalogued(image))
            outside.push(`${p.stack} ${r.type} ${r.name}${path}: ${String(image)}`);
        }
    expect(outside, "images outside components/shared/images.ts").to.deep.equal([]);
    expect(seen).to.be.greaterThan(20);
  });

  it("the backup CronJobs run on the PostgreSQL, Redis, rclone and node images, tools copied by an init container", () => {
    const cron = plans.flatMap((p) =>
      p.resources.filter((r) => r.type === "kubernetes:batch/v1:CronJob"),
    );
    const byRole = new Map<string, string[]>();
    for (const r of cron) {
      const spec = (r.inputs as any).spec.jobTemplate.spec.template.spec;
      const role = (r.inputs as any).metadata.labels["drstack.io/backup-job"];
      byRole.set(role, [
        ...(spec.initContainers ?? []).map((c: any) => `init:${c.image}`),
        ...spec.containers.map((c: any) => c.image),
      ]);
    }
    expect(byRole.get("pg-full")).to.deep.equal([IMAGES.postgres.ref]);
    expect(byRole.get("redis")).to.deep.equal([`init:${IMAGES.rclone.ref}`, IMAGES.redisTools.ref]);
    expect(byRole.get("keys")).to.deep.equal([`init:${IMAGES.rclone.ref}`, IMAGES.node.ref]);
    expect(byRole.get("verify")).to.deep.equal([
      `init:${IMAGES.rclone.ref}`,
      `init:${IMAGES.redisTools.ref}`,
      IMAGES.postgres.ref,
    ]);
  });

  it("the single-image variant, only when set, runs every container on it and drops the tools init container", () => {
    const job: BackupJob = {
      role: "verify",
      schedule: "0 6 * * *",
      script: "#!/bin/bash\n",
      image: "postgres",
      tools: true,
      steps: [{ name: "redis", image: "redisTools", script: "#!/bin/bash\n" }],
      activeDeadlineSeconds: 60,
      suspend: false,
      env: [{ name: "SITE", value: "primary" }],
      mounts: [],
      scratch: { medium: "", sizeLimit: "1Gi" },
    };
    const common = { serviceAccountName: "sa", scriptsConfigMap: "cm", labels: {} };
    const images = (spec: any) => {
      const pod = spec.jobTemplate.spec.template.spec;
      return [...(pod.initContainers ?? []), ...pod.containers].map(
        (c: any) => `${c.name}=${c.image}`,
      );
    };
    expect(images(cronJobSpec(job, common))).to.deep.equal([
      `tools=${IMAGES.rclone.ref}`,
      `verify-redis=${IMAGES.redisTools.ref}`,
      `verify=${IMAGES.postgres.ref}`,
    ]);
    const single = "registry.example.com/drstack-backup-tools:1";
    expect(images(cronJobSpec(job, { ...common, image: single }))).to.deep.equal([
      `verify-redis=${single}`,
      `verify=${single}`,
    ]);
  });

  it("the catalogue names no image of this project's own (none is published)", () => {
    for (const i of Object.values(IMAGES)) {
      expect(i.ref).to.match(/^[\w./-]+:[\w.-]+$/, "a pinned tag");
      expect(i.ref).to.not.match(/drstack/);
      expect(i.ref).to.not.match(/:latest$/);
      expect(i.provides.length).to.be.greaterThan(0);
      expect(i.recipe).to.match(/github\.com\//);
    }
  });
});
