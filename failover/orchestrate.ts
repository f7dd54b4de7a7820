/**
 * The stack swap orchestration: runs the planned steps (`steps.ts`) against a {@link SiteDriver},
 * logging each with its start time and duration, and stops (or requires `--force`) where a step
 * could make two primaries or lose acknowledged writes.
 *
 * Invariants: the old primary is fenced (or its fencing recorded as unconfirmed under --force)
 * before the target is promoted; a returning site is made a standby before anything else and is
 * never promoted by a failback except through the explicit swap back, which demotes first.
 */
import { parseNetwork } from "../components/topology/load";
import { ConfigError } from "../components/topology/errors";
import { flipRoles, type RoleFlip } from "./flip";
import { failoverSteps, type PlannedStep } from "./steps";
import { swapSteps, type SwapState } from "./swap";
import { type FailoverOptions, type SwapEnvironment, type SwapReport, Timeline } from "./timeline";

export * from "./timeline";
export { prepareFailback, runFailback } from "./failback";

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
