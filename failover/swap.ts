/**
 * The failover steps (preflight, fence, catch-up, promote, flip-config, update-stack,
 * verify-writes) run against a driver; shared by `drstack failover` and the swap back.
 */
import type { Network } from "../components/topology/model";
import type { ActionResult, FenceResult, SiteProbe } from "./driver";
import type { RoleFlip } from "./flip";
import { decide, failoverChecks, type PreflightCheck } from "./preflight";
import type { PlannedStep } from "./steps";
import {
  describeProbe,
  skipped,
  type SwapEnvironment,
  type SwapReport,
  Timeline,
} from "./timeline";

/** Which refusals `--force` overrides. A failover: all three; a planned swap back: only the
 * preflight checks (the current primary is reachable: it must be confirmed fenced, and the target
 * must catch up, so no acknowledged write is lost). */
export interface Forcible {
  readonly preflight: boolean;
  readonly fence: boolean;
  readonly catchUp: boolean;
}

export interface SwapState {
  preflight: PreflightCheck[];
  edits: RoleFlip["edits"];
  /** Where the flipped topology was written (for the stack updates that follow). */
  networkPath?: string;
  /** A stack update failed: reported at the end (the database steps still run). */
  updateFailed?: string;
}

/** Runs the failover steps: preflight, fence, catch-up, promote, flip-config, update-stack,
 * verify-writes. Shared by failover and the swap back. */
export async function swapSteps(
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
            detail: `${flip.edits.map((e) => `${e.path} (line ${e.line}) ${e.from} -> ${e.to}`).join(", ")}${flip.credentialsPin ? `, credentialsSite: ${flip.credentialsPin.site} pinned (line ${flip.credentialsPin.line})` : ""} in ${file}`,
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
