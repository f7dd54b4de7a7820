/** Cross-site endpoints: internal (VPC-only) load balancers published under a DNS name. Pure. */

/** Private address ranges: the default sources allowed to reach a cross-site endpoint. */
export const PRIVATE_RANGES: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** The DNS zone cross-site endpoints are published in by default. */
export const DEFAULT_DNS_ZONE = "drstack.internal";

/**
 * Annotations that make a Service an internal load balancer on the site's cloud, whichever
 * controller reconciles it, and publish it as `hostname` through external-dns, so other sites
 * reach it by a name fixed before deployment.
 * - AWS: the in-tree cloud controller reads `aws-load-balancer-internal` (with `type: nlb` it
 *   builds an NLB); the AWS Load Balancer Controller, which takes over Services it is given (its
 *   webhook sets `loadBalancerClass: service.k8s.aws/nlb`), reads `aws-load-balancer-scheme`.
 *   Both say internal, so neither makes the endpoint internet-facing.
 * - GCP: GKE reads `networking.gke.io/load-balancer-type` (and the older
 *   `cloud.google.com/load-balancer-type`): an internal passthrough Network Load Balancer, with
 *   global access so sites in other regions reach it.
 * Pair them with `loadBalancerSourceRanges` (required by the `internal-load-balancer` rule).
 */
export function internalLoadBalancerAnnotations(
  cloud: "aws" | "gcp",
  hostname: string,
): Record<string, string> {
  const dns = { "external-dns.alpha.kubernetes.io/hostname": hostname };
  return cloud === "aws"
    ? {
        ...dns,
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      }
    : {
        ...dns,
        "networking.gke.io/load-balancer-type": "Internal",
        "cloud.google.com/load-balancer-type": "Internal",
        "networking.gke.io/internal-load-balancer-allow-global-access": "true",
      };
}

/**
 * Whether a LoadBalancer Service's annotations keep it internal under every controller of its
 * cloud (see `internalLoadBalancerAnnotations`); `cloud` undefined: internal on either cloud.
 */
export function isInternalLoadBalancer(
  annotations: Readonly<Record<string, string>> | undefined,
  loadBalancerClass: string | undefined,
  cloud?: "aws" | "gcp",
): boolean {
  const a = annotations ?? {};
  const awsInTree = a["service.beta.kubernetes.io/aws-load-balancer-internal"] === "true";
  const awsLbc =
    (a["service.beta.kubernetes.io/aws-load-balancer-scheme"] ?? "internal") === "internal";
  // The LBC's default scheme is internal; the in-tree controller's default is internet-facing.
  const aws =
    loadBalancerClass === "service.k8s.aws/nlb"
      ? awsLbc
      : awsInTree &&
        (a["service.beta.kubernetes.io/aws-load-balancer-scheme"] ?? "internal") === "internal";
  const gcp =
    a["networking.gke.io/load-balancer-type"] === "Internal" ||
    a["cloud.google.com/load-balancer-type"] === "Internal";
  return cloud === "aws" ? aws : cloud === "gcp" ? gcp : aws || gcp;
}
