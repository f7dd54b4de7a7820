/**
 * Patroni's REST API as the stack swap uses it, over plain HTTP (node's fetch): cluster state,
 * the leader's WAL position, and the dynamic-configuration changes that fence, promote and
 * re-point a cluster. The interpretation of answers (`clusterView`, `backupAgeSeconds`) is pure.
 *
 * - promote a standby cluster: `PATCH /config {"standby_cluster": null}`
 * - fence (demote) a primary cluster / rejoin as a standby: `PATCH /config {"standby_cluster":
 *   {"host": H, "port": P, "create_replica_methods": [...]}}` where H:P is the new primary's
 *   replication endpoint: Patroni restarts its leader as a `standby_leader` (read-only,
 *   replicating from H:P) and the replicas follow it.
 */
import { lsnToBytes } from "./driver";

export interface PatroniMemberView {
  readonly name: string;
  /** `leader`, `standby_leader`, `replica`, `sync_standby`. */
  readonly role: string;
  /** `running`, `streaming`, `starting`, `stopped`, ... */
  readonly state: string;
  readonly apiUrl?: string;
  readonly host?: string;
  readonly port?: number;
  readonly timeline?: number;
  readonly lagBytes?: number;
}

export interface ClusterView {
  readonly members: readonly PatroniMemberView[];
  readonly leader?: PatroniMemberView;
  /** `primary` (leader), `standby` (standby_leader), `none`. */
  readonly role: "primary" | "standby" | "none";
  readonly healthy: boolean;
}

const RUNNING = new Set(["running", "streaming"]);

/** Interprets `GET /cluster`. Pure. */
export function clusterView(json: unknown): ClusterView {
  const raw = (json as { members?: unknown[] } | null)?.members;
  const members: PatroniMemberView[] = (Array.isArray(raw) ? raw : []).map((m) => {
    const x = m as Record<string, unknown>;
    return {
      name: String(x.name),
      role: String(x.role),
      state: String(x.state),
      ...(typeof x.api_url === "string" ? { apiUrl: x.api_url } : {}),
      ...(typeof x.host === "string" ? { host: x.host } : {}),
      ...(typeof x.port === "number" ? { port: x.port } : {}),
      ...(typeof x.timeline === "number" ? { timeline: x.timeline } : {}),
      ...(typeof x.lag === "number" ? { lagBytes: x.lag } : {}),
    };
  });
  const leader = members.find(
    (m) => (m.role === "leader" || m.role === "standby_leader") && RUNNING.has(m.state),
  );
  return {
    members,
    ...(leader ? { leader } : {}),
    role: !leader ? "none" : leader.role === "leader" ? "primary" : "standby",
    healthy: leader !== undefined && members.every((m) => RUNNING.has(m.state)),
  };
}

export interface LeaderStatus {
  /** Patroni's role of the node: `primary`/`master` (writable), `standby_leader`, `replica`. */
  readonly role: string;
  readonly writable: boolean;
  /** Written (primary) or held (standby: the further of received and replayed) WAL position, in bytes. */
  readonly walBytes?: number;
  readonly replayedBytes?: number;
  /** Time of the last replayed transaction (standby), ms since epoch. */
  readonly replayedAt?: number;
  readonly timeline?: number;
}

/** Interprets `GET /patroni` of one node. Pure. */
export function leaderStatus(json: unknown): LeaderStatus {
  const x = (json ?? {}) as Record<string, unknown>;
  const xlog = (x.xlog ?? {}) as Record<string, unknown>;
  const role = String(x.role ?? "unknown");
  const writable = role === "master" || role === "primary";
  const lsn = (v: unknown) => (typeof v === "number" ? v : undefined);
  // A standby holds what it received or replayed, whichever is further: WAL that came from the
  // archive or from pg_rewind's copy is replayed without the WAL receiver ever seeing it (its
  // position then stays at the segment where streaming started).
  const [rcv, rep] = [lsn(xlog.received_location), lsn(xlog.replayed_location)];
  const received = rcv === undefined ? rep : rep === undefined ? rcv : Math.max(rcv, rep);
  const replayedAt =
    typeof xlog.replayed_timestamp === "string" ? Date.parse(xlog.replayed_timestamp) : undefined;
  return {
    role,
    writable,
    ...(writable
      ? lsn(xlog.location) !== undefined
        ? { walBytes: lsn(xlog.location) }
        : {}
      : received !== undefined
        ? { walBytes: received }
        : {}),
    ...(lsn(xlog.replayed_location) !== undefined
      ? { replayedBytes: lsn(xlog.replayed_location) }
      : {}),
    ...(replayedAt !== undefined && !Number.isNaN(replayedAt) ? { replayedAt } : {}),
    ...(typeof x.timeline === "number" ? { timeline: x.timeline } : {}),
  };
}

/**
 * Age in seconds of the newest recoverable point of a pgBackRest repository, from `pgbackrest
 * info --output=json`: the end of the newest backup, or the time of the newest archived WAL
 * when given (from `pg_stat_archiver.last_archived_time`). Undefined when there is neither.
 * Pure.
 */
export function backupAgeSeconds(
  info: unknown,
  nowMs: number,
  lastArchivedAtMs?: number,
): number | undefined {
  const stanzas = Array.isArray(info) ? info : [];
  let newest: number | undefined;
  for (const s of stanzas) {
    const backups = (s as { backup?: unknown[] }).backup;
    for (const b of Array.isArray(backups) ? backups : []) {
      const stop = (b as { timestamp?: { stop?: unknown }; error?: unknown }).timestamp?.stop;
      if ((b as { error?: unknown }).error === true) continue;
      if (typeof stop === "number") newest = Math.max(newest ?? 0, stop * 1000);
    }
  }
  if (lastArchivedAtMs !== undefined) newest = Math.max(newest ?? 0, lastArchivedAtMs);
  return newest === undefined ? undefined : Math.max(0, (nowMs - newest) / 1000);
}

/** Lag of a standby behind its primary, in bytes and seconds. Pure. */
export function standbyLag(
  standby: LeaderStatus,
  primary: LeaderStatus | undefined,
  nowMs: number,
): { lagBytes?: number; lagSeconds?: number } {
  if (!primary || primary.walBytes === undefined || standby.walBytes === undefined) return {};
  const lagBytes = Math.max(0, primary.walBytes - standby.walBytes);
  if (lagBytes === 0) return { lagBytes, lagSeconds: 0 };
  // Commits the standby lacks are all later than its last replayed one: an upper bound.
  return {
    lagBytes,
    ...(standby.replayedAt !== undefined
      ? { lagSeconds: Math.max(0, (nowMs - standby.replayedAt) / 1000) }
      : {}),
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly json: unknown;
  readonly text: string;
}

/** Sends one unsafe (authenticated) REST call some other way than `fetch` (e.g. from inside the pod). */
export type UnsafeSender = (
  method: string,
  pathName: string,
  body: unknown,
  base: string | undefined,
) => Promise<HttpAnswer>;

/** A Patroni cluster's REST API through one or more member base URLs (first that answers). */
export class PatroniApi {
  constructor(
    readonly baseUrls: readonly string[],
    private readonly timeoutMs = 3000,
    private readonly headers: Record<string, string> = {},
    /** Carries POST/PUT/PATCH/DELETE when the path to the members cannot (default: `fetch`). */
    private readonly unsafe?: UnsafeSender,
  ) {}

  async request(
    method: string,
    pathName: string,
    body?: unknown,
    base?: string,
  ): Promise<HttpAnswer> {
    if (this.unsafe && method.toUpperCase() !== "GET")
      return this.unsafe(method.toUpperCase(), pathName, body, base);
    let last: unknown;
    for (const url of base ? [base] : this.baseUrls) {
      try {
        const res = await fetch(`${url.replace(/\/$/, "")}${pathName}`, {
          method,
          signal: AbortSignal.timeout(this.timeoutMs),
          headers: {
            ...this.headers,
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          /* plain text answer */
        }
        return { status: res.status, json, text };
      } catch (e) {
        last = e;
      }
    }
    throw new Error(
      `no Patroni member answered ${method} ${pathName} at ${(base ? [base] : this.baseUrls).join(", ")}: ${describeFetchError(last)}`,
    );
  }

  async cluster(): Promise<ClusterView> {
    const r = await this.request("GET", "/cluster");
    if (r.status !== 200) throw new Error(`GET /cluster: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    return clusterView(r.json);
  }

  /** `GET /patroni` of the member at `base` (default: the first that answers). */
  async status(base?: string): Promise<LeaderStatus> {
    const r = await this.request("GET", "/patroni", undefined, base);
    if (r.status !== 200 && r.status !== 503)
      throw new Error(`GET /patroni: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    return leaderStatus(r.json);
  }

  async patchConfig(patch: Record<string, unknown>): Promise<HttpAnswer> {
    const r = await this.request("PATCH", "/config", patch);
    if (r.status !== 200)
      throw new Error(
        `PATCH /config ${JSON.stringify(patch)}: HTTP ${r.status} ${r.text.slice(0, 200)}`,
      );
    return r;
  }

  async reinitialize(base: string): Promise<HttpAnswer> {
    return this.request("POST", "/reinitialize", { force: true }, base);
  }
}

/** The leader's REST base URL from `GET /cluster` (`api_url` minus `/patroni`). */
export function memberBase(m: PatroniMemberView | undefined): string | undefined {
  return m?.apiUrl?.replace(/\/patroni\/?$/, "");
}

export function describeFetchError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? e.message;
}

/** `pg_lsn` text to bytes, undefined when not an LSN. */
export function lsnOrUndefined(text: string | undefined): number | undefined {
  try {
    return text ? lsnToBytes(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Merges a dynamic-configuration patch as Patroni's `PATCH /config` does (null removes a key;
 * objects merge recursively). Pure. */
export function mergeConfig(
  base: Readonly<Record<string, unknown>>,
  patch: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (
      v &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      out[k] &&
      typeof out[k] === "object" &&
      !Array.isArray(out[k])
    )
      out[k] = mergeConfig(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/**
 * Read-modify-write of Patroni's `config` key in etcd v3 through its JSON gateway
 * (`/v3/kv/range`, `/v3/kv/put`; keys and values base64). Resolves what was written where.
 */
export async function writeEtcdConfig(
  etcdUrl: string,
  key: string,
  patch: Readonly<Record<string, unknown>>,
): Promise<string> {
  const b64 = (t: string) => Buffer.from(t).toString("base64");
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${etcdUrl.replace(/\/$/, "")}${p}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok)
      throw new Error(`etcd ${p}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as { kvs?: { value?: string }[] };
  };
  const got = await post("/v3/kv/range", { key: b64(key) });
  const current = got.kvs?.[0]?.value;
  const base = current
    ? (JSON.parse(Buffer.from(current, "base64").toString()) as Record<string, unknown>)
    : {};
  await post("/v3/kv/put", { key: b64(key), value: b64(JSON.stringify(mergeConfig(base, patch))) });
  return `etcd ${etcdUrl} key ${key}`;
}
