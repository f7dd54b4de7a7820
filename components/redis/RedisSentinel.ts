import * as crypto from "node:crypto";
import { StatefulSet } from "@pulumi/kubernetes/apps/v1/statefulSet";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import { Service } from "@pulumi/kubernetes/core/v1/service";
import { PodDisruptionBudget } from "@pulumi/kubernetes/policy/v1/podDisruptionBudget";
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword";
import { siteLabels } from "../site/labels";
import {
  DEFAULT_DNS_ZONE,
  internalLoadBalancerAnnotations,
  PRIVATE_RANGES,
} from "../site/loadBalancer";
import type { Network, Site } from "../topology/model";
import { renderRedisConfig, renderSentinelConfig } from "./render";
import { redisInitScript, REDIS_PORT, SENTINEL_PORT, sentinelInitScript, PATHS } from "./scripts";
import type { RedisSettings } from "./settings";
import {
  fqdn,
  PASSWORD_KEY,
  redisNames,
  redisStatefulSetSpec,
  sentinelStatefulSetSpec,
} from "./workloads";

export interface RedisSentinelArgs {
  readonly network: Network;
  readonly site: Site;
  /** Validated settings (`normalizeRedisSettings`). */
  readonly settings: RedisSettings;
  /** The data namespace's name (plain text: pod DNS names are rendered from it). */
  readonly namespace: string;
  /** Base name of the Kubernetes objects. Default `redis`. */
  readonly objectName?: string;
}

/** What a site exports about its Redis (a stack output; standby sites read it). */
export interface RedisFacts {
  readonly masterName: string;
  /** `primary` (own master), `replica` (follows the primary site), `independent` (standby with its own master). */
  readonly mode: "primary" | "replica" | "independent";
  /** Sentinel discovery `host:port` inside the site's cluster. */
  readonly sentinel: string;
  /** Pod 0 inside the site's cluster (the initial master). */
  readonly replicationEndpoint: { readonly host: string; readonly port: number };
  /** Where other sites replicate from (`drstack:redis` `endpoint`); absent when not configured. */
  readonly crossSiteEndpoint?: { readonly host: string; readonly port: number };
  readonly secretName: string;
  /** The Redis password (a Pulumi secret). */
  readonly password: pulumi.Output<string>;
}

/** The primary stack's `redis` output as a standby reads it. */
type UpstreamFacts = Omit<RedisFacts, "password"> & { readonly password: string };

/**
 * Redis (1 master + N replicas, AOF on PVCs) with an odd number of Sentinels, spread over the
 * site's zones, protected by PodDisruptionBudgets and one password. In a standby site it either
 * replicates the primary site's master (read from the primary stack's outputs) or runs as an
 * independent cluster.
 */
export class RedisSentinel extends pulumi.ComponentResource {
  readonly facts: RedisFacts;
  readonly password: pulumi.Output<string>;
  readonly redis: StatefulSet;
  readonly sentinels: StatefulSet;

  constructor(name: string, args: RedisSentinelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:redis:RedisSentinel", name, {}, opts);
    const { network, site, settings, namespace } = args;
    const child = { parent: this };
    const names = redisNames(args.objectName);
    const mode: RedisFacts["mode"] = site.role === "primary" ? "primary" : settings.standbyMode;

    let upstream: { host: pulumi.Output<string>; port: pulumi.Output<string> } | undefined;
    if (mode === "replica") {
      const primaryStack =
        settings.primaryStack ?? network.sites.find((s) => s.role === "primary")?.name ?? "primary";
      const ref = new pulumi.StackReference(`${name}-primary`, { name: primaryStack }, child);
      // A primary that exports no cross-site endpoint (not deployed yet, or no `endpoint` set: its
      // cluster DNS names mean nothing here) leaves UPSTREAM_HOST empty: the init container then
      // refuses to start rather than come up as a second master.
      const facts = ref.getOutput("redis").apply((r) => (r ?? {}) as Partial<UpstreamFacts>);
      upstream = {
        host: facts.apply((f) => f.crossSiteEndpoint?.host ?? ""),
        port: facts.apply((f) => String(f.crossSiteEndpoint?.port ?? REDIS_PORT)),
      };
      // Same password as the primary: the standby's pod 0 authenticates upstream with it, and
      // clients keep theirs after a failover.
      this.password = pulumi.secret(facts.apply((f) => f.password ?? ""));
    } else {
      this.password = new RandomPassword(
        `${name}-password`,
        { length: 32, special: false },
        child,
      ).result;
    }

    const secret = new Secret(
      `${name}-auth`,
      {
        metadata: { name: names.secret, namespace, labels: siteLabels(site, "redis") },
        type: "Opaque",
        stringData: { [PASSWORD_KEY]: pulumi.secret(this.password) },
      },
      { ...child, additionalSecretOutputs: ["data", "stringData"] },
    );

    const pod0 = `${names.redis}-0.${fqdn(names.redisHeadless, namespace)}`;
    const redisConf = renderRedisConfig(settings, {
      bind: "0.0.0.0",
      port: REDIS_PORT,
      dataDir: PATHS.data,
    });
    const sentinelConf = renderSentinelConfig(settings, {
      bind: "0.0.0.0",
      port: SENTINEL_PORT,
      dataDir: PATHS.run,
      hostnames: true,
      // A standby following the primary site has no local master to watch until it is promoted.
      ...(mode === "replica" ? {} : { master: { host: pod0, port: REDIS_PORT } }),
    });
    const redisCm = new ConfigMap(
      `${name}-config`,
      {
        metadata: { name: names.redisConfig, namespace, labels: siteLabels(site, "redis") },
        data: { "redis.conf": redisConf, "redis-init.sh": redisInitScript() },
      },
      child,
    );
    const sentinelCm = new ConfigMap(
      `${name}-sentinel-config`,
      {
        metadata: {
          name: names.sentinelConfig,
          namespace,
          labels: siteLabels(site, "redis-sentinel"),
        },
        data: {
          "sentinel.conf": sentinelConf,
          "sentinel-init.sh": sentinelInitScript(settings, mode !== "replica"),
        },
      },
      child,
    );

    const redisSel = {
      "app.kubernetes.io/name": "redis",
      "app.kubernetes.io/instance": names.redis,
    };
    const sentinelSel = {
      "app.kubernetes.io/name": "redis-sentinel",
      "app.kubernetes.io/instance": names.sentinel,
    };
    const redisLabels = { ...siteLabels(site, "redis"), ...redisSel };
    const sentinelLabels = { ...siteLabels(site, "redis-sentinel"), ...sentinelSel };
    const hash = (...texts: string[]) =>
      crypto.createHash("sha256").update(texts.join("\0")).digest("hex").slice(0, 16);

    const headless = (
      svcName: string,
      role: string,
      labels: Record<string, string>,
      selector: Record<string, string>,
      port: number,
      portName: string,
    ) =>
      new Service(
        `${name}-${role}`,
        {
          metadata: { name: svcName, namespace, labels },
          spec: {
            clusterIP: "None",
            publishNotReadyAddresses: true,
            selector,
            ports: [{ name: portName, port, targetPort: port }],
          },
        },
        child,
      );
    const redisSvc = headless(
      names.redisHeadless,
      "headless",
      redisLabels,
      redisSel,
      REDIS_PORT,
      "redis",
    );
    const sentinelHeadless = headless(
      names.sentinelHeadless,
      "sentinel-headless",
      sentinelLabels,
      sentinelSel,
      SENTINEL_PORT,
      "sentinel",
    );
    const sentinelSvc = new Service(
      `${name}-sentinel`,
      {
        metadata: { name: names.sentinel, namespace, labels: sentinelLabels },
        spec: {
          selector: sentinelSel,
          ports: [{ name: "sentinel", port: SENTINEL_PORT, targetPort: SENTINEL_PORT }],
        },
      },
      child,
    );

    const podArgs = { settings, names, namespace, mode };
    this.redis = new StatefulSet(
      `${name}-redis`,
      {
        metadata: { name: names.redis, namespace, labels: redisLabels },
        spec: redisStatefulSetSpec({
          ...podArgs,
          labels: redisLabels,
          selector: redisSel,
          configHash: hash(redisConf, redisInitScript()),
          ...(upstream ? { upstream } : {}),
        }) as never,
      },
      { ...child, dependsOn: [redisCm, secret, redisSvc] },
    );
    this.sentinels = new StatefulSet(
      `${name}-sentinels`,
      {
        metadata: { name: names.sentinel, namespace, labels: sentinelLabels },
        spec: sentinelStatefulSetSpec({
          ...podArgs,
          labels: sentinelLabels,
          selector: sentinelSel,
          configHash: hash(sentinelConf),
        }) as never,
      },
      { ...child, dependsOn: [sentinelCm, secret, sentinelHeadless, sentinelSvc] },
    );

    // One Redis pod down at a time (the others keep a master and a replica); sentinels keep a majority.
    new PodDisruptionBudget(
      `${name}-redis-pdb`,
      {
        metadata: { name: names.redis, namespace, labels: redisLabels },
        spec: { maxUnavailable: 1, selector: { matchLabels: redisSel } },
      },
      child,
    );
    new PodDisruptionBudget(
      `${name}-sentinel-pdb`,
      {
        metadata: { name: names.sentinel, namespace, labels: sentinelLabels },
        spec: { minAvailable: settings.quorum, selector: { matchLabels: sentinelSel } },
      },
      child,
    );

    // The primary publishes one cross-site endpoint: an internal load balancer over its Redis pods,
    // under a DNS name fixed in config. A standby replicating from a primary-site replica is a
    // chained replica, which Redis supports; it follows the site's failovers without reconfiguring.
    const crossSite =
      mode === "primary"
        ? (settings.endpoint ?? {
            host: `redis-${site.name}.${DEFAULT_DNS_ZONE}`,
            port: REDIS_PORT,
          })
        : settings.endpoint;
    if (mode === "primary" && crossSite) {
      new Service(
        `${name}-cross-site`,
        {
          metadata: {
            name: `${names.redis}-cross-site`,
            namespace,
            labels: { ...redisLabels, "drstack.io/endpoint": "replication" },
            annotations: internalLoadBalancerAnnotations(site.cloud, crossSite.host),
          },
          spec: {
            type: "LoadBalancer",
            selector: redisSel,
            ports: [{ name: "redis", port: crossSite.port, targetPort: REDIS_PORT }],
            loadBalancerSourceRanges: [...PRIVATE_RANGES],
          },
        },
        child,
      );
    }

    this.facts = {
      masterName: settings.masterName,
      mode,
      sentinel: `${fqdn(names.sentinel, namespace)}:${SENTINEL_PORT}`,
      replicationEndpoint: { host: pod0, port: REDIS_PORT },
      ...(crossSite ? { crossSiteEndpoint: crossSite } : {}),
      secretName: `${namespace}/${names.secret}`,
      password: pulumi.secret(this.password),
    };
    this.registerOutputs({ facts: this.facts, password: this.facts.password });
  }
}
