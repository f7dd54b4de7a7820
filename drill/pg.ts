/**
 * PostgreSQL client side of the drill, through `psql` (there is no pg package): one-shot queries,
 * and a writer that keeps one psql session open (fed over stdin) and records every write the
 * server acknowledged, with the time the acknowledgement arrived.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { killGroup, run } from "./procs";
import { HOST } from "./layout";
import { pgBinDir } from "./runtime";
import { nowMs, sleep } from "./system";

/** psql of the runtime in use. */
export const psqlPath = () => path.join(pgBinDir(), "psql");

export interface PgTarget {
  /** One or more ports on 127.0.0.1 (several: libpq tries each, for the read-write one). */
  readonly ports: readonly number[];
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Only a read-write server (the leader). Default false. */
  readonly readWrite?: boolean;
}

/** libpq connection string for `t`. Pure. */
export function conninfo(t: PgTarget): string {
  return [
    `host=${t.ports.map(() => HOST).join(",")}`,
    `port=${t.ports.join(",")}`,
    `user=${t.user}`,
    `dbname=${t.database}`,
    "connect_timeout=2",
    "application_name=drstack-drill",
    ...(t.readWrite ? ["target_session_attrs=read-write"] : []),
  ].join(" ");
}

function psqlEnv(t: PgTarget): Record<string, string> {
  return {
    PATH: `${pgBinDir()}:/usr/bin:/bin`,
    LANG: "C.UTF-8",
    PGPASSWORD: t.password,
    PGCONNECT_TIMEOUT: "2",
  };
}

/** Runs SQL through psql (unaligned, tuples only); resolves its output, trimmed. */
export async function sql(t: PgTarget, query: string, timeoutMs = 15_000): Promise<string> {
  const out = await run(
    psqlPath(),
    ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo(t)],
    {
      env: psqlEnv(t),
      timeoutMs,
      input: query,
    },
  );
  return out.trim();
}

/** One acknowledged write. Times are {@link nowMs} milliseconds. */
export interface Ack {
  readonly seq: number;
  readonly sentAt: number;
  readonly ackedAt: number;
  /** Port of the server that acknowledged it. */
  readonly port: number;
}

export const WRITES_TABLE = "drill_writes";

export const CREATE_WRITES_TABLE = `CREATE TABLE IF NOT EXISTS ${WRITES_TABLE} (
  run text NOT NULL, seq bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (run, seq));`;

/**
 * Writes one row every `intervalMs` through a persistent psql session to the read-write server
 * of `target`, reconnecting (libpq tries every host for the read-write one) whenever the
 * session breaks. A write counts as acknowledged when psql prints the row `RETURNING` gave back,
 * i.e. after COMMIT returned (in synchronous mode: after a synchronous standby flushed it).
 */
export class PgWriter {
  readonly acks: Ack[] = [];
  /** Writes sent whose session broke before an answer: not acknowledged, may or may not exist. */
  readonly unanswered: number[] = [];
  /** Sessions opened (the first plus every reconnect). */
  sessions = 0;
  private seq = 0;
  private stopping = false;
  private child: ChildProcess | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly target: PgTarget,
    readonly run: string,
    private readonly intervalMs = 10,
    /** A write unanswered this long breaks the session (then it reconnects). */
    private readonly stallMs = 20_000,
  ) {}

  start(): void {
    this.loop = this.main();
  }

  /** Stops writing; resolves once the session is closed. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child?.pid) killGroup(this.child.pid, "SIGKILL");
    await this.loop;
  }

  /** The first acknowledgement at or after `t` (ms), optionally from a server other than `notPort`. */
  firstAckAfter(t: number, notPort?: number): Ack | undefined {
    return this.acks.find((a) => a.sentAt >= t && a.port !== notPort);
  }

  lastAckBefore(t: number): Ack | undefined {
    for (let i = this.acks.length - 1; i >= 0; i--)
      if (this.acks[i].ackedAt <= t) return this.acks[i];
    return undefined;
  }

  private async main(): Promise<void> {
    while (!this.stopping) {
      await this.session();
      if (!this.stopping) await sleep(20);
    }
  }

  /** One psql session: learn the server port, then write until the session breaks. */
  private session(): Promise<void> {
    return new Promise((resolve) => {
      this.sessions++;
      const child = spawn(
        psqlPath(),
        [
          "-X",
          "-A",
          "-t",
          "-q",
          "-v",
          "ON_ERROR_STOP=1",
          "-d",
          conninfo({ ...this.target, readWrite: true }),
        ],
        { detached: true, env: psqlEnv(this.target), stdio: ["pipe", "pipe", "ignore"] },
      );
      this.child = child;
      let port = 0;
      let pending: { seq: number; sentAt: number } | undefined;
      let buf = "";
      let timer: NodeJS.Timeout | undefined;
      let stall: NodeJS.Timeout | undefined;
      const send = () => {
        if (this.stopping || child.exitCode !== null) return;
        pending = { seq: ++this.seq, sentAt: nowMs() };
        child.stdin?.write(
          `INSERT INTO ${WRITES_TABLE} (run, seq) VALUES ('${this.run}', ${pending.seq}) RETURNING 'ack:' || seq;\n`,
        );
        stall = setTimeout(() => child.pid && killGroup(child.pid, "SIGKILL"), this.stallMs);
      };
      child.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line.startsWith("port:")) {
            port = Number(line.slice(5));
            send();
          } else if (line.startsWith("ack:") && pending && Number(line.slice(4)) === pending.seq) {
            const ackedAt = nowMs();
            clearTimeout(stall);
            this.acks.push({ seq: pending.seq, sentAt: pending.sentAt, ackedAt, port });
            pending = undefined;
            const wait = Math.max(
              0,
              this.intervalMs - (ackedAt - this.acks[this.acks.length - 1].sentAt),
            );
            timer = setTimeout(send, wait);
          }
        }
      });
      child.stdin?.on("error", () => undefined);
      child.once("close", () => {
        clearTimeout(timer);
        clearTimeout(stall);
        if (pending) this.unanswered.push(pending.seq);
        this.child = undefined;
        resolve();
      });
      child.once("error", () => resolve());
      child.stdin?.write("SELECT 'port:' || inet_server_port();\n");
    });
  }
}
