/**
 * Every process the drill starts, by PID: each is spawned in its own process group and recorded,
 * so it can be killed (the group: the process and its children) on success, failure and Ctrl-C.
 * PostgreSQL's postmaster detaches from Patroni (`setsid`), so it is tracked from its pid file;
 * a final sweep finds any process still running from the drill's unique work directory.
 */
import { spawn, type ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { OsUser } from "./system";
import { sleep } from "./system";

export interface Started {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
}

export interface SpawnOptions {
  readonly args: readonly string[];
  /** Run as this user (when we are root). */
  readonly user?: OsUser;
  /** The complete environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Append stdout and stderr to this file. */
  readonly logFile?: string;
}

/** A clean environment for a child: PATH, LANG and HOME only, plus `extra`. */
export function cleanEnv(
  extraPath: readonly string[],
  home: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: [
      ...extraPath,
      "/usr/local/sbin",
      "/usr/local/bin",
      "/usr/sbin",
      "/usr/bin",
      "/sbin",
      "/bin",
    ].join(":"),
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    HOME: home,
    ...extra,
  };
}

/** Whether `pid` runs (a zombie, exited but not yet reaped, does not count). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Sends `signal` to the process group `pgid` (ignores a group that is gone). */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

/** The PID in the first line of a PostgreSQL `postmaster.pid`, if the file exists. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(
      fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0],
    );
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The process group of `pid` (from /proc), if it runs. */
export function processGroupOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[2]) : undefined;
}

/** Direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((c) => Number(statFields(c)?.[1]) === pid);
}

/** PIDs of running processes whose command line or working directory lies under `dir`. */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      let cwd = "";
      try {
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        /* not ours to read */
      }
      if (cmd.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) out.push(pid);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export class Supervisor {
  private readonly procs = new Map<string, Started>();
  /** Process groups started, including postmasters found later (pid = pgid after setsid). */
  private readonly groups = new Set<number>();

  constructor(private readonly workDir: string) {}

  /** Starts `command` in a new process group and records it under `name` (unique). */
  start(name: string, command: string, o: SpawnOptions): Started {
    if (this.procs.has(name) && alive(this.procs.get(name)!.pid))
      throw new Error(`${name} is already running (pid ${this.procs.get(name)!.pid})`);
    const out = o.logFile ? fs.openSync(o.logFile, "a") : "ignore";
    const child = spawn(command, [...o.args], {
      detached: true,
      env: { ...o.env },
      cwd: o.cwd ?? this.workDir,
      stdio: ["ignore", out, out],
      ...(o.user && (process.getuid?.() ?? 0) === 0 ? { uid: o.user.uid, gid: o.user.gid } : {}),
    });
    if (typeof out === "number") fs.closeSync(out);
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    const exited = new Promise<string>((resolve) => {
      child.once("exit", (code, sig) => resolve(sig ?? String(code)));
      child.once("error", (e) => resolve(`error: ${e.message}`));
    });
    const s: Started = { name, pid: child.pid, child, exited };
    this.procs.set(name, s);
    this.groups.add(child.pid);
    return s;
  }

  /** Records a process group started by one of ours (e.g. a postmaster). */
  adopt(pgid: number): void {
    this.groups.add(pgid);
  }

  get(name: string): Started | undefined {
    return this.procs.get(name);
  }

  isRunning(name: string): boolean {
    const s = this.procs.get(name);
    return s !== undefined && s.child.exitCode === null && s.child.signalCode === null;
  }

  /** kill -9 the group of `name` and wait (bounded) until it has exited. */
  async kill(name: string, signal: NodeJS.Signals = "SIGKILL", timeoutMs = 10_000): Promise<void> {
    const s = this.procs.get(name);
    if (!s) return;
    killGroup(s.pid, signal);
    await Promise.race([s.exited, sleep(timeoutMs)]);
    if (!alive(s.pid)) this.groups.delete(s.pid);
  }

  /**
   * kill -9 a process started by one of ours (e.g. a postmaster), its whole process group
   * (Patroni starts the postmaster under a session leader of its own) and its children; waits
   * (bounded) until it is gone.
   */
  async killTree(pid: number, timeoutMs = 10_000): Promise<void> {
    const pgid = processGroupOf(pid);
    if (pgid !== undefined && pgid > 1 && pgid !== processGroupOf(process.pid)) {
      this.groups.add(pgid);
      killGroup(pgid, "SIGKILL");
    }
    for (const c of [pid, ...childrenOf(pid)]) {
      try {
        process.kill(c, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    const deadline = Date.now() + timeoutMs;
    while (alive(pid) && Date.now() < deadline) await sleep(10);
  }

  /**
   * Stops everything: SIGTERM to every group, up to `graceMs` for them to exit, then SIGKILL,
   * then a sweep of anything still running from the work directory. Returns PIDs still alive.
   */
  async stopAll(graceMs = 5000): Promise<number[]> {
    for (const g of this.groups) killGroup(g, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...this.groups].some(alive)) await sleep(100);
    // SIGKILL what is left, sweeping the work directory until nothing runs from it (bounded).
    let left: number[] = [];
    for (let i = 0; i < 50; i++) {
      for (const g of this.groups) killGroup(g, "SIGKILL");
      left = [...new Set([...[...this.groups].filter(alive), ...processesUnder(this.workDir)])];
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      if (left.length === 0) break;
      await sleep(100);
    }
    this.procs.clear();
    return left;
  }

  /** Synchronous last-resort kill (for process exit handlers). */
  killAllNow(): void {
    for (const g of this.groups) killGroup(g, "SIGKILL");
    try {
      for (const pid of processesUnder(this.workDir)) process.kill(pid, "SIGKILL");
    } catch {
      /* best effort */
    }
  }
}

/** Runs a short command to completion with a deadline; throws with its output on failure. */
export function runSync(
  command: string,
  args: readonly string[],
  o: {
    user?: OsUser;
    env: Record<string, string>;
    cwd?: string;
    timeoutMs: number;
    input?: string;
  },
): string {
  try {
    return execFileSync(command, [...args], {
      env: o.env,
      cwd: o.cwd,
      timeout: o.timeoutMs,
      input: o.input,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      killSignal: "SIGKILL",
      maxBuffer: 256 * 1024 * 1024,
      ...(o.user && (process.getuid?.() ?? 0) === 0 ? { uid: o.user.uid, gid: o.user.gid } : {}),
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `${path.basename(command)} ${args.join(" ")} failed: ${(err.stderr || err.stdout || err.message).trim().slice(0, 2000)}`,
    );
  }
}

/**
 * Runs a command to completion without blocking the event loop (the writers keep running), in
 * its own process group, killed with its children when `timeoutMs` passes. Resolves stdout;
 * rejects with its output on a non-zero exit or a timeout.
 */
export function run(
  command: string,
  args: readonly string[],
  o: {
    user?: OsUser;
    env: Record<string, string>;
    cwd?: string;
    timeoutMs: number;
    input?: string;
    /** Also write stdout to this file descriptor's file instead of buffering it. */
    stdoutFile?: string;
  },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const outFd = o.stdoutFile ? fs.openSync(o.stdoutFile, "w") : undefined;
    const child = spawn(command, [...args], {
      detached: true,
      env: o.env,
      cwd: o.cwd,
      stdio: ["pipe", outFd ?? "pipe", "pipe"],
      ...(o.user && (process.getuid?.() ?? 0) === 0 ? { uid: o.user.uid, gid: o.user.gid } : {}),
    });
    if (outFd !== undefined) fs.closeSync(outFd);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, "SIGKILL");
    }, o.timeoutMs);
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(o.input ?? "");
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(command)}: ${e.message}`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) return resolve(stdout);
      const why = timedOut ? `timed out after ${(o.timeoutMs / 1000).toFixed(0)}s` : `exit ${code}`;
      reject(
        new Error(
          `${path.basename(command)} ${args.join(" ").slice(0, 300)} failed (${why}): ${(stderr || stdout).trim().slice(0, 2000)}`,
        ),
      );
    });
  });
}
