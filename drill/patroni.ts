/**
 * Patroni's REST API as the drill (and the stack swap's local site driver) uses it: cluster
 * state, dynamic configuration, switchover, and the standby-cluster promotion that the stack
 * swap performs (remove `standby_cluster` from the dynamic configuration).
 */
import { HOST } from "./layout";
import { waitFor } from "./system";

export interface PatroniMember {
  readonly name: string;
  /** `leader`, `replica`, `sync_standby` or `standby_leader`. */
  readonly role: string;
  /** `running`, `starting`, `stopped`, ... */
  readonly state: string;
  readonly port: number;
  readonly api_url?: string;
  readonly timeline?: number;
  /** Bytes behind the leader (Patroni's estimate), or `unknown`. */
  readonly lag?: number | string;
}

export interface PatroniClusterState {
  readonly members: readonly PatroniMember[];
}

async function request(
  restPort: number,
  method: string,
  pathName: string,
  body?: unknown,
  timeoutMs = 3000,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://${HOST}:${restPort}${pathName}`, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* plain text answer */
  }
  return { status: res.status, json };
}

/**
 * Whether a member runs PostgreSQL: `running`, or `streaming` (Patroni >= 3.0.3 reports replicas
 * and a standby leader that replicate that way).
 */
export function isUp(m: { state: string }): boolean {
  return m.state === "running" || m.state === "streaming";
}

/** `GET /cluster` from the first member that answers. */
export async function clusterState(restPorts: readonly number[]): Promise<PatroniClusterState> {
  let last: unknown;
  for (const p of restPorts) {
    try {
      const r = await request(p, "GET", "/cluster", undefined, 1500);
      if (r.status === 200) return r.json as PatroniClusterState;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`no Patroni member answered /cluster (${(last as Error)?.message ?? "none"})`);
}

/** The member holding the leader lock (`leader` or `standby_leader`) and running, if any. */
export function leaderOf(state: PatroniClusterState): PatroniMember | undefined {
  return state.members.find((m) => (m.role === "leader" || m.role === "standby_leader") && isUp(m));
}

/** Waits until the cluster has a running leader and `replicas` running non-leaders. */
export function waitForCluster(
  restPorts: readonly number[],
  replicas: number,
  timeoutMs: number,
  leaderRole: "leader" | "standby_leader" = "leader",
): Promise<PatroniClusterState> {
  return waitFor(
    `a ${leaderRole} and ${replicas} running replicas`,
    async () => {
      const s = await clusterState(restPorts);
      const leader = s.members.find((m) => m.role === leaderRole && isUp(m));
      const running = s.members.filter(
        (m) => m !== leader && isUp(m) && (m.role === "replica" || m.role === "sync_standby"),
      );
      return leader && running.length >= replicas ? s : undefined;
    },
    timeoutMs,
    200,
  );
}

/** `PATCH /config`: merges `patch` into the cluster's dynamic configuration (null removes a key). */
export async function patchConfig(
  restPort: number,
  patch: Record<string, unknown>,
): Promise<unknown> {
  const r = await request(restPort, "PATCH", "/config", patch, 5000);
  if (r.status !== 200)
    throw new Error(
      `PATCH /config on :${restPort} answered ${r.status}: ${JSON.stringify(r.json)}`,
    );
  return r.json;
}

export async function getConfig(restPort: number): Promise<Record<string, unknown>> {
  const r = await request(restPort, "GET", "/config");
  if (r.status !== 200) throw new Error(`GET /config on :${restPort} answered ${r.status}`);
  return r.json as Record<string, unknown>;
}

/** `POST /switchover` from `leader` (to `candidate`, or Patroni's choice). */
export async function switchover(
  restPort: number,
  leader: string,
  candidate?: string,
): Promise<void> {
  const r = await request(
    restPort,
    "POST",
    "/switchover",
    { leader, ...(candidate ? { candidate } : {}) },
    30_000,
  );
  if (r.status !== 200)
    throw new Error(
      `switchover answered ${r.status}: ${typeof r.json === "string" ? r.json : JSON.stringify(r.json)}`,
    );
}

/**
 * Promotes a standby cluster to a primary cluster: removes `standby_cluster` from its dynamic
 * configuration through any member's REST API (Patroni wakes its HA loop and the standby leader
 * promotes). The same operation the stack swap performs on a Kubernetes site.
 */
export async function promoteStandbyCluster(restPorts: readonly number[]): Promise<number> {
  let last: unknown;
  for (const p of restPorts) {
    try {
      await patchConfig(p, { standby_cluster: null });
      return p;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`no member accepted the promotion: ${(last as Error)?.message}`);
}

/** The REST port of a member from its `api_url` (e.g. `http://127.0.0.1:15620/patroni`). */
export function restPortOf(m: PatroniMember): number | undefined {
  const x = /:(\d+)\//.exec(m.api_url ?? "");
  return x ? Number(x[1]) : undefined;
}
