/**
 * A recording resource monitor for Pulumi's mock runtime. It answers registrations the way
 * `pulumi.runtime.setMocks` does, but also records what the engine would see (parent, provider,
 * dependencies, options), forms URNs exactly as the engine does, and fails on a duplicate URN
 * as the engine would.
 */
import { MockMonitor, type Mocks } from "@pulumi/pulumi/runtime/mocks";
import {
  deserializeProperties,
  serializeProperties,
  specialSecretSig,
  specialSigKey,
} from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const resproto = require("@pulumi/pulumi/proto/resource_pb");

/* eslint-disable @typescript-eslint/no-explicit-any -- the monitor protocol's requests are untyped protobuf messages */

export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

export interface ResourceRecord {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Custom resources are managed by a provider; components are not. */
  readonly custom: boolean;
  readonly parent?: string;
  /** Provider reference `urn::id` for custom resources with an explicit or inherited provider. */
  readonly provider?: string;
  readonly id?: string;
  /** Inputs with secrets unwrapped (as a policy sees them); see `secretInputs`. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input names whose value is (or contains) a Pulumi secret. */
  readonly secretInputs: readonly string[];
  /** State the mock provider returned (component outputs registered later are merged in). */
  outputs: Record<string, unknown>;
  readonly dependencies: readonly string[];
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly ignoreChanges: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly aliases: readonly string[];
}

/** Thrown where the engine would refuse the program. */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineError";
  }
}

/** The engine's qualified type: the parent's type chain (root stack excluded) `$` the type. */
export function engineUrn(
  stack: string,
  project: string,
  parentUrn: string | undefined,
  type: string,
  name: string,
): string {
  let qualified = type;
  if (parentUrn) {
    const parentType = parentUrn.split("::")[2];
    if (parentType && parentType !== ROOT_STACK_TYPE) qualified = `${parentType}$${type}`;
  }
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** Unwraps Pulumi secret envelopes, returning the plain value and whether any secret was seen. */
export function unwrapSecrets(v: unknown): { value: unknown; secret: boolean } {
  if (Array.isArray(v)) {
    let secret = false;
    const value = v.map((x) => {
      const r = unwrapSecrets(x);
      secret ||= r.secret;
      return r.value;
    });
    return { value, secret };
  }
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[specialSigKey] === specialSecretSig)
      return { value: unwrapSecrets(o.value).value, secret: true };
    let secret = false;
    const value: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const r = unwrapSecrets(x);
      secret ||= r.secret;
      value[k] = r.value;
    }
    return { value, secret };
  }
  return { value: v, secret: false };
}

export class RecordingMonitor extends MockMonitor {
  readonly records: ResourceRecord[] = [];
  private readonly byUrn = new Map<string, ResourceRecord>();
  private readonly claimed = new Set<string>();
  /** First engine-level failure (the engine aborts the update on it). */
  failure?: Error;

  /**
   * `naming` gives the project and stack URNs are formed with when the monitor serves another
   * process (default: this process's runtime settings, as under `setMockOptions`).
   */
  constructor(
    mocks: Mocks,
    private readonly naming?: { readonly project: string; readonly stack: string },
  ) {
    super(mocks);
  }

  override async registerResource(
    req: any,
    callback: (err: any, resp?: any) => void,
  ): Promise<void> {
    try {
      const type: string = req.getType();
      const name: string = req.getName();
      const parent: string = req.getParent();
      const urn = engineUrn(
        this.naming?.stack ?? settings.getStack(),
        this.naming?.project ?? settings.getProject(),
        parent || undefined,
        type,
        name,
      );
      // Claimed before any await: registrations run concurrently.
      if (this.claimed.has(urn)) {
        throw new EngineError(`Duplicate resource URN '${urn}'; try giving it a unique name`);
      }
      this.claimed.add(urn);
      const rawInputs = deserializeProperties(req.getObject());
      const secretInputs = Object.keys(rawInputs).filter((k) => unwrapSecrets(rawInputs[k]).secret);
      const inputs = unwrapSecrets(rawInputs).value as Record<string, unknown>;
      const provider: string = req.getProvider();
      const result = await this.mocks.newResource({
        type,
        name,
        inputs,
        provider,
        custom: req.getCustom(),
        id: req.getImportid(),
      });
      const id = req.getCustom() ? result.id || `${name}-id` : undefined;
      const record: ResourceRecord = {
        urn,
        type,
        name,
        custom: req.getCustom(),
        ...(parent ? { parent } : {}),
        ...(provider ? { provider } : {}),
        ...(id ? { id } : {}),
        inputs,
        secretInputs,
        outputs: unwrapSecrets(result.state).value as Record<string, unknown>,
        dependencies: req.getDependenciesList(),
        protect: Boolean(req.getProtect()),
        deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
        ignoreChanges: req.getIgnorechangesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        aliases: (req.getAliasesList?.() ?? [])
          .map((a: any) => (typeof a?.getUrn === "function" ? a.getUrn() : String(a)))
          .filter((a: string) => a),
      };
      this.byUrn.set(urn, record);
      this.records.push(record);
      const state = result.state ?? {};
      const serialized = await serializeProperties("", state);
      (this as unknown as { resources: Map<string, unknown> }).resources.set(urn, {
        urn,
        id: id ?? null,
        state: serialized,
      });
      const response = new resproto.RegisterResourceResponse();
      response.setUrn(urn);
      response.setId(id ?? "");
      response.setObject(structproto.Struct.fromJavaScript(serialized));
      callback(null, response);
    } catch (err) {
      this.failure ??= err as Error;
      callback(err, undefined);
    }
  }

  /**
   * Reads (`pulumi.StackReference`, `.get()`) get URNs named like registrations: the base mock
   * names them from this process's runtime settings, which are another stack's when the monitor
   * serves a child process.
   */
  override async readResource(req: any, callback: (err: any, resp?: any) => void): Promise<void> {
    try {
      const type: string = req.getType();
      const name: string = req.getName();
      const parent: string = req.getParent();
      const result = await this.mocks.newResource({
        type,
        name,
        inputs: deserializeProperties(req.getProperties()),
        provider: req.getProvider(),
        custom: true,
        id: req.getId(),
      });
      const urn = engineUrn(
        this.naming?.stack ?? settings.getStack(),
        this.naming?.project ?? settings.getProject(),
        parent || undefined,
        type,
        name,
      );
      const serialized = await serializeProperties("", result.state ?? {});
      (this as unknown as { resources: Map<string, unknown> }).resources.set(urn, {
        urn,
        id: result.id ?? null,
        state: serialized,
      });
      const response = new resproto.ReadResourceResponse();
      response.setUrn(urn);
      response.setProperties(structproto.Struct.fromJavaScript(serialized));
      callback(null, response);
    } catch (err) {
      this.failure ??= err as Error;
      callback(err, undefined);
    }
  }

  override registerResourceOutputs(req: any, callback: (err: any, resp?: any) => void): void {
    const record = this.byUrn.get(req.getUrn());
    if (record) {
      const outs = req.getOutputs()?.toJavaScript?.() ?? {};
      record.outputs = unwrapSecrets(outs).value as Record<string, unknown>;
    }
    super.registerResourceOutputs(req, callback);
  }
}
