/**
 * `drstack failback --site S [--swap-back]`: the returning site rejoins as a standby of the
 * current primary (fenced first if it still takes writes), and the optional planned swap back
 * demotes the current primary before promoting the returning site.
 */
import { ConfigError } from "../components/topology/errors";
import { parseNetwork } from "../components/topology/load";
import type { Reseed, SiteProbe } from "./driver";
import { flipRoles, type RoleFlip, standbysWithPostgres, targetProblems } from "./flip";
import { failbackChecks } from "./preflight";
import { failbackSteps, type PlannedStep } from "./steps";
import { swapSteps, type SwapState } from "./swap";
import {
  describeProbe,
  type FailbackOptions,
  skipped,
  type SwapEnvironment,
  type SwapReport,
  Timeline,
} from "./timeline";

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
