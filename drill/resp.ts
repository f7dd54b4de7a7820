/**
 * A minimal RESP2 client over node:net (one command at a time, with a deadline), and a Redis
 * writer that finds the master through Sentinel, as clients do, and records every acknowledged
 * write with its time.
 */
import * as net from "node:net";
import { HOST } from "./layout";
import { nowMs, sleep } from "./system";

export type RespValue = string | number | null | RespValue[] | Error;

/** Encodes a command as a RESP array of bulk strings. Pure. */
export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    const s = String(a);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return Buffer.from(parts.join(""));
}

/** Parses one RESP value from `buf` at `pos`; undefined when incomplete. Pure. */
export function parseReply(buf: Buffer, pos = 0): { value: RespValue; end: number } | undefined {
  const nl = buf.indexOf("\r\n", pos);
  if (nl < 0) return undefined;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString("utf8", pos + 1, nl);
  switch (type) {
    case "+":
      return { value: line, end: nl + 2 };
    case "-":
      return { value: new Error(line), end: nl + 2 };
    case ":":
      return { value: Number(line), end: nl + 2 };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 2 };
      if (buf.length < nl + 2 + n + 2) return undefined;
      return { value: buf.toString("utf8", nl + 2, nl + 2 + n), end: nl + 2 + n + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 2 };
      const items: RespValue[] = [];
      let at = nl + 2;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, at);
        if (!r) return undefined;
        items.push(r.value);
        at = r.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`bad RESP reply type ${JSON.stringify(type)}`);
  }
}

/** One connection; commands are sent one at a time. */
export class RespConnection {
  private buf = Buffer.alloc(0);
  private waiter: ((v: RespValue | Error) => void) | undefined;
  private closed: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      const r = parseReply(this.buf);
      if (r && this.waiter) {
        this.buf = this.buf.subarray(r.end);
        const w = this.waiter;
        this.waiter = undefined;
        w(r.value);
      }
    });
    const fail = (e: Error) => {
      this.closed ??= e;
      const w = this.waiter;
      this.waiter = undefined;
      w?.(this.closed);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed")));
  }

  static connect(port: number, timeoutMs = 1000): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ host: HOST, port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to :${port} timed out`));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(t);
        s.setNoDelay(true);
        resolve(new RespConnection(s));
      });
      s.once("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /** Sends a command; resolves its reply (a Redis error reply resolves as an Error value). */
  command(args: readonly (string | number)[], timeoutMs = 2000): Promise<RespValue> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        this.socket.destroy();
        reject(new Error(`${args[0]} timed out after ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiter = (v) => {
        clearTimeout(t);
        if (v instanceof Error && v.message === this.closed?.message) reject(v);
        else resolve(v);
      };
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Runs one command on a fresh connection (AUTH first when `password` is given). */
export async function redisCommand(
  port: number,
  password: string | undefined,
  args: readonly (string | number)[],
  timeoutMs = 2000,
): Promise<RespValue> {
  const c = await RespConnection.connect(port, timeoutMs);
  try {
    if (password !== undefined) {
      const a = await c.command(["AUTH", password], timeoutMs);
      if (a instanceof Error) throw a;
    }
    return await c.command(args, timeoutMs);
  } finally {
    c.close();
  }
}

/** The master's port as a sentinel reports it, or undefined. */
export async function sentinelMaster(
  sentinelPort: number,
  password: string | undefined,
  masterName: string,
): Promise<number | undefined> {
  const r = await redisCommand(
    sentinelPort,
    password,
    ["SENTINEL", "get-master-addr-by-name", masterName],
    1000,
  );
  return Array.isArray(r) && r.length === 2 ? Number(r[1]) : undefined;
}

export interface RedisAck {
  readonly seq: number;
  readonly sentAt: number;
  readonly ackedAt: number;
  readonly port: number;
}

export const REDIS_LIST = "drill:writes";

/**
 * Appends `run:seq` to a list every `intervalMs` on the master the sentinels report. A write
 * counts as acknowledged when RPUSH succeeded and `WAIT 1` confirmed a replica has it (the way a
 * client asks Redis for a replicated write). Any error or broken connection makes it ask the
 * sentinels again.
 */
export class RedisWriter {
  readonly acks: RedisAck[] = [];
  /** Writes the master accepted but no replica confirmed in time (not counted as acknowledged). */
  readonly unconfirmed: number[] = [];
  private seq = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly sentinelPorts: readonly number[],
    private readonly password: string,
    private readonly masterName: string,
    readonly run: string,
    private readonly intervalMs = 10,
  ) {}

  start(): void {
    this.loop = this.main();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  firstAckAfter(t: number, notPort?: number): RedisAck | undefined {
    return this.acks.find((a) => a.sentAt >= t && a.port !== notPort);
  }

  private async master(): Promise<number | undefined> {
    for (const s of this.sentinelPorts) {
      try {
        const p = await sentinelMaster(s, this.password, this.masterName);
        if (p) return p;
      } catch {
        /* next sentinel */
      }
    }
    return undefined;
  }

  private async main(): Promise<void> {
    while (!this.stopping) {
      const port = await this.master();
      if (port === undefined) {
        await sleep(20);
        continue;
      }
      let c: RespConnection | undefined;
      try {
        c = await RespConnection.connect(port, 500);
        const a = await c.command(["AUTH", this.password], 1000);
        if (a instanceof Error) throw a;
        while (!this.stopping) {
          const seq = ++this.seq;
          const sentAt = nowMs();
          const r = await c.command(["RPUSH", REDIS_LIST, `${this.run}:${seq}`], 1000);
          if (r instanceof Error) throw r;
          const w = await c.command(["WAIT", 1, 1000], 1500);
          if (typeof w === "number" && w >= 1)
            this.acks.push({ seq, sentAt, ackedAt: nowMs(), port });
          else this.unconfirmed.push(seq);
          const wait = this.intervalMs - (nowMs() - sentAt);
          if (wait > 0) await sleep(wait);
        }
      } catch {
        await sleep(20);
      } finally {
        c?.close();
      }
    }
  }
}
