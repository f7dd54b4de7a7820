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
import { StorageClass } from "@pulumi/kubernetes/storage/v1/storageClass";
import {
  backupBuckets,
  buildManagedCluster,
  GkeCluster,
  type SiteCluster,
  STORAGE_CLASS_NAME,
  storageClassSpec,
  type WorkloadIdentity,
} from "../clusters";

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
  /** Present when the stack creates the site's cluster: its name, cloud and StorageClass. */
  readonly cluster?: {
    readonly name: string;
    readonly kind: "eks" | "gke";
    readonly storageClass: string;
  };
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
  /** Present when the stack creates the site's cluster (`kubernetes.managed`). */
  readonly cluster?: SiteCluster;

  private providerAccess(
    name: string,
    stackKubeconfig: string | undefined,
    site: Site,
  ): ReturnType<typeof providerAccessFor> {
    return providerAccessFor(this, name, stackKubeconfig, site, this.cluster);
  }

  constructor(name: string, args: DrSiteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:site:DrSite", name, {}, opts);
    const { network, site, settings } = args;
    const backupSettings = siteBackupSettings(site, settings);
    // Validated with the stack config (SITE_CONFIG_KEYS.postgres.check); this applies defaults.
    const pgProblems = new Problems();
    const pgSettings = site.services.includes("postgres")
      ? normalizePostgresSettings(settings.structured.postgres, network, site, pgProblems)
      : undefined;
    pgProblems.throwIfAny("drstack:postgres is invalid");

    // A managed site: the stack creates the cluster, and the workloads that reach the backup
    // buckets get its cloud identity (no static keys).
    const workloads: WorkloadIdentity[] = [
      ...(site.services.includes("backup")
        ? [
            {
              namespace: namespaceName(settings.namespacePrefix, "backup"),
              serviceAccount: "drstack-backup",
            },
          ]
        : []),
      ...(pgSettings
        ? [
            {
              namespace: namespaceName(settings.namespacePrefix, "data"),
              serviceAccount: `${pgSettings.scope}-patroni`,
            },
          ]
        : []),
    ];
    this.cluster = buildManagedCluster(
      name,
      {
        networkName: network.name,
        site,
        workloads,
        buckets: site.services.includes("backup")
          ? backupBuckets(network.name, site, backupSettings)
          : [],
        labels: siteLabels(site, "cluster"),
      },
      this,
    );
    this.provider = new Provider(
      `${name}-k8s`,
      { ...this.providerAccess(name, settings.kubeconfig, site), enableServerSideApply: true },
      { parent: this, ...(this.cluster ? { dependsOn: [...this.cluster.ready] } : {}) },
    );
    const child = { parent: this, provider: this.provider };
    const identity = this.cluster?.identityAnnotations;
    let storageClass: StorageClass | undefined;
    if (this.cluster) {
      storageClass = new StorageClass(
        `${name}-storage-class`,
        {
          metadata: {
            name: STORAGE_CLASS_NAME,
            labels: siteLabels(site, "cluster"),
            annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
          },
          ...storageClassSpec(site.cloud),
        },
        child,
      );
    }

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
    if (pgSettings) {
      this.postgres = new PatroniCluster(
        `${name}-postgres`,
        {
          site,
          settings: pgSettings,
          namespace: this.namespaces.data!.metadata.name,
          network: net,
          ...(identity ? { serviceAccountAnnotations: identity } : {}),
        },
        { ...child, dependsOn: [this.namespaces.data!, ...(storageClass ? [storageClass] : [])] },
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
        ...(identity ? { identityAnnotations: identity } : {}),
        onBucket: (bucket) => {
          if (this.cluster?.component instanceof GkeCluster)
            this.cluster.component.grantBucketAccess([bucket]);
        },
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
      ...(this.cluster
        ? {
            cluster: {
              name: this.cluster.component.clusterName,
              kind: site.cloud === "aws" ? ("eks" as const) : ("gke" as const),
              storageClass: STORAGE_CLASS_NAME,
            },
          }
        : {}),
    };
    this.registerOutputs({ facts: this.facts });
  }
}

/** Where the site's Kubernetes provider gets its access: the created cluster, or bring-your-own. */
function providerAccessFor(
  component: DrSite,
  name: string,
  stackKubeconfig: string | undefined,
  site: Site,
  cluster: SiteCluster | undefined,
): { context?: string; kubeconfig?: pulumi.Input<string> } {
  if (cluster) return { kubeconfig: cluster.kubeconfig };
  const k = site.kubernetes;
  const context = k.context ? { context: k.context } : {};
  if (k.stackOutput && stackKubeconfig === undefined) {
    const ref = new pulumi.StackReference(
      `${name}-kubeconfig`,
      { name: k.stackOutput.stack },
      { parent: component },
    );
    return {
      ...context,
      kubeconfig: pulumi.secret(ref.requireOutput(k.stackOutput.output).apply(String)),
    };
  }
  const kubeconfig = stackKubeconfig ?? k.kubeconfig;
  return {
    ...context,
    ...(kubeconfig
      ? { kubeconfig: looksLikeContents(kubeconfig) ? pulumi.secret(kubeconfig) : kubeconfig }
      : {}),
  };
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
