/**
 * Checks a recorded Kubernetes object against the official OpenAPI schema of its kind, as kept
 * by `kubernetes-models` (built-in groups) and `@kubernetes-models/prometheus-operator` (the
 * monitoring.coreos.com CRDs): `(type token, inputs) => problems`, each naming a field path.
 *
 * Two checks, both driven by the same generated validator of the kind:
 *
 * - Types, enums, required fields and formats: the model's ajv validator (`Model.validate`).
 * - Unknown fields. The Kubernetes OpenAPI does not set `additionalProperties: false` (the API
 *   server refuses unknown fields itself with `fieldValidation=Strict`), and the packages ship
 *   their schemas only as compiled validate functions, with no property lists to read. So the
 *   validator is run over a proxy of the object that records which keys it reads: a compiled
 *   schema with `properties` reads every property it declares (`data.replicas`, present or not)
 *   and a map (`additionalProperties: {...}`, e.g. labels) enumerates its keys. A key of an
 *   object whose schema read its declared properties, but not that key, is not declared in the
 *   schema: an unknown field. Objects the validator never looks into (free-form fields such as
 *   `x-kubernetes-preserve-unknown-fields` without properties) are not checked further.
 *
 * A token that does not resolve to a model (a new group, a misspelt kind, a component type such
 * as `kubernetes:yaml/v2:ConfigGroup`) is a problem, so no kind slips through unchecked.
 */
import { createRequire } from "node:module";

const load = createRequire(__filename);

/** Model packages of CRD groups (the built-in groups are all in `kubernetes-models`). */
const CRD_PACKAGES: Readonly<Record<string, string>> = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

export interface GroupVersionKind {
  /** `core` for the legacy group (apiVersion `v1`). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly apiVersion: string;
}

/** `kubernetes:apps/v1:Deployment` to its group, version and kind; undefined for other tokens. */
export function parseToken(type: string): GroupVersionKind | undefined {
  const m = /^kubernetes:([a-z0-9.-]+)\/([a-z0-9]+):([A-Za-z0-9]+)$/.exec(type);
  if (!m) return undefined;
  const [, group, version, kind] = m;
  return { group, version, kind, apiVersion: group === "core" ? version : `${group}/${version}` };
}

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}

/** The model class of a group/version/kind, or why there is none. */
export function modelFor(gvk: GroupVersionKind): ModelClass | string {
  const pkg = CRD_PACKAGES[gvk.group] ?? "kubernetes-models";
  const specifier = gvk.group === "core" ? `${pkg}/${gvk.version}` : `${pkg}/${gvk.apiVersion}`;
  let mod: Record<string, unknown>;
  try {
    mod = load(specifier) as Record<string, unknown>;
  } catch {
    return `no schema module ${specifier} for apiVersion ${gvk.apiVersion}`;
  }
  const model = mod[gvk.kind];
  if (typeof model !== "function") return `no schema for kind ${gvk.kind} in ${specifier}`;
  const m = model as unknown as Partial<ModelClass>;
  if (
    m.apiVersion !== gvk.apiVersion ||
    m.kind !== gvk.kind ||
    typeof m.prototype?.validate !== "function"
  )
    return `no schema for kind ${gvk.kind} in ${specifier}`;
  return m as ModelClass;
}

type Segment = string | number;

/** `spec.template.spec.containers[0].image`; keys that are not identifiers are quoted. */
export function formatPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out || "(object)";
}

/** An ajv instance path (JSON pointer) as segments, indexing arrays where the data has them. */
function pointerSegments(pointer: string, data: unknown): Segment[] {
  const segments: Segment[] = [];
  let at: unknown = data;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const seg = Array.isArray(at) && /^\d+$/.test(key) ? Number(key) : key;
    segments.push(seg);
    at = at && typeof at === "object" ? (at as Record<Segment, unknown>)[seg] : undefined;
  }
  return segments;
}

interface Reads {
  /** The validator looked into this object (read a key or enumerated its keys). */
  inspected: boolean;
  /** It enumerated the keys: a map, whose keys are all allowed by the schema. */
  enumerated: boolean;
  readonly keys: Set<string>;
}

/** Wraps `root` so every read the validator makes of its objects is recorded. */
function recorder(root: object): { proxy: object; reads: Map<object, Reads> } {
  const reads = new Map<object, Reads>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown): unknown => {
    if (!value || typeof value !== "object") return value;
    const known = proxies.get(value);
    if (known) return known;
    const r: Reads = { inspected: false, enumerated: false, keys: new Set() };
    reads.set(value, r);
    const saw = (key: string | symbol) => {
      if (typeof key !== "string") return;
      r.inspected = true;
      r.keys.add(key);
    };
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        saw(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        saw(key);
        return Reflect.has(target, key);
      },
      getOwnPropertyDescriptor(target, key) {
        saw(key);
        return Reflect.getOwnPropertyDescriptor(target, key);
      },
      ownKeys(target) {
        r.inspected = true;
        r.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root) as object, reads };
}

interface Walk {
  readonly unknown: string[];
  /** Non-empty objects the validator never looked into (free-form in the schema). */
  readonly unchecked: string[];
}

/** Keys of objects the validator inspected by their declared properties but never read. */
function walk(value: unknown, reads: Map<object, Reads>, at: Segment[], out: Walk): void {
  if (!value || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((x, i) => walk(x, reads, [...at, i], out));
    return;
  }
  const r = reads.get(value);
  const entries = Object.entries(value).filter(([, x]) => x !== undefined);
  if (!r?.inspected) {
    if (entries.length) out.unchecked.push(formatPath(at));
    return;
  }
  for (const [key, x] of entries) {
    if (!r.enumerated && !r.keys.has(key))
      out.unknown.push(`${formatPath([...at, key])}: unknown field (not in the schema)`);
    else walk(x, reads, [...at, key], out);
  }
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describe(e: AjvError): string {
  const extra =
    e.keyword === "enum" && Array.isArray(e.params?.allowedValues)
      ? `: ${JSON.stringify(e.params.allowedValues)}`
      : "";
  return `${e.message ?? `fails ${e.keyword}`}${extra}`;
}

export interface SchemaCheck {
  /** Field paths and what is wrong there; empty when the object is valid. */
  readonly problems: string[];
  /** Paths of objects the schema leaves free-form, whose keys were not checked. */
  readonly unchecked: string[];
}

/**
 * Checks one recorded object (`type`: its Pulumi type token, `inputs`: its fields, secrets
 * unwrapped as the recording monitor stores them).
 */
export function checkKubeObject(type: string, inputs: Record<string, unknown>): SchemaCheck {
  const gvk = parseToken(type);
  if (!gvk)
    return {
      problems: [`${type}: not a Kubernetes object type (no group/version/kind)`],
      unchecked: [],
    };
  const model = modelFor(gvk);
  if (typeof model === "string") return { problems: [`${type}: ${model}`], unchecked: [] };
  // The provider fills apiVersion and kind from the token when the program leaves them out.
  // A copy, so no two places of the object share a value (reads are recorded per object).
  const object = structuredClone({ apiVersion: gvk.apiVersion, kind: gvk.kind, ...inputs });
  const { proxy, reads } = recorder(object);
  let errors: AjvError[] = [];
  try {
    model.prototype.validate.call(proxy);
  } catch (e) {
    const listed = (e as { errors?: unknown }).errors;
    if (!Array.isArray(listed)) throw e;
    errors = listed as AjvError[];
  }
  const out: Walk = { unknown: [], unchecked: [] };
  walk(object, reads, [], out);
  const problems = errors.map(
    (e) => `${formatPath(pointerSegments(e.instancePath, object))}: ${describe(e)}`,
  );
  return { problems: [...new Set([...problems, ...out.unknown])], unchecked: out.unchecked };
}

/** Problems of one recorded object; an empty list means valid. */
export function kubeSchemaProblems(type: string, inputs: Record<string, unknown>): string[] {
  return checkKubeObject(type, inputs).problems;
}
