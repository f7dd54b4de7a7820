import { Provider } from "@pulumi/kubernetes/provider";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { NetworkPolicy } from "@pulumi/kubernetes/networking/v1/networkPolicy";
import { Namespace } from "@pulumi/kubernetes/core/v1/namespace";
import * as pulumi from "@pulumi/pulumi";
import type { Network, Site } from "../topology/model";
import type { SiteSettings } from "../topology/siteConfig";
import { formatPercent, powerByRegion } from "../topology/voting";
import { namespaceName, type NamespaceRole, namespaceRoles, siteLabels } from "../shared/labels";
import { RedisSentinel, type RedisFacts } from "../redis/RedisSentinel";
import { normalizeRedisSettings } from "../redis/settings";
import { PatroniCluster } from "../postgres/PatroniCluster";
import type { PostgresFacts } from "../postgres/facts";
import { normalizePostgresSettings } from "../postgres/settings";
import { Problems } from "../topology/errors";
import {
  backupNetworkSpec,
  DEFAULT_DENY_NAME,
  defaultDenySpec,
  DNS_POLICY_NAME,
  dnsEgressSpec,
} from "../network/policies";
import { normalizeNetworkSettings } from "../network/settings";
import { SiteMonitoring } from "../monitoring/SiteMonitoring";
import { patroniPodLabels } from "../postgres/kubernetes";
import { PGBACKREST_TLS_PORT, serverTlsSecretName } from "../postgres/tls";
import { REDIS_PORT } from "../redis/scripts";
import { normalizeValidatorSettings } from "../validators/settings";
import { type ValidatorFacts, ValidatorSet } from "../validators/ValidatorSet";
import { buildSiteProtection, type SiteBackupFacts, siteBackupSettings } from "../backup/site";

export interface DrSiteArgs {
  /** The validated network topology (shared by every stack). */
  readonly network: Network;
  /** The site this stack deploys; must be one of `network.sites`. */
  readonly site: Site;
  /** The stack's validated settings. */
  readonly settings: SiteSettings;
}

/** Plain facts about a deployed site, exported as stack outputs and read by other stacks. */
export interface SiteFacts {
  readonly site: string;
  readonly role: string;
  readonly cloud: string;
  readonly region: string;
  readonly zones: readonly string[];
  readonly namespaces: Partial<Record<NamespaceRole, string>>;
  readonly topologyConfigMap: string;
  readonly regionVotingShare: string;
  /** Present when the site runs redis: its endpoints and password (secret). */
  readonly redis?: RedisFacts;
  /** Present when the site runs validators: each validator (zone, power, key Secret) and the gateway. */
  readonly validators?: ValidatorFacts;
  /** Present when the site runs postgres: replication endpoint, repository, credentials (secret). */
  readonly postgres?: PostgresFacts;
  /** Backup bucket (names, regions), backup job schedules, alert rule. */
  readonly backups: SiteBackupFacts;
}

/**
 * One site of the DR stack: the Kubernetes provider for the site's cluster, its namespaces
 * (labelled with region, site and role, Pod Security "restricted"), and a ConfigMap carrying the
 * whole network topology, so workloads and policies on the cluster see the same facts.
 */
export class DrSite extends pulumi.ComponentResource {
  readonly provider: Provider;
  readonly namespaces: Partial<Record<NamespaceRole, Namespace>> = {};
  readonly topology: ConfigMap;
  readonly facts: SiteFacts;
  readonly redis?: RedisSentinel;
  readonly validators?: ValidatorSet;
  readonly postgres?: PatroniCluster;

  constructor(name: string, args: DrSiteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:site:DrSite", name, {}, opts);
    const { network, site, settings } = args;
    const backupSettings = siteBackupSettings(site, settings);
    const kubeconfig = settings.kubeconfig ?? site.kubernetes.kubeconfig;
    this.provider = new Provider(
      `${name}-k8s`,
      {
        ...(site.kubernetes.context ? { context: site.kubernetes.context } : {}),
        ...(kubeconfig
          ? { kubeconfig: looksLikeContents(kubeconfig) ? pulumi.secret(kubeconfig) : kubeconfig }
          : {}),
        enableServerSideApply: true,
      },
      { parent: this },
    );
    const child = { parent: this, provider: this.provider };

    for (const role of namespaceRoles(site)) {
      this.namespaces[role] = new Namespace(
        `${name}-ns-${role}`,
        {
          metadata: {
            name: namespaceName(settings.namespacePrefix, role),
            labels: {
              ...siteLabels(site, role),
              "pod-security.kubernetes.io/enforce": "restricted",
              "pod-security.kubernetes.io/enforce-version": "latest",
            },
          },
        },
        child,
      );
    }

    // Every namespace denies all ingress and egress; each component adds the allows it needs.
    const net = normalizeNetworkSettings(settings.structured.networkPolicy);
    for (const role of namespaceRoles(site)) {
      const ns = this.namespaces[role]!;
      for (const [suffix, policyName, spec] of [
        ["default-deny", DEFAULT_DENY_NAME, defaultDenySpec()],
        ["dns", DNS_POLICY_NAME, dnsEgressSpec()],
      ] as const) {
        new NetworkPolicy(
          `${name}-ns-${role}-${suffix}`,
          {
            metadata: {
              name: policyName,
              namespace: ns.metadata.name,
              labels: siteLabels(site, role),
            },
            spec: spec as never,
          },
          { ...child, parent: ns },
        );
      }
    }

    const system = this.namespaces.system!;
    const topologyName = "drstack-topology";
    this.topology = new ConfigMap(
      `${name}-topology`,
      {
        metadata: {
          name: topologyName,
          namespace: system.metadata.name,
          labels: siteLabels(site, "topology"),
        },
        data: {
          "network.json": JSON.stringify(network, null, 2),
          site: site.name,
        },
      },
      child,
    );

    const dist = powerByRegion(network);
    const mine = dist.regions.find((r) => r.key === `${site.cloud}/${site.region}`);
    if (site.services.includes("validators")) {
      // Validated with the stack config (SITE_CONFIG_KEYS.validators.check); this applies defaults.
      this.validators = new ValidatorSet(
        `${name}-validators`,
        {
          network,
          site,
          settings: normalizeValidatorSettings(settings.structured.validators, new Problems()),
          namespace: namespaceName(settings.namespacePrefix, "validators"),
        },
        { ...child, dependsOn: [this.namespaces.validators!] },
      );
    }
    if (site.services.includes("redis")) {
      // Already validated with the stack config (SITE_CONFIG_KEYS.redis.check); this only applies defaults.
      const redisSettings = normalizeRedisSettings(settings.structured.redis, new Problems());
      this.redis = new RedisSentinel(
        `${name}-redis`,
        {
          network,
          site,
          settings: redisSettings,
          namespace: namespaceName(settings.namespacePrefix, "data"),
          networkSettings: net,
        },
        { ...child, dependsOn: [this.namespaces.data!] },
      );
    }
    if (site.services.includes("postgres")) {
      // Validated with the stack config (SITE_CONFIG_KEYS.postgres.check); this applies defaults.
      const pgProblems = new Problems();
      const pgSettings = normalizePostgresSettings(
        settings.structured.postgres,
        network,
        site,
        pgProblems,
      );
      pgProblems.throwIfAny("drstack:postgres is invalid");
      this.postgres = new PatroniCluster(
        `${name}-postgres`,
        {
          site,
          settings: pgSettings,
          namespace: this.namespaces.data!.metadata.name,
          network: net,
        },
        { ...child, dependsOn: [this.namespaces.data!] },
      );
    }

    const backups = buildSiteProtection(
      name,
      {
        network,
        site,
        settings,
        backup: backupSettings,
        provider: this.provider,
        namespaces: this.namespaces,
        postgres: this.postgres?.facts,
        redis: this.redis?.facts,
      },
      this,
    );

    if (this.namespaces.backup) {
      new NetworkPolicy(
        `${name}-backup-netpol`,
        {
          metadata: {
            name: "drstack-backup-jobs",
            namespace: this.namespaces.backup.metadata.name,
            labels: siteLabels(site, "backup"),
          },
          spec: backupNetworkSpec({
            ...(this.namespaces.data
              ? { dataNamespace: namespaceName(settings.namespacePrefix, "data") }
              : {}),
            ...(this.postgres
              ? { postgresPodLabels: patroniPodLabels(this.postgres.facts.scope) }
              : {}),
            ...(this.redis ? { redisLabels: { "app.kubernetes.io/name": "redis" } } : {}),
            ports: {
              pgbackrest: PGBACKREST_TLS_PORT,
              redis: REDIS_PORT,
              pushgateway: urlPort(backupSettings.pushgateway, 9091),
            },
            network: net,
          }) as never,
        },
        { ...child, parent: this.namespaces.backup },
      );
    }

    new SiteMonitoring(
      `${name}-monitoring`,
      {
        provider: this.provider,
        labels: siteLabels(site, "monitoring"),
        monitoringNamespace: net.monitoringNamespace,
        ...(this.namespaces.data
          ? {
              data: {
                namespace: namespaceName(settings.namespacePrefix, "data"),
                ...(this.postgres
                  ? {
                      patroni: patroniPodLabels(this.postgres.facts.scope),
                      patroniTls: {
                        secret: serverTlsSecretName(this.postgres.facts.scope),
                        serverName: `${this.postgres.facts.scope}.${namespaceName(settings.namespacePrefix, "data")}.svc`,
                      },
                    }
                  : {}),
                ...(this.redis
                  ? { sentinels: { "app.kubernetes.io/name": "redis-sentinel" } }
                  : {}),
              },
            }
          : {}),
        ...(this.namespaces.validators
          ? { validators: { namespace: namespaceName(settings.namespacePrefix, "validators") } }
          : {}),
        ...(this.namespaces.backup
          ? {
              backup: {
                namespace: this.namespaces.backup.metadata.name,
                namespaceName: namespaceName(settings.namespacePrefix, "backup"),
                ...(backups.bucket ? { bucket: backups.bucket } : {}),
                serviceAccountAnnotations: backupSettings.serviceAccountAnnotations,
                ...(backupSettings.gcpProject ? { gcpProject: backupSettings.gcpProject } : {}),
              },
            }
          : {}),
      },
      { parent: this, dependsOn: Object.values(this.namespaces) },
    );

    this.facts = {
      site: site.name,
      role: site.role,
      cloud: site.cloud,
      region: site.region,
      zones: site.zones,
      namespaces: Object.fromEntries(
        namespaceRoles(site).map((r) => [r, namespaceName(settings.namespacePrefix, r)]),
      ),
      topologyConfigMap: `${namespaceName(settings.namespacePrefix, "system")}/${topologyName}`,
      regionVotingShare: mine ? formatPercent(mine.share) : "0%",
      ...(this.redis ? { redis: this.redis.facts } : {}),
      ...(this.validators ? { validators: this.validators.facts } : {}),
      ...(this.postgres ? { postgres: this.postgres.facts } : {}),
      backups,
    };
    this.registerOutputs({ facts: this.facts });
  }
}

function urlPort(url: string, fallback: number): number {
  try {
    const u = new URL(url);
    return u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  } catch {
    return fallback;
  }
}

function looksLikeContents(kubeconfig: string): boolean {
  return (
    kubeconfig.includes("\n") ||
    kubeconfig.trimStart().startsWith("{") ||
    kubeconfig.includes("apiVersion")
  );
}
