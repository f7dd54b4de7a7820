/**
 * The offline planner: runs the real drstack program in-process under Pulumi's mock runtime for
 * one stack or all of them, recording every resource the engine would be asked to register.
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type {
  MockCallArgs,
  MockResourceArgs,
  MockResourceResult,
  Mocks,
} from "@pulumi/pulumi/runtime/mocks";
import { drstackProgramFor, loadStackConfig } from "../components/program";
import { loadNetwork } from "../components/topology/load";
import { ConfigError, formatProblem } from "../components/topology/errors";
import { EngineError, RecordingMonitor, type ResourceRecord, unwrapSecrets } from "./monitor";
import { listStacks, type Project, readProject, readStackConfig, withDefaults } from "./project";

export interface StackPlan {
  readonly project: string;
  readonly stack: string;
  /** Path of the stack file, relative to the project. */
  readonly file: string;
  readonly config: Readonly<Record<string, string>>;
  readonly resources: readonly ResourceRecord[];
  readonly outputs: Record<string, unknown>;
  /** Stacks this one read through `pulumi.StackReference`. */
  readonly stackReferences: readonly string[];
  readonly durationMs: number;
}

export interface PlanOptions {
  /** Project directory (holds Pulumi.yaml). Default: the current directory. */
  readonly projectDir?: string;
  /** Use this topology file instead of the stacks' `drstack:network`. */
  readonly networkFile?: string;
  /** Outputs of stacks already planned, by stack name, for `StackReference`s. */
  readonly stackOutputs?: ReadonlyMap<string, Record<string, unknown>>;
  /** Config values set on top of the stack file's (`drstack:key` to string). */
  readonly configOverrides?: Readonly<Record<string, string>>;
  /** The program to run. Default: drstack's own (`drstackProgramFor`); tests pass others. */
  readonly program?: (projectDir: string, stackFile: string) => Promise<Record<string, unknown>>;
  /** Plan a stack with no stack file that deploys this site (used with `networkFile`). */
  readonly syntheticSite?: string;
  /**
   * References to stacks without outputs read as unknown values, as in a preview (planAll uses
   * it to break a cycle of stacks that read each other). Default false: such a reference makes
   * the plan throw MissingStackReference.
   */
  readonly unknownReferences?: boolean;
  /**
   * Stacks whose outputs in `stackOutputs` are provisional (planned with unknown references):
   * a plan that reads one and fails throws MissingStackReference for it, to be planned later.
   */
  readonly pendingStacks?: ReadonlySet<string>;
}

/** A StackReference to a stack whose outputs are not known yet (planAll plans it first). */
export class MissingStackReference extends Error {
  constructor(readonly stackName: string) {
    super(`stack reference to ${stackName}, which has not been planned`);
  }
}

// Internal runtime hooks (not in the public typings) that setMocks itself uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getStore } = require("@pulumi/pulumi/runtime/state") as {
  getStore(): Record<string, unknown>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
  waitForRPCs(): Promise<void>;
};

const MAX_SAFE_STACKS = 10_000;

let planning = 0;
let listening = false;
/** While a plan runs, the runtime's duplicate rejections of the program's error are expected. */
function swallowRuntimeRejections(delta: number): void {
  planning += delta;
  if (listening) return;
  listening = true;
  process.on("unhandledRejection", (reason) => {
    if (planning > 0) return;
    // Outside a plan: behave as Node does by default.
    process.stderr.write(
      `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`,
    );
    process.exit(3);
  });
}

function digest(...parts: string[]): string {
  return crypto.createHash("sha256").update(parts.join("\0")).digest("hex");
}

/** Deterministic, realistic mock state for the resource kinds drstack uses. */
export function mockState(
  args: MockResourceArgs,
  stack: string,
): MockResourceResult & { missingRef?: string } {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mock inputs are loose JSON
  const inputs = (args.inputs ?? {}) as Record<string, any>;
  const h = digest(stack, args.type, args.name);
  if (args.type === "pulumi:pulumi:StackReference")
    return { id: inputs.name, state: { name: inputs.name } };
  if (
    args.type.startsWith("random:index/randomPassword:") ||
    args.type.startsWith("random:index/randomString:")
  ) {
    const len = Number(inputs.length ?? 32);
    const result = crypto
      .createHash("sha512")
      .update(h)
      .digest("base64url")
      .replace(/[-_]/g, "x")
      .slice(0, len)
      .padEnd(len, "x");
    return {
      id: "none",
      state: {
        ...inputs,
        result,
        ...(args.type.includes("Password") ? { bcryptHash: `$2a$10$${h.slice(0, 53)}` } : {}),
      },
    };
  }
  if (
    args.type.startsWith("random:index/randomBytes:") ||
    args.type.startsWith("random:index/randomId:")
  ) {
    const n = Number(inputs.length ?? inputs.byteLength ?? 32);
    const bytes = Buffer.from(crypto.createHash("sha512").update(h).digest()).subarray(0, n);
    return {
      id: bytes.toString("base64url"),
      state: {
        ...inputs,
        base64: bytes.toString("base64"),
        hex: bytes.toString("hex"),
        b64Std: bytes.toString("base64"),
        b64Url: bytes.toString("base64url"),
      },
    };
  }
  if (args.type.startsWith("tls:index/")) {
    // Placeholder PEMs (not keys or certificates): stable per resource, so Secrets have content.
    const pem = (label: string) =>
      `-----BEGIN ${label}-----\nmock ${args.name} ${h.slice(0, 16)}\n-----END ${label}-----\n`;
    const kind = args.type.split(":")[2];
    const state: Record<string, unknown> =
      kind === "PrivateKey"
        ? {
            privateKeyPem: pem("PRIVATE KEY"),
            privateKeyPemPkcs8: pem("PRIVATE KEY"),
            publicKeyPem: pem("PUBLIC KEY"),
            publicKeyFingerprintSha256: `SHA256:${h.slice(0, 43)}`,
          }
        : kind === "CertRequest"
          ? { certRequestPem: pem("CERTIFICATE REQUEST") }
          : { certPem: pem("CERTIFICATE"), readyForRenewal: false };
    return { id: h.slice(0, 16), state: { ...inputs, ...state } };
  }
  if (
    args.type.startsWith("kubernetes:") &&
    !args.type.startsWith("kubernetes:index:") &&
    inputs.metadata !== undefined
  ) {
    const metadata = { ...inputs.metadata };
    // The Kubernetes provider auto-names resources without metadata.name: `<name>-<suffix>`.
    metadata.name ??= `${args.name}-${h.slice(0, 8)}`;
    const id = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
    return { id, state: { ...inputs, metadata } };
  }
  if (args.type.startsWith("aws:") && args.custom !== false) {
    // Cloud-assigned identifiers policies and child resources read (deterministic, fake account).
    const service = args.type.slice(4).split("/")[0];
    const id = String(inputs.bucket ?? inputs.name ?? `${args.name}-${h.slice(0, 8)}`);
    const region = service === "iam" ? "" : String(inputs.region ?? "us-east-1");
    const arn =
      service === "s3"
        ? `arn:aws:s3:::${id}`
        : `arn:aws:${service}:${region}:123456789012:${service === "kms" ? "key/" : ""}${id}`;
    return {
      id,
      state: {
        arn,
        ...(service === "iam" ? { name: id } : {}),
        ...(args.type === "aws:eks/cluster:Cluster" ? eksClusterState(id, h) : {}),
        ...inputs,
      },
    };
  }
  if (args.type === "gcp:container/cluster:Cluster") {
    // What the GKE provider reports and the site's kubeconfig is built from.
    const caData = Buffer.from(`mock CA ${args.name}`).toString("base64");
    return {
      id: `${args.name}-${h.slice(0, 8)}`,
      state: {
        endpoint: `10.0.0.${parseInt(h.slice(0, 2), 16) % 250}`,
        masterAuth: { clusterCaCertificate: caData },
        ...inputs,
      },
    };
  }
  return { id: args.custom === false ? "" : `${args.name}-${h.slice(0, 8)}`, state: inputs };
}

/** What EKS reports for a cluster: endpoint, CA, the IAM OIDC issuer (IRSA reads it). */
function eksClusterState(id: string, h: string): Record<string, unknown> {
  const oidcId = h.slice(0, 32).toUpperCase();
  return {
    endpoint: `https://${oidcId}.gr7.us-east-1.eks.amazonaws.com`,
    certificateAuthority: { data: Buffer.from(`mock CA ${id}`).toString("base64") },
    identities: [{ oidcs: [{ issuer: `https://oidc.eks.us-east-1.amazonaws.com/id/${oidcId}` }] }],
  };
}

/** Runs the program for one stack under the recording mock runtime. */
export async function planStack(stack: string, opts: PlanOptions = {}): Promise<StackPlan> {
  const started = performance.now();
  const project = readProject(path.resolve(opts.projectDir ?? "."));
  const stackConfig = opts.syntheticSite
    ? {
        stack,
        file: `(no stack file: site ${opts.syntheticSite} of ${opts.networkFile})`,
        config: withDefaults(project, { [`${project.name}:site`]: opts.syntheticSite }),
        secretKeys: [],
      }
    : readStackConfig(project, stack);
  const config: Record<string, string> = { ...stackConfig.config, ...opts.configOverrides };
  if (opts.networkFile) config[`${project.name}:network`] = path.resolve(opts.networkFile);
  const references: string[] = [];
  let missing: string | undefined;
  let readPending: string | undefined;

  const mocks: Mocks = {
    newResource(args: MockResourceArgs): MockResourceResult {
      if (args.type === "pulumi:pulumi:StackReference") {
        const ref = String(args.inputs?.name ?? "");
        const target = resolveStackName(ref, project);
        references.push(target ?? ref);
        const outputs = target === undefined ? undefined : opts.stackOutputs?.get(target);
        if (target !== undefined && opts.pendingStacks?.has(target)) readPending ??= target;
        if (!outputs && opts.unknownReferences)
          return {
            id: ref,
            state: { name: ref, outputs: pulumi.runtime.unknownValue, secretOutputNames: [] },
          };
        if (!outputs) {
          missing ??= target ?? ref;
          return { id: ref, state: { name: ref, outputs: {}, secretOutputNames: [] } };
        }
        return { id: ref, state: { name: ref, outputs, secretOutputNames: [] } };
      }
      return mockState(args, stack);
    },
    call(args: MockCallArgs) {
      return args.inputs ?? {};
    },
  };

  // Validate before the runtime starts: bad input is reported as one list, never half-run.
  const program = opts.program ?? drstackProgramFor;
  if (!opts.program) loadStackConfig(config, project.dir, stackConfig.file);

  const monitor = new RecordingMonitor(mocks);
  pulumi.runtime.setMockOptions(monitor, project.name, stack, opts.unknownReferences === true);
  const store = getStore();
  Object.assign(store, {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsOutputValues: false,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
  });
  pulumi.runtime.setAllConfig(config, stackConfig.secretKeys);

  let outputs: Record<string, unknown>;
  let raw: Record<string, unknown> | undefined;
  // The runtime also rejects internal promises with the program's error; it is reported below.
  swallowRuntimeRejections(+1);
  // The runtime captures a stack trace for every promise and resource (leak and source-position
  // diagnostics a plan never shows); short traces make large plans several times faster.
  const stackTraceLimit = Error.stackTraceLimit;
  if (!process.env.DRSTACK_DEBUG) Error.stackTraceLimit = 4;
  try {
    outputs =
      (await pulumi.runtime.runInPulumiStack(
        async () => (raw = await program(project.dir, stackConfig.file)),
      )) ?? {};
    await waitForRPCs();
    // In a preview, one unknown value makes the whole stack output unknown: keep what is known.
    if (opts.unknownReferences) outputs = ((await knownLeaves(raw)) ?? {}) as typeof outputs;
  } catch (e) {
    // Outputs read from a stack not planned yet are empty; errors that follow from that are
    // not the program's: plan the other stack first.
    if (missing) throw new MissingStackReference(missing);
    if (readPending) throw new MissingStackReference(readPending);
    if (e instanceof ConfigError) throw e;
    if (monitor.failure) throw monitor.failure;
    throw e;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    setImmediate(() => swallowRuntimeRejections(-1));
  }
  if (missing) throw new MissingStackReference(missing);
  if (monitor.failure) throw readPending ? new MissingStackReference(readPending) : monitor.failure;
  return {
    project: project.name,
    stack,
    file: stackConfig.file,
    config,
    resources: monitor.records,
    outputs: unwrapSecrets(outputs).value as Record<string, unknown>,
    stackReferences: [...new Set(references)],
    durationMs: performance.now() - started,
  };
}

/** `v` with every Output replaced by its value, or undefined where the value is unknown. */
async function knownLeaves(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const o = v as unknown as { isKnown: Promise<boolean>; promise(): Promise<unknown> };
    return (await o.isKnown) ? knownLeaves(await o.promise()) : undefined;
  }
  if (Array.isArray(v)) return Promise.all(v.map(knownLeaves));
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await knownLeaves(x);
    return out;
  }
  return v;
}

/** `org/project/stack`, `project/stack` or `stack` to a stack of this project. */
function resolveStackName(ref: string, project: Project): string | undefined {
  const parts = ref.split("/");
  if (parts.length === 1) return parts[0];
  const [proj, stack] = parts.slice(-2);
  return proj === project.name ? stack : undefined;
}

/**
 * Plans every stack in the project. A stack that reads another through a StackReference is
 * planned after it, with the other's outputs. Stacks that read each other (after a failover the
 * promoted site reads the credentials site's passwords, which follows the promoted site) are
 * planned as Pulumi deploys them, where both exist: one first with the other's outputs unknown
 * (a preview), the other with those outputs, then again until every output settles.
 */
export async function planAll(
  opts: PlanOptions & { stacks?: readonly string[] } = {},
): Promise<StackPlan[]> {
  const project = readProject(path.resolve(opts.projectDir ?? "."));
  const synthetic = new Map<string, string>();
  let wanted = opts.stacks ?? listStacks(project);
  if (opts.networkFile && !opts.stacks) {
    // Another topology: plan one stack per site in it, with the stack file that selects the
    // site where one exists.
    const network = loadNetwork(path.resolve(opts.networkFile), opts.networkFile);
    const bySite = new Map<string, string>();
    for (const s of listStacks(project)) {
      const site = readStackConfig(project, s).config[`${project.name}:site`];
      if (site && !bySite.has(site)) bySite.set(site, s);
    }
    wanted = network.sites.map((site) => {
      const s = bySite.get(site.name);
      if (s) return s;
      synthetic.set(site.name, site.name);
      return site.name;
    });
  }
  if (wanted.length === 0)
    throw new ConfigError([
      {
        path: "",
        file: project.stackConfigDir,
        message: "no stacks found",
        fix: `add a Pulumi.<stack>.yaml to ${project.stackConfigDir}/`,
      },
    ]);
  const outputs = new Map<string, Record<string, unknown>>(opts.stackOutputs ?? []);
  const done = new Map<string, StackPlan>();
  const problems: ConfigError[] = [];
  const queue = [...wanted];
  let deferrals = 0;
  /** Stacks planned with unknown references, and the outputs that plan gave. */
  const provisional = new Map<string, string>();
  while (queue.length > 0) {
    const stack = queue.shift()!;
    try {
      const plan = await planStack(stack, {
        ...opts,
        stackOutputs: outputs,
        syntheticSite: synthetic.get(stack),
        // Provisionally planned stacks not planned for real yet.
        pendingStacks: new Set([...provisional.keys()].filter((s) => !done.has(s))),
      });
      done.set(stack, plan);
      outputs.set(stack, plan.outputs);
      deferrals = 0;
    } catch (e) {
      if (e instanceof MissingStackReference) {
        if (!listStacks(project).includes(e.stackName) && !synthetic.has(e.stackName)) {
          throw new ConfigError([
            {
              path: "",
              file: path.join(project.stackConfigDir, `Pulumi.${stack}.yaml`),
              message: `stack ${stack} reads stack ${e.stackName}, which does not exist`,
              fix: `create ${project.stackConfigDir}/Pulumi.${e.stackName}.yaml`,
            },
          ]);
        }
        if (!queue.includes(e.stackName) && !done.has(e.stackName)) queue.unshift(e.stackName);
        queue.push(stack);
        if (++deferrals > queue.length + 1 || deferrals > MAX_SAFE_STACKS) {
          // A cycle: plan each waiting stack with the outputs it lacks unknown (a preview), then
          // plan them again with those outputs; a plan that fails on provisional outputs waits.
          const fresh = queue.filter((q) => !provisional.has(q) && !done.has(q));
          if (fresh.length === 0)
            throw new EngineError(`stack references form a cycle among: ${queue.join(", ")}`);
          for (const q of fresh) {
            const preview = await planStack(q, {
              ...opts,
              stackOutputs: outputs,
              syntheticSite: synthetic.get(q),
              unknownReferences: true,
            });
            outputs.set(q, preview.outputs);
            provisional.set(q, JSON.stringify(preview.outputs));
          }
          deferrals = 0;
        }
        continue;
      }
      if (e instanceof ConfigError) {
        problems.push(e);
        continue;
      }
      throw e;
    }
  }
  if (problems.length === 0 && provisional.size > 0)
    await settle(done, outputs, provisional, opts, synthetic);
  if (problems.length > 0) {
    const seen = new Set<string>();
    const unique = problems
      .flatMap((p) => p.problems)
      .filter((p) => !seen.has(formatProblem(p)) && seen.add(formatProblem(p)) !== undefined);
    throw new ConfigError(unique, "some stacks are invalid");
  }
  return wanted.map((s) => done.get(s)!).filter(Boolean);
}

/**
 * After a cycle was broken with provisional outputs: plans again every stack that read outputs
 * which changed since, until none change (or gives up after a few rounds).
 */
async function settle(
  done: Map<string, StackPlan>,
  outputs: Map<string, Record<string, unknown>>,
  provisional: ReadonlyMap<string, string>,
  opts: PlanOptions,
  synthetic: ReadonlyMap<string, string>,
): Promise<void> {
  let changed = new Set(
    [...provisional].filter(([s, json]) => JSON.stringify(outputs.get(s)) !== json).map(([s]) => s),
  );
  for (let round = 0; changed.size > 0; round++) {
    if (round >= 5)
      throw new EngineError(
        `the outputs of stacks ${[...changed].join(", ")} do not settle: they read each other's outputs in a loop`,
      );
    const next = new Set<string>();
    for (const [stack, plan] of done) {
      if (!plan.stackReferences.some((r) => changed.has(r))) continue;
      const again = await planStack(stack, {
        ...opts,
        stackOutputs: outputs,
        syntheticSite: synthetic.get(stack),
      });
      if (JSON.stringify(again.outputs) !== JSON.stringify(plan.outputs)) next.add(stack);
      done.set(stack, again);
      outputs.set(stack, again.outputs);
    }
    changed = next;
  }
}
