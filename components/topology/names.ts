/**
 * Region and zone naming per cloud. A zone must belong to its site's region:
 * AWS `us-east-1` has zones `us-east-1a`, `us-east-1b`, ...; GCP `europe-west1` has
 * `europe-west1-b`, `europe-west1-c`, ...
 */
import type { Cloud } from "./model";

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/;
const GCP_REGION = /^[a-z]+-[a-z]+\d+$/;

export function isRegionName(cloud: Cloud, region: string): boolean {
  return (cloud === "aws" ? AWS_REGION : GCP_REGION).test(region);
}

export function exampleRegion(cloud: Cloud): string {
  return cloud === "aws" ? "us-east-1" : "europe-west1";
}

/** True when `zone` is a zone of `region` under `cloud`'s naming. */
export function zoneBelongsToRegion(cloud: Cloud, region: string, zone: string): boolean {
  if (!zone.startsWith(region)) return false;
  const rest = zone.slice(region.length);
  if (cloud === "aws") {
    // us-east-1a, or a Local Zone such as us-east-1-bos-1a.
    return /^[a-z]$/.test(rest) || /^-[a-z]{3}-\d+[a-z]$/.test(rest);
  }
  return /^-[a-z]$/.test(rest);
}

/** Example zone names for `region`, for messages that name the fix. */
export function exampleZones(cloud: Cloud, region: string): string[] {
  return cloud === "aws" ? [`${region}a`, `${region}b`] : [`${region}-b`, `${region}-c`];
}
