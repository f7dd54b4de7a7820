/**
 * Test harness for policy rules: happy-path factories for the props rules read (workloads with a
 * restricted pod, PodDisruptionBudgets, Secrets, the topology ConfigMap, a safe network), one
 * helper to change a single field, and functions that run a rule exactly as the analyzer would
 * and return its violations.
 *
 * ```ts
 * const sts = validatorStatefulSet("val-a");
 * expect(await resourceViolations(rule, sts)).to.deep.equal([]);
 * expect(await resourceViolations(rule, changed(sts, "spec.replicas", 2))).to.have.length(1);
 * ```
 */
import type { ResourceSpec } from "../../policies/lib/args";
import { NotApplicable, policyResources, resourceArgs, stackArgs } from "../../policies/lib/args";
import { resolveSettings } from "../../policies/lib/config";
import type { DrResourceRule, DrRule, DrStackRule } from "../../policies/lib/rule";
import type { Network } from "../../components/topology/model";

export type { ResourceSpec };
type Obj = Record<string, any>;

export const TEST_STACK = "test";
export const TEST_PROJECT = "drstack";

/** An engine-shaped URN for a resource of the test stack. */
export function urnOf(type: string, name: string, stack = TEST_STACK): string {
  return `urn:pulumi:${stack}::${TEST_PROJECT}::${type}::${name}`;
}

/** A resource of `type` named `name` with these props (inputs for resource rules, state for stack rules). */
export function resource(
  type: string,
  name: string,
  props: Obj,
  extra: Partial<ResourceSpec> = {},
): ResourceSpec {
  return { type, name, urn: urnOf(type, name), props, ...extra };
}

/**
 * A copy of `spec` with one field of its props changed: `path` is dotted, with `[i]` for list
 * items (`spec.template.spec.containers[0].securityContext.privileged`). `undefined` deletes it.
 */
export function changed(spec: ResourceSpec, path: string, value: unknown): ResourceSpec {
  const props = structuredClone(spec.props) as Obj;
  const keys = path
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter(Boolean);
  let o: Obj = props;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === undefined || o[k] === null) o[k] = /^\d+$/.test(k) ? [] : {};
    o = o[k];
  }
  const last = keys[keys.length - 1];
  if (value === undefined) {
    if (Array.isArray(o)) o.splice(Number(last), 1);
    else delete o[last];
  } else o[last] = structuredClone(value);
  return { ...spec, props };
}

/** A pod spec that meets Pod Security "restricted". */
export function restrictedPodSpec(image = "registry.example/app:1.0"): Obj {
  return {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    automountServiceAccountToken: false,
    containers: [
      {
        name: "main",
        image,
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
      },
    ],
  };
}

/** A generic stateful workload (StatefulSet, 3 replicas) with a restricted pod and a volume claim. */
export function statefulSet(
  name = "db",
  labels: Obj = { "app.kubernetes.io/name": name },
  namespace = "drstack-data",
): ResourceSpec {
  return resource("kubernetes:apps/v1:StatefulSet", name, {
    metadata: { name, namespace, labels },
    spec: {
      replicas: 3,
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: restrictedPodSpec() },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
        },
      ],
    },
  });
}

/** A validator StatefulSet as ValidatorSet renders it: 1 replica, labelled, zone-pinned. */
export function validatorStatefulSet(
  validator = "val-a",
  zone = "us-east-1a",
  site = "primary",
  votingPower = 10,
): ResourceSpec {
  const labels = {
    "app.kubernetes.io/name": "validator",
    "app.kubernetes.io/component": "validator",
    "app.kubernetes.io/instance": validator,
    "drstack.io/validator": validator,
    "drstack.io/site": site,
    "topology.kubernetes.io/zone": zone,
  };
  const spec = statefulSet(validator, labels, "drstack-validators");
  const props = spec.props as Obj;
  props.metadata.annotations = { "drstack.io/voting-power": String(votingPower) };
  props.spec.replicas = 1;
  props.spec.template.spec.affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          {
            matchExpressions: [
              { key: "topology.kubernetes.io/zone", operator: "In", values: [zone] },
            ],
          },
        ],
      },
    },
  };
  return resource("kubernetes:apps/v1:StatefulSet", `${site}-${validator}`, props);
}

/** A restricted Deployment. */
export function deployment(name = "web", replicas = 2): ResourceSpec {
  const labels = { "app.kubernetes.io/name": name };
  return resource("kubernetes:apps/v1:Deployment", name, {
    metadata: { name, namespace: "drstack-system", labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: restrictedPodSpec() },
    },
  });
}

/** A restricted CronJob. */
export function cronJob(name = "backup"): ResourceSpec {
  return resource("kubernetes:batch/v1:CronJob", name, {
    metadata: { name, namespace: "drstack-backup" },
    spec: {
      schedule: "0 3 * * *",
      jobTemplate: {
        spec: { template: { spec: { ...restrictedPodSpec(), restartPolicy: "OnFailure" } } },
      },
    },
  });
}

/** A PodDisruptionBudget selecting `labels` in `namespace`. */
export function pdbFor(workload: ResourceSpec, name = `${workload.name}-pdb`): ResourceSpec {
  const props = workload.props as Obj;
  const selector =
    props.spec?.selector?.matchLabels ?? props.spec?.template?.metadata?.labels ?? {};
  return resource("kubernetes:policy/v1:PodDisruptionBudget", name, {
    metadata: { name, namespace: props.metadata?.namespace },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...selector } } },
  });
}

/** A Kubernetes Secret whose `data` is a Pulumi secret (set `secret: false` for a plaintext one). */
export function secretResource(
  name = "creds",
  data: Obj = { password: Buffer.from("s3cr3t-from-random").toString("base64") },
  secret = true,
): ResourceSpec {
  return resource(
    "kubernetes:core/v1:Secret",
    name,
    { metadata: { name, namespace: "drstack-data" }, type: "Opaque", data },
    { secretInputs: secret ? ["data"] : [] },
  );
}

/** A safe network: 4 regions over 2 clouds, equal power (25% each), 2 validators per site on distinct zones. */
export function networkFixture(): Network {
  const site = (
    name: string,
    role: "primary" | "standby",
    cloud: "aws" | "gcp",
    region: string,
    zones: string[],
  ) => ({
    name,
    role,
    cloud,
    region,
    zones,
    kubernetes: { context: `ctx-${name}` },
    services: ["validators", "postgres", "redis", "backup"] as const,
  });
  return structuredClone({
    name: "fixture",
    objectives: {},
    sites: [
      site("primary", "primary", "aws", "us-east-1", ["us-east-1a", "us-east-1b"]),
      site("dr", "standby", "gcp", "europe-west1", ["europe-west1-b", "europe-west1-c"]),
      site("west", "standby", "aws", "us-west-2", ["us-west-2a", "us-west-2b"]),
      site("asia", "standby", "gcp", "asia-southeast1", ["asia-southeast1-a", "asia-southeast1-b"]),
    ],
    parties: [{ name: "operator", threshold: 2 }],
    validators: [
      { name: "val-1", site: "primary", zone: "us-east-1a", votingPower: 1, parties: ["operator"] },
      { name: "val-2", site: "primary", zone: "us-east-1b", votingPower: 1, parties: [] },
      { name: "val-3", site: "dr", zone: "europe-west1-b", votingPower: 1, parties: ["operator"] },
      { name: "val-4", site: "dr", zone: "europe-west1-c", votingPower: 1, parties: [] },
      { name: "val-5", site: "west", zone: "us-west-2a", votingPower: 1, parties: [] },
      { name: "val-6", site: "west", zone: "us-west-2b", votingPower: 1, parties: [] },
      { name: "val-7", site: "asia", zone: "asia-southeast1-a", votingPower: 1, parties: [] },
      { name: "val-8", site: "asia", zone: "asia-southeast1-b", votingPower: 1, parties: [] },
    ],
  }) as unknown as Network;
}

/** The topology ConfigMap every stack carries, for `network`. */
export function topologyConfigMap(
  network: Network = networkFixture(),
  site = "primary",
  stack = TEST_STACK,
): ResourceSpec {
  const type = "kubernetes:core/v1:ConfigMap";
  return {
    type,
    name: `${site}-topology`,
    urn: urnOf(type, `${site}-topology`, stack),
    props: {
      metadata: {
        name: "drstack-topology",
        namespace: "drstack-system",
        labels: { "app.kubernetes.io/component": "topology", "drstack.io/site": site },
      },
      data: { "network.json": JSON.stringify(network, null, 2), site },
    },
  };
}

export interface RuleRun {
  /** Violation messages, in order. */
  readonly messages: string[];
  /** Violations with the URN a stack rule named. */
  readonly violations: { message: string; urn?: string }[];
  /** Set when the rule called `notApplicable`. */
  readonly notApplicable?: string;
}

function settingsFor(rule: DrRule, config: Obj): object {
  return resolveSettings([rule], Object.keys(config).length ? { [rule.name]: config } : {}).get(
    rule.name,
  )!.config;
}

/** Runs a resource rule on one resource (its props as inputs); `config` overrides schema defaults. */
export async function runResourceRule(
  rule: DrRule,
  spec: ResourceSpec,
  config: Obj = {},
): Promise<RuleRun> {
  if (rule.kind !== "resource") throw new Error(`${rule.name} is a stack rule; use runStackRule`);
  const r = rule as DrResourceRule;
  const violations: { message: string; urn?: string }[] = [];
  const args = resourceArgs(
    { ...spec, props: structuredClone(spec.props) },
    settingsFor(rule, config),
  );
  const fns = Array.isArray(r.validateResource)
    ? r.validateResource
    : r.validateResource
      ? [r.validateResource]
      : [];
  try {
    for (const fn of fns) await fn(args, (message) => violations.push({ message, urn: spec.urn }));
  } catch (e) {
    if (e instanceof NotApplicable)
      return {
        messages: violations.map((v) => v.message),
        violations,
        notApplicable: e.reason ?? "",
      };
    throw e;
  }
  return { messages: violations.map((v) => v.message), violations };
}

/** Runs a stack rule over these resources (their props as state). */
export async function runStackRule(
  rule: DrRule,
  specs: readonly ResourceSpec[],
  config: Obj = {},
): Promise<RuleRun> {
  if (rule.kind !== "stack")
    throw new Error(`${rule.name} is a resource rule; use runResourceRule`);
  const violations: { message: string; urn?: string }[] = [];
  const args = stackArgs(
    policyResources(specs.map((s) => ({ ...s, props: structuredClone(s.props) }))),
    settingsFor(rule, config),
  );
  try {
    await (rule as DrStackRule).validateStack(args, (message, urn) =>
      violations.push({ message, ...(urn ? { urn } : {}) }),
    );
  } catch (e) {
    if (e instanceof NotApplicable)
      return {
        messages: violations.map((v) => v.message),
        violations,
        notApplicable: e.reason ?? "",
      };
    throw e;
  }
  return { messages: violations.map((v) => v.message), violations };
}

/** Runs either kind: a resource rule over each spec, a stack rule over all of them. */
export async function runRule(
  rule: DrRule,
  specs: readonly ResourceSpec[],
  config: Obj = {},
): Promise<RuleRun> {
  if (rule.kind === "stack") return runStackRule(rule, specs, config);
  const all: RuleRun = { messages: [], violations: [] };
  for (const s of specs) {
    const r = await runResourceRule(rule, s, config);
    all.messages.push(...r.messages);
    all.violations.push(...r.violations);
  }
  return all;
}
