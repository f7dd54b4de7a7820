/**
 * Builds the argument bags `@pulumi/policy` hands to rules (`ResourceValidationArgs`,
 * `StackValidationArgs`, `PolicyResource`), the way its analyzer server does, from plain data:
 * the offline runner feeds it the planner's records, the test harness feeds it factories.
 */
import type {
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  StackValidationArgs,
} from "@pulumi/policy";
import { markSecretInputs } from "./secrets";

// Not in the public typings; the analyzer server uses it for isType/asType.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getPulumiType } = require("@pulumi/policy/policy") as {
  getPulumiType(cls: unknown): string | undefined;
};

const NO_TAGS: ReadonlyMap<string, string> = new Map();

/** Raised by `notApplicable()`; the runner records the rule as not applicable. */
export class NotApplicable extends Error {
  constructor(readonly reason?: string) {
    // Thrown for most resource/rule pairs: a stack trace would cost more than the rule itself.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(reason ?? "not applicable");
    Error.stackTraceLimit = limit;
    this.name = "NotApplicable";
  }
}

function throwNotApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}

/** `isType` as the analyzer decides it: the class's `__pulumiType`, else its `isInstance`. */
export function isTypeOf(type: string, resourceClass: unknown): boolean {
  const t = getPulumiType(resourceClass);
  if (t) return type === t;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

/** One resource as plain data (what the planner records, or what a test writes). */
export interface ResourceSpec {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Inputs (resource rules) or outputs (stack rules). */
  readonly props: Record<string, unknown>;
  readonly parent?: string;
  readonly provider?: PolicyProviderResource;
  readonly dependencies?: readonly string[];
  readonly opts?: Partial<PolicyResourceOptions>;
  /** Top-level props whose value is a Pulumi secret; undefined when unknown (the real engine). */
  readonly secretInputs?: readonly string[];
}

export function policyOptions(spec: ResourceSpec): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(spec.parent ? { parent: spec.parent } : {}),
    ...spec.opts,
  };
}

export function resourceArgs(spec: ResourceSpec, config: object = {}): ResourceValidationArgs {
  const props = spec.props;
  if (spec.secretInputs) markSecretInputs(props, spec.secretInputs);
  const type = spec.type;
  return {
    type,
    props,
    urn: spec.urn,
    name: spec.name,
    opts: policyOptions(spec),
    ...(spec.provider ? { provider: spec.provider } : {}),
    stackTags: NO_TAGS,
    isType: (cls) => isTypeOf(type, cls),
    asType: ((cls: unknown) =>
      isTypeOf(type, cls) ? props : undefined) as ResourceValidationArgs["asType"],
    getConfig: <T extends object>() => ({ ...config }) as T,
    notApplicable: throwNotApplicable,
  };
}

/** Stack resources linked to each other (parent, dependencies) as the analyzer links them. */
export function policyResources(specs: readonly ResourceSpec[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const out = specs.map((spec) => {
    const props = spec.props;
    if (spec.secretInputs) markSecretInputs(props, spec.secretInputs);
    const type = spec.type;
    const r: PolicyResource = {
      type,
      props,
      urn: spec.urn,
      name: spec.name,
      opts: policyOptions(spec),
      ...(spec.provider ? { provider: spec.provider } : {}),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => isTypeOf(type, cls),
      asType: ((cls: unknown) =>
        isTypeOf(type, cls) ? props : undefined) as PolicyResource["asType"],
    };
    byUrn.set(spec.urn, r);
    return r;
  });
  specs.forEach((spec, i) => {
    if (spec.parent && byUrn.has(spec.parent)) out[i].parent = byUrn.get(spec.parent);
    out[i].dependencies = (spec.dependencies ?? [])
      .map((d) => byUrn.get(d))
      .filter((d): d is PolicyResource => d !== undefined);
  });
  return out;
}

export function stackArgs(resources: PolicyResource[], config: object = {}): StackValidationArgs {
  return {
    resources,
    stackTags: NO_TAGS,
    getConfig: <T extends object>() => ({ ...config }) as T,
    notApplicable: throwNotApplicable,
  };
}
