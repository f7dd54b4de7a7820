/**
 * Preconditions of the drill (binaries, free ports, the postgres user) and small bounded-wait
 * helpers. Every wait has a deadline: nothing here can hang.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export const INSTALL_COMMAND = "sudo bash scripts/install-debian-deps.sh";
/**
 * Binaries the drill runs from Debian 12, with the package that ships each. Patroni and
 * PostgreSQL come from the selected runtime (drill/runtime.ts, `missingRuntime`).
 */
export const REQUIRED_BINARIES: readonly { name: string; pkg: string; dir?: string }[] = [
  { name: "etcd", pkg: "etcd-server" },
  { name: "redis-server", pkg: "redis-server" },
  { name: "redis-sentinel", pkg: "redis-sentinel" },
  { name: "pgbackrest", pkg: "pgbackrest" },
];

/** The first executable `name` in `dirs`, or undefined. */
export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Binaries missing on this machine (empty when all are present). */
export function missingBinaries(
  pathDirs: readonly string[] = (process.env.PATH ?? "").split(":").filter(Boolean),
): { name: string; pkg: string }[] {
  return REQUIRED_BINARIES.filter(
    (b) => !findExecutable(b.name, b.dir ? [b.dir, ...pathDirs] : pathDirs),
  ).map(({ name, pkg }) => ({ name, pkg }));
}

/** Whether a TCP port on `host` can be bound right now. */
export function portFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The ports of `ports` that are taken, with their use. */
export async function takenPorts<T extends { port: number }>(ports: readonly T[]): Promise<T[]> {
  const out: T[] = [];
  for (const p of ports) if (!(await portFree(p.port))) out.push(p);
  return out;
}

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** The OS account PostgreSQL runs as: `postgres` when we are root, else ourselves. */
export function postgresUser(): OsUser {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    return {
      name: process.env.USER ?? String(uid),
      uid,
      gid: process.getgid?.() ?? uid,
      home: process.env.HOME ?? "/tmp",
    };
  }
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line)
    throw new Error(
      `running as root but there is no postgres user (Patroni refuses root); install: ${INSTALL_COMMAND}`,
    );
  const f = line.split(":");
  return { name: "postgres", uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/tmp" };
}

/** Gives `user` a path (recursively), when we are root. */
export function chownTree(p: string, user: OsUser): void {
  if ((process.getuid?.() ?? 0) !== 0) return;
  execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, p]);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${(timeoutMs / 1000).toFixed(1)}s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`,
      );
    await sleep(everyMs);
  }
}

/** Milliseconds since an arbitrary origin, monotonic, sub-millisecond. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
