/** Standard labels and names every drstack resource on a site carries. Pure. */
import type { Site } from "../topology/model";

export const LABEL_PREFIX = "drstack.io";

export function siteLabels(site: Site, component?: string): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "drstack",
    "app.kubernetes.io/managed-by": "pulumi",
    ...(component ? { "app.kubernetes.io/component": component } : {}),
    "topology.kubernetes.io/region": site.region,
    [`${LABEL_PREFIX}/site`]: site.name,
    [`${LABEL_PREFIX}/role`]: site.role,
    [`${LABEL_PREFIX}/cloud`]: site.cloud,
  };
}

/** Namespace roles a site has, by the services it runs. */
export type NamespaceRole = "system" | "validators" | "data" | "backup";

export function namespaceRoles(site: Site): NamespaceRole[] {
  const roles: NamespaceRole[] = ["system"];
  if (site.services.includes("validators")) roles.push("validators");
  if (site.services.includes("postgres") || site.services.includes("redis")) roles.push("data");
  if (site.services.includes("backup")) roles.push("backup");
  return roles;
}

export function namespaceName(prefix: string, role: NamespaceRole): string {
  return `${prefix}-${role}`;
}

/** Labels of the site's backup namespace (DrSite's `siteLabels(site, "backup")`), for NetworkPolicies. */
export function backupNamespaceLabels(site: Site): Record<string, string> {
  const l = siteLabels(site, "backup");
  return {
    "app.kubernetes.io/part-of": l["app.kubernetes.io/part-of"],
    "app.kubernetes.io/component": l["app.kubernetes.io/component"],
    "drstack.io/site": l["drstack.io/site"],
  };
}
