/** Cross-site endpoints: internal (VPC-only) load balancers published under a DNS name. Pure. */

/** Private address ranges: the default sources allowed to reach a cross-site endpoint. */
export const PRIVATE_RANGES: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** The DNS zone cross-site endpoints are published in by default. */
export const DEFAULT_DNS_ZONE = "drstack.internal";

/**
 * Annotations that make a Service an internal load balancer on the site's cloud and publish it as
 * `hostname` through external-dns, so other sites reach it by a name fixed before deployment.
 */
export function internalLoadBalancerAnnotations(
  cloud: "aws" | "gcp",
  hostname: string,
): Record<string, string> {
  const dns = { "external-dns.alpha.kubernetes.io/hostname": hostname };
  return cloud === "aws"
    ? {
        ...dns,
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      }
    : {
        ...dns,
        "networking.gke.io/load-balancer-type": "Internal",
        "networking.gke.io/internal-load-balancer-allow-global-access": "true",
      };
}
