/**
 * Labels and annotations on validator workloads. Pure: the ValidatorSet writes them, the
 * policy rules read them (`single-signer`, `validators-per-site`, ...).
 */
import { LABEL_PREFIX } from "../shared/labels";

export const VALIDATOR_COMPONENT = "validator";
/** Label: the validator's name (one workload per validator). */
export const VALIDATOR_LABEL = `${LABEL_PREFIX}/validator`;
export const ZONE_LABEL = "topology.kubernetes.io/zone";
/** Annotation: the validator's voting power (decimal integer). */
export const VOTING_POWER_ANNOTATION = `${LABEL_PREFIX}/voting-power`;
/** Annotation: parties the validator hosts, comma-separated. */
export const PARTIES_ANNOTATION = `${LABEL_PREFIX}/parties`;

type Labels = Readonly<Record<string, string>> | undefined;

/** Whether a workload (its labels or its pod template's) is a drstack validator. */
export function isValidatorWorkload(metadataLabels: Labels, templateLabels: Labels): boolean {
  for (const l of [metadataLabels, templateLabels]) {
    if (!l) continue;
    if (
      l["app.kubernetes.io/component"] === VALIDATOR_COMPONENT ||
      l[VALIDATOR_LABEL] !== undefined
    )
      return true;
  }
  return false;
}

/** The validator name a workload runs (label), if any. */
export function validatorNameOf(
  metadataLabels: Labels,
  templateLabels: Labels,
): string | undefined {
  return metadataLabels?.[VALIDATOR_LABEL] ?? templateLabels?.[VALIDATOR_LABEL];
}
