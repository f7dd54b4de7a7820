/**
 * CometBFT's double-sign guard is on: every validator's config.toml sets
 * `consensus.double_sign_check_height` above 0, so a node that starts while its key signed in the
 * last blocks (a second copy after a failover, a restore of an old state) refuses to sign.
 */
import { validatorHomes } from "../../lib/cometbft";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "double-sign-check",
  area: "validators",
  kind: "stack",
  description:
    "Every validator's config.toml sets consensus.double_sign_check_height to at least minHeight (default 1): CometBFT then looks back that many blocks for its own signature before it signs, and refuses to start signing when it finds one.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set drstack:validators.doubleSignCheckHeight to a positive number of blocks (the default is 10); never 0, which turns the check off.",
  configSchema: {
    properties: {
      minHeight: {
        type: "integer",
        minimum: 1,
        default: 1,
        description: "Smallest accepted height.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { minHeight } = ruleConfig<{ minHeight: number }>(rule, args.getConfig());
    const homes = validatorHomes(args.resources).filter(
      (h) => h.config !== undefined || h.configError !== undefined,
    );
    if (homes.length === 0) {
      args.notApplicable("no validator config.toml in this stack");
      return;
    }
    for (const h of homes) {
      if (h.configError) {
        reportViolation(`validator ${h.validator}: ${h.configError}`, h.urn);
        continue;
      }
      const height = h.config?.consensus?.double_sign_check_height;
      if (typeof height !== "number" && typeof height !== "bigint")
        reportViolation(
          `validator ${h.validator}: config.toml has no consensus.double_sign_check_height (CometBFT's default 0 turns the double-sign check off)`,
          h.urn,
        );
      else if (Number(height) < minHeight)
        reportViolation(
          `validator ${h.validator}: consensus.double_sign_check_height is ${height}, below ${minHeight}${Number(height) === 0 ? " (0 turns the double-sign check off)" : ""}`,
          h.urn,
        );
    }
  },
};
