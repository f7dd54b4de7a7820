/**
 * The stack swap orchestration: runs the planned steps (`steps.ts`) against a {@link SiteDriver},
 * logging each with its start time and duration, and stops (or requires `--force`) where a step
 * could make two primaries or lose acknowledged writes.
 *
 * Invariants: the old primary is fenced (or its fencing recorded as unconfirmed under --force)
 * before the target is promoted; a returning site is made a standby before anything else and is
 * never promoted by a failback except through the explicit swap back, which demotes first.
 */
import type { Network } from "../topology/model";
import { ConfigError } from "../topology/errors";
import type { ActionResult, FenceResult, Reseed, SiteDriver, SiteProbe } from "./driver";
import { flipRoles, type RoleFlip, standbysWithPostgres, targetProblems } from "./flip";
import { decide, failbackChecks, failoverChecks, type PreflightCheck } from "./preflight";
import { failbackSteps, failoverSteps, type PlannedStep, type StepName } from "./steps";
import { parseNetwork } from "../topology/load";

export type StepStatus = "ok" | "failed" | "forced" | "skipped" | "refused";

export interface StepRecord {
  readonly step: StepName;
  readonly site: string;
  readonly status: StepStatus;
  /** ISO-8601 UTC. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** Milliseconds since the operation started (the timeline's offset). */
  readonly offsetMs: number;
  readonly detail: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface SwapReport {
  readonly operation: "failover" | "failback";
  readonly outcome: "completed" | "refused" | "failed";
  /** Old and new primary (failback: the returning site in `site`). */
  readonly from: string;
  readonly to: string;
  readonly driver: string;
  readonly forced: boolean;
  readonly reason?: string;
  readonly preflight: readonly PreflightCheck[];
  /** The role edits made to the topology file (empty when it was not changed). */
  readonly configEdits: RoleFlip["edits"];
  readonly steps: readonly StepRecord[];
  readonly startedAt: string;
  readonly durationMs: number;
  /** Why the operation stopped, when it did not complete. */
  readonly stoppedBecause?: string;
}

export interface SwapEnvironment {
  readonly driver: SiteDriver;
  /** Current text of the topology file, and its name for messages. */
  readonly networkText: string;
  readonly networkFile: string;
  /** Stores the flipped topology; returns the path stacks should read (for `updateStack`). */
  writeNetwork(text: string): Promise<string>;
  /** Receives each step as it finishes (the live log). */
  log?(step: StepRecord): void;
  /** Wall clock (ms since epoch). Default Date.now. */
  now?(): number;
  sleep?(ms: number): Promise<void>;
  /** How long `catch-up` waits for the target to receive the fenced primary's WAL. Default 30 s. */
  catchUpTimeoutMs?: number;
  /** Poll interval of waits. Default 250 ms. */
  pollMs?: number;
}

export interface FailoverOptions {
  readonly target: string;
  /** Proceed over failed preflight checks and unconfirmed fencing. Requires `reason`. */
  readonly force?: boolean;
  readonly reason?: string;
}

export interface FailbackOptions {
  readonly site: string;
  readonly reseed?: Reseed;
  /** After rejoining, swap back: demote the current primary, then promote `site`. */
  readonly swapBack?: boolean;
  /** Swap back over failed preflight checks of `site` (never over an unconfirmed fence or a
   * catch-up that did not finish). Requires `reason` and `swapBack`. */
  readonly force?: boolean;
  readonly reason?: string;
}

class Timeline {
  readonly steps: StepRecord[] = [];
  readonly t0: number;
  readonly startedAt: string;
  constructor(private readonly env: SwapEnvironment) {
    this.t0 = performance.now();
    this.startedAt = new Date(this.now()).toISOString();
  }
  now(): number {
    return this.env.now ? this.env.now() : Date.now();
  }
  async run<T extends ActionResult>(
    planned: PlannedStep,
    fn: () => Promise<T>,
    status: (r: T) => StepStatus = (r) => (r.ok ? "ok" : "failed"),
    adjust: (r: T, record: StepRecord) => StepRecord = (_r, record) => record,
  ): Promise<{ result: T; record: StepRecord }> {
    const startedAt = new Date(this.now()).toISOString();
    const t = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      result = { ok: false, detail: `error: ${(e as Error).message}` } as T;
    }
    const record: StepRecord = adjust(result, {
      step: planned.step,
      site: planned.site,
      status: status(result),
      startedAt,
      durationMs: performance.now() - t,
      offsetMs: t - this.t0,
      detail: result.detail,
      ...(result.data ? { data: result.data } : {}),
    });
    this.add(record);
    return { result, record };
  }
  add(record: StepRecord): void {
    this.steps.push(record);
    this.env.log?.(record);
  }
  get elapsed(): number {
    return performance.now() - this.t0;
  }
}

/** Validates `failover --to target` against the topology (exit 2 problems) and plans it. */
export function prepareFailover(
  networkText: string,
  networkFile: string,
  target: string,
): { flip: RoleFlip; steps: PlannedStep[] } {
  const flip = flipRoles(networkText, target, networkFile, "--to");
  return {
    flip,
    steps: failoverSteps({ oldPrimary: flip.oldPrimary, target, networkFile }),
  };
}

/** Runs `drstack failover --to target`. */
export async function runFailover(
  env: SwapEnvironment,
  opts: FailoverOptions,
): Promise<SwapReport> {
  if (opts.force && !opts.reason?.trim())
    throw new ConfigError([
      {
        path: "--reason",
        message: "--force needs --reason TEXT (it is recorded in the timeline)",
        fix: 'add --reason "primary region lost, declared by <who>"',
      },
    ]);
  const { flip, steps } = prepareFailover(env.networkText, env.networkFile, opts.target);
  const network = parseNetwork(env.networkText, env.networkFile);
  const tl = new Timeline(env);
  const base = {
    operation: "failover" as const,
    from: flip.oldPrimary,
    to: opts.target,
    driver: env.driver.kind,
    forced: opts.force === true,
    ...(opts.force ? { reason: opts.reason } : {}),
  };
  const state: SwapState = { preflight: [], edits: [] };
  const finish = (outcome: SwapReport["outcome"], stoppedBecause?: string): SwapReport => ({
    ...base,
    outcome,
    preflight: state.preflight,
    configEdits: state.edits,
    steps: tl.steps,
    startedAt: tl.startedAt,
    durationMs: tl.elapsed,
    ...(stoppedBecause ? { stoppedBecause } : {}),
  });
  const result = await swapSteps(
    env,
    tl,
    network,
    flip,
    steps,
    { preflight: opts.force === true, fence: opts.force === true, catchUp: opts.force === true },
    opts.reason,
    state,
  );
  return finish(result.outcome, result.stoppedBecause);
}

/** Which refusals `--force` overrides. A failover: all three; a planned swap back: only the
 * preflight checks (the current primary is reachable: it must be confirmed fenced, and the target
 * must catch up, so no acknowledged write is lost). */
interface Forcible {
  readonly preflight: boolean;
  readonly fence: boolean;
  readonly catchUp: boolean;
}

interface SwapState {
  preflight: PreflightCheck[];
  edits: RoleFlip["edits"];
  /** Where the flipped topology was written (for the stack updates that follow). */
  networkPath?: string;
  /** A stack update failed: reported at the end (the database steps still run). */
  updateFailed?: string;
}

/** Runs the failover steps: preflight, fence, catch-up, promote, flip-config, update-stack,
 * verify-writes. Shared by failover and the swap back. */
async function swapSteps(
  env: SwapEnvironment,
  tl: Timeline,
  network: Network,
  flip: RoleFlip,
  steps: readonly PlannedStep[],
  forcible: Forcible,
  reason: string | undefined,
  state: SwapState,
): Promise<{ outcome: SwapReport["outcome"]; stoppedBecause?: string }> {
  const { driver } = env;
  const target = flip.newPrimary;
  const old = flip.oldPrimary;
  const forcedNote = () => `; proceeding because --force: ${reason}`;
  let fence: FenceResult | undefined;
  for (const planned of steps) {
    switch (planned.step) {
      case "preflight": {
        const { result } = await tl.run(
          planned,
          async () => {
            const [t, o] = await Promise.all([driver.probe(target), driver.probe(old)]);
            const checks = failoverChecks(t, network.objectives.region);
            state.preflight.push(...checks);
            const d = decide(checks, forcible.preflight);
            const failed = checks.filter((c) => !c.ok);
            const summary = failed.length
              ? `failed: ${failed.map((c) => `${c.name} (${c.detail})`).join("; ")}`
              : `passed: ${checks.map((c) => c.detail).join("; ")}`;
            return {
              ok: d.proceed,
              forced: d.forcedOver.length > 0,
              detail: `${summary}; old primary ${old}: ${describeProbe(o)}${d.forcedOver.length ? forcedNote() : ""}`,
              data: { target: t, oldPrimary: o },
            };
          },
          (r) => (!r.ok ? "refused" : r.forced ? "forced" : "ok"),
        );
        if (!result.ok)
          return {
            outcome: "refused",
            stoppedBecause: `preflight failed (rerun with --force --reason TEXT to proceed anyway): ${state.preflight
              .filter((c) => !c.ok)
              .map((c) => `${c.name}: ${c.detail}`)
              .join("; ")}`,
          };
        break;
      }
      case "fence": {
        const why = (r: FenceResult) =>
          r.unreachable
            ? `fencing of ${old} could not be confirmed: unreachable (${r.detail})`
            : `fencing of ${old} failed: ${r.detail}`;
        const { result } = await tl.run(
          planned,
          async () => {
            const r = await driver.fence(old, { newPrimary: target });
            if (r.confirmed || !r.unreachable || !driver.fenceDcs) return r;
            // Patroni is unreachable: make sure it can only come back as a standby.
            const dcs = await driver.fenceDcs(old, { newPrimary: target });
            return {
              ...r,
              detail: `${r.detail}; DCS ${dcs.ok ? "fenced" : "not fenced"}: ${dcs.detail}`,
              data: { ...(r.data ?? {}), dcsFenced: dcs.ok },
            };
          },
          (r) => (r.confirmed ? "ok" : forcible.fence ? "forced" : "refused"),
          (r, rec) =>
            r.confirmed
              ? rec
              : { ...rec, detail: `${why(r)}${forcible.fence ? forcedNote() : ""}` },
        );
        fence = result;
        if (!result.confirmed && !forcible.fence)
          return {
            outcome: "refused",
            stoppedBecause: `${why(result)}; ${target} was not promoted. If ${old} is known to be down (region lost), rerun with --force --reason TEXT`,
          };
        break;
      }
      case "catch-up": {
        if (fence?.finalWalBytes === undefined) {
          tl.add(
            skipped(
              tl,
              planned,
              "the fenced primary's last WAL position is unknown (not fenced through its API)",
            ),
          );
          break;
        }
        const goal = fence.finalWalBytes;
        const { result } = await tl.run(
          planned,
          () => waitCaughtUp(env, target, goal),
          (r) => (r.ok ? "ok" : forcible.catchUp ? "forced" : "refused"),
        );
        if (!result.ok && !forcible.catchUp)
          return {
            outcome: "refused",
            stoppedBecause: `${target} did not catch up with the fenced ${old}: ${result.detail}; ${old} stays fenced and ${target} was not promoted (rerun with --force --reason TEXT to accept the loss)`,
          };
        break;
      }
      case "promote": {
        const { result } = await tl.run(planned, () => driver.promote(target));
        if (!result.ok)
          return {
            outcome: "failed",
            stoppedBecause: `promotion of ${target} failed: ${result.detail}`,
          };
        break;
      }
      case "flip-config": {
        let file = "";
        const { result } = await tl.run(planned, async () => {
          file = await env.writeNetwork(flip.text);
          state.edits = flip.edits;
          return {
            ok: true,
            detail: `${flip.edits.map((e) => `${e.path} (line ${e.line}) ${e.from} -> ${e.to}`).join(", ")} in ${file}`,
          };
        });
        if (!result.ok)
          return {
            outcome: "failed",
            stoppedBecause: `writing the topology failed: ${result.detail}`,
          };
        state.networkPath = file;
        break;
      }
      case "update-stack": {
        const { result } = await tl.run(
          planned,
          () => driver.updateStack(target, { networkFile: state.networkPath ?? env.networkFile }),
          (r) => (r.data?.skipped ? "skipped" : r.ok ? "ok" : "failed"),
        );
        if (!result.ok) state.updateFailed = `stack update of ${target} failed: ${result.detail}`;
        break;
      }
      case "verify-writes": {
        const { result } = await tl.run(planned, () => driver.verifyWrites(target));
        if (!result.ok)
          return {
            outcome: "failed",
            stoppedBecause: `writes on ${target} failed: ${result.detail}`,
          };
        break;
      }
      default:
        throw new Error(`step ${planned.step} is not part of a failover`);
    }
  }
  if (state.updateFailed) return { outcome: "failed", stoppedBecause: state.updateFailed };
  return { outcome: "completed" };
}

/**
 * Validates `failback --site S` (exit 2 problems naming --site and the field) and plans it.
 * `rejoinFlip` is the topology with S as primary (what S was before the failover: the dry run's
 * "before" plan of S's stack); `flip` is the swap back's change (only with `swapBack`).
 */
export function prepareFailback(
  networkText: string,
  networkFile: string,
  opts: FailbackOptions,
): { primary: string; steps: PlannedStep[]; flip?: RoleFlip; rejoinFlip: RoleFlip } {
  if (opts.force && !opts.swapBack)
    throw new ConfigError([
      {
        path: "--force",
        message:
          "--force only applies to the swap back's preflight (--swap-back); rejoining is never forced",
        fix: "drop --force, or add --swap-back",
      },
    ]);
  if (opts.force && !opts.reason?.trim())
    throw new ConfigError([
      {
        path: "--reason",
        message: "--force needs --reason TEXT (it is recorded in the timeline)",
        fix: 'add --reason "<why the swap back proceeds>"',
      },
    ]);
  const network = parseNetwork(networkText, networkFile);
  const site = network.sites.find((s) => s.name === opts.site);
  if (site?.role === "primary")
    throw new ConfigError(
      [
        {
          path: "--site",
          file: networkFile,
          message: `site ${opts.site} is the primary in ${networkFile}: failback brings back a site that is a standby after a failover`,
          fix: `name the returning (old primary) site, one of: ${standbysWithPostgres(network).join(", ")}`,
        },
      ],
      `cannot fail back ${opts.site}`,
    );
  const problems = targetProblems(network, opts.site, networkFile, "--site");
  if (problems.length) throw new ConfigError(problems, `cannot fail back ${opts.site}`);
  const primary = network.sites.find((s) => s.role === "primary")!.name;
  // Validated up front, so bad input stops before anything changes.
  const rejoinFlip = flipRoles(networkText, opts.site, networkFile, "--site");
  const steps = failbackSteps({
    site: opts.site,
    primary,
    reseed: opts.reseed ?? "rewind",
    swapBack: opts.swapBack === true,
    networkFile,
  });
  return { primary, steps, rejoinFlip, ...(opts.swapBack ? { flip: rejoinFlip } : {}) };
}

/** Runs `drstack failback --site S [--swap-back]`. */
export async function runFailback(
  env: SwapEnvironment,
  opts: FailbackOptions,
): Promise<SwapReport> {
  const network = parseNetwork(env.networkText, env.networkFile);
  const { primary, steps, flip } = prepareFailback(env.networkText, env.networkFile, opts);
  const reseed: Reseed = opts.reseed ?? "rewind";
  const tl = new Timeline(env);
  const state: SwapState = { preflight: [], edits: [] };
  const report = (outcome: SwapReport["outcome"], stoppedBecause?: string): SwapReport => ({
    operation: "failback",
    outcome,
    from: primary,
    to: opts.site,
    driver: env.driver.kind,
    forced: opts.force === true,
    ...(opts.force ? { reason: opts.reason } : {}),
    preflight: state.preflight,
    configEdits: state.edits,
    steps: tl.steps,
    startedAt: tl.startedAt,
    durationMs: tl.elapsed,
    ...(stoppedBecause ? { stoppedBecause } : {}),
  });
  const rejoinPart = steps.slice(0, 5);
  const r = await rejoinSteps(env, tl, opts.site, primary, reseed, rejoinPart, state, true);
  if (r) return report(r.outcome, r.stoppedBecause);
  if (!flip) return report(state.updateFailed ? "failed" : "completed", state.updateFailed);
  // Planned swap back: demote (fence, always confirmed) first, promote second.
  const swap = steps.slice(5, steps.length - 3);
  const force = opts.force === true;
  const s = await swapSteps(
    env,
    tl,
    network,
    flip,
    swap,
    { preflight: force, fence: false, catchUp: false },
    opts.reason,
    state,
  );
  if (s.outcome !== "completed") return report(s.outcome, s.stoppedBecause);
  const back = await rejoinSteps(
    env,
    tl,
    primary,
    opts.site,
    "rewind",
    steps.slice(steps.length - 3),
    state,
    false,
  );
  if (back) return report(back.outcome, back.stoppedBecause);
  return report(state.updateFailed ? "failed" : "completed", state.updateFailed);
}

/** preflight?, fence-if-writable?, rejoin, update-stack, verify-standby for `site` following `primary`. */
async function rejoinSteps(
  env: SwapEnvironment,
  tl: Timeline,
  site: string,
  primary: string,
  reseed: Reseed,
  steps: readonly PlannedStep[],
  state: SwapState,
  withPreflight: boolean,
): Promise<{ outcome: SwapReport["outcome"]; stoppedBecause: string } | undefined> {
  const { driver } = env;
  let returning: SiteProbe | undefined;
  for (const planned of steps) {
    switch (planned.step) {
      case "preflight": {
        if (!withPreflight) break;
        const { result } = await tl.run(
          planned,
          async () => {
            const [r, p] = await Promise.all([driver.probe(site), driver.probe(primary)]);
            returning = r;
            const checks = failbackChecks(r, p);
            state.preflight.push(...checks);
            const failed = checks.filter((c) => !c.ok);
            return {
              ok: failed.length === 0,
              detail: failed.length
                ? `failed: ${failed.map((c) => `${c.name} (${c.detail})`).join("; ")}`
                : `passed: ${checks.map((c) => c.detail).join("; ")}`,
            };
          },
          (x) => (x.ok ? "ok" : "refused"),
        );
        if (!result.ok)
          return { outcome: "refused", stoppedBecause: `preflight failed: ${result.detail}` };
        break;
      }
      case "fence": {
        if (returning && returning.writable !== true) {
          tl.add(
            skipped(
              tl,
              planned,
              `${site} does not accept writes (role ${returning.role ?? "unknown"})`,
            ),
          );
          break;
        }
        const { result } = await tl.run(
          planned,
          () => driver.fence(site, { newPrimary: primary }),
          (r) => (r.confirmed ? "ok" : "refused"),
        );
        if (!result.confirmed)
          return {
            outcome: "refused",
            stoppedBecause: `${site} still accepts writes and could not be fenced: ${result.detail}`,
          };
        break;
      }
      case "rejoin": {
        const { result } = await tl.run(planned, () =>
          driver.rejoinAsStandby(site, { primary, reseed }),
        );
        if (!result.ok)
          return {
            outcome: "failed",
            stoppedBecause: `${site} did not rejoin as a standby of ${primary}: ${result.detail}`,
          };
        break;
      }
      case "update-stack": {
        const { result } = await tl.run(
          planned,
          () => driver.updateStack(site, { networkFile: state.networkPath ?? env.networkFile }),
          (r) => (r.data?.skipped ? "skipped" : r.ok ? "ok" : "failed"),
        );
        if (!result.ok) state.updateFailed = `stack update of ${site} failed: ${result.detail}`;
        break;
      }
      case "verify-standby": {
        const { result } = await tl.run(planned, async () => {
          const p = await driver.probe(site);
          const ok = p.reachable && p.role === "standby" && p.writable === false;
          return {
            ok,
            detail: ok
              ? `${site} is a read-only standby: ${describeProbe(p)}`
              : `${site} is not a read-only standby: ${describeProbe(p)}`,
          };
        });
        if (!result.ok) return { outcome: "failed", stoppedBecause: result.detail };
        break;
      }
      default:
        throw new Error(`step ${planned.step} is not part of a rejoin`);
    }
  }
  return undefined;
}

async function waitCaughtUp(
  env: SwapEnvironment,
  target: string,
  goal: number,
): Promise<ActionResult> {
  const timeout = env.catchUpTimeoutMs ?? 30_000;
  const poll = env.pollMs ?? 250;
  const sleep = env.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const t0 = performance.now();
  let last: SiteProbe | undefined;
  for (;;) {
    last = await env.driver.probe(target);
    if (last.walBytes !== undefined && last.walBytes >= goal)
      return {
        ok: true,
        detail: `${target} received WAL up to ${last.walBytes} >= fenced primary's ${goal}: no acknowledged write left behind`,
        data: { goal, received: last.walBytes },
      };
    if (performance.now() - t0 >= timeout) break;
    await sleep(poll);
  }
  const have = last?.walBytes;
  return {
    ok: false,
    detail: `after ${Math.round(timeout / 1000)} s ${target} has WAL up to ${have ?? "unknown"}, the fenced primary wrote up to ${goal}${have !== undefined ? ` (${goal - have} bytes missing)` : ""}`,
    data: { goal, received: have },
  };
}

function skipped(tl: Timeline, planned: PlannedStep, why: string): StepRecord {
  return {
    step: planned.step,
    site: planned.site,
    status: "skipped",
    startedAt: new Date(tl.now()).toISOString(),
    durationMs: 0,
    offsetMs: tl.elapsed,
    detail: `skipped: ${why}`,
  };
}

export function describeProbe(p: SiteProbe): string {
  if (!p.reachable) return `unreachable (${p.detail})`;
  const parts = [`role ${p.role ?? "unknown"}`, p.writable ? "writable" : "read-only"];
  if (p.lagSeconds !== undefined) parts.push(`lag ${p.lagSeconds}s`);
  if (p.lagBytes !== undefined) parts.push(`lag ${p.lagBytes} bytes`);
  if (p.timeline !== undefined) parts.push(`timeline ${p.timeline}`);
  return parts.join(", ");
}
