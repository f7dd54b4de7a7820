/**
 * `drstack:postgres:PatroniCluster`: Patroni PostgreSQL on a site's Kubernetes cluster. A primary
 * site runs the writable cluster and exports its replication endpoint; a standby site follows it
 * as a Patroni standby cluster, reading the endpoint through a StackReference to the primary's
 * stack. Thin: every file and spec comes from the pure functions of this folder.
 */
import * as crypto from "node:crypto";
import { StatefulSet } from "@pulumi/kubernetes/apps/v1/statefulSet";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { NetworkPolicy } from "@pulumi/kubernetes/networking/v1/networkPolicy";
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import { Service } from "@pulumi/kubernetes/core/v1/service";
import { ServiceAccount } from "@pulumi/kubernetes/core/v1/serviceAccount";
import { PodDisruptionBudget } from "@pulumi/kubernetes/policy/v1/podDisruptionBudget";
import { Role } from "@pulumi/kubernetes/rbac/v1/role";
import { RoleBinding } from "@pulumi/kubernetes/rbac/v1/roleBinding";
import type * as k8s from "@pulumi/kubernetes/types/input";
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword";
import { postgresNetworkSpec } from "../network/policies";
import { DEFAULT_NETWORK, type NetworkSettings } from "../network/settings";
import { backupNamespaceLabels, siteLabels } from "../shared/labels";
import type { Site } from "../topology/model";
import {
  APP_DATABASE,
  internalLoadBalancerAnnotations,
  kubernetesPatroniEnvironment,
  PATRONI_FILE,
  PATRONI_PORT,
  patroniPodLabels,
  patroniRbacRules,
  PGBACKREST_FILE,
  PGBACKREST_PRIMARY_FILE,
  POST_INIT_FILE,
  POSTGRES_PORT,
  type PrimaryEndpoint,
  primaryRepoPgBackRestSpec,
  sitePgBackRestSpec,
  USERS,
} from "./kubernetes";
import { renderPatroniConfig, renderPostInitScript } from "./patroni";
import { renderPgBackRestConfig } from "./pgbackrest";
import {
  credentialsFromOutputs,
  primaryFromOutputs,
  rolePasswords,
  type PostgresFacts,
  type PostgresSecrets,
  type RolePasswords,
} from "./facts";
import { PgBackRestTls } from "./PgBackRestTls";
import {
  PGBACKREST_TLS_PORT,
  pgBackRestTlsPlan,
  podTlsServerSpec,
  serverTlsSecretName,
} from "./tls";
import type { BackupRepoArgs, PostgresSettings } from "./settings";
import { patroniStatefulSetSpec, SECRET_KEYS } from "./workload";

export interface PatroniClusterArgs {
  readonly site: Site;
  /** Normalized settings (`normalizePostgresSettings`). */
  readonly settings: PostgresSettings;
  /** Namespace of the cluster (the site's `data` namespace). */
  readonly namespace: pulumi.Input<string>;
  /** The site's backup repository. Default: `settings.backup` (from `drstack:postgres.backup`). */
  readonly backup?: BackupRepoArgs;
  /** Annotations of the ServiceAccount (IRSA role / GKE workload identity for the bucket). Default none. */
  readonly serviceAccountAnnotations?: Readonly<Record<string, pulumi.Input<string>>>;
  /** What the NetworkPolicy lets in and out beyond the cluster's pods (`drstack:networkPolicy`). Default {@link DEFAULT_NETWORK}. */
  readonly network?: NetworkSettings;
}

export { backupNamespaceLabels };

export class PatroniCluster extends pulumi.ComponentResource {
  /** Stack output of the site: endpoint, repository, and (secret) credentials. */
  readonly facts: PostgresFacts;
  readonly statefulSet: StatefulSet;
  readonly configMap: ConfigMap;

  constructor(name: string, args: PatroniClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:postgres:PatroniCluster", name, {}, opts);
    const { site } = args;
    const settings: PostgresSettings = {
      ...args.settings,
      backup: args.backup ?? args.settings.backup,
    };
    const child = { parent: this };
    const standby = site.role !== "primary";
    const scope = settings.scope;
    const labels = { ...siteLabels(site, "postgres"), ...patroniPodLabels(scope) };
    const meta = (n: string, extra: Record<string, string> = {}) => ({
      name: n,
      namespace: args.namespace,
      labels: { ...labels, ...extra },
    });

    // Credentials: the role passwords are generated once, by the network's credentials site
    // (`credentialsSite`, by default the primary), and every other site uses them: a
    // standby's data (roles included) is a copy of the primary's, and a promoted site keeps the
    // passwords its data was created with. Each site has its own repository passphrase.
    const password = (role: string, length = 32) =>
      new RandomPassword(`${name}-${role}`, { length, special: false }, child).result;
    const cipherPass = password("backup-cipher", 64);
    // Basic auth of this site's Patroni REST API (each site its own; never leaves the Secret).
    const restApiPass = password("restapi-password");
    let primary: pulumi.Output<PrimaryEndpoint> | undefined;
    let theirs: pulumi.Output<PostgresSecrets> | undefined;
    if (standby) {
      const ref = new pulumi.StackReference(
        `${name}-primary-stack`,
        { name: settings.primaryStack },
        child,
      );
      const facts = ref
        .getOutput("postgres")
        .apply((v) => primaryFromOutputs(v, settings.primaryStack));
      primary = facts.apply((f) => f.endpoint);
      theirs = pulumi.secret(facts.apply((f) => f.secrets));
    }
    let roles: pulumi.Output<RolePasswords>;
    if (settings.generatesCredentials) {
      roles = pulumi
        .all([
          password("superuser-password"),
          password("replication-password"),
          password("rewind-password"),
          password("app-password"),
        ])
        .apply(([superuser, replication, rewind, app]) => ({
          superuser,
          replication,
          rewind,
          app,
        }));
    } else if (theirs && settings.credentialsStack === settings.primaryStack) {
      roles = theirs.apply(rolePasswords);
    } else {
      const ref = new pulumi.StackReference(
        `${name}-credentials-stack`,
        { name: settings.credentialsStack },
        child,
      );
      roles = ref
        .getOutput("postgres")
        .apply((v) => credentialsFromOutputs(v, settings.credentialsStack));
    }
    const secrets: pulumi.Output<PostgresSecrets> = pulumi.secret(
      pulumi.all([roles, cipherPass]).apply(([r, cipher]) => ({ ...r, cipherPass: cipher })),
    );
    const secret = new Secret(
      `${name}-credentials`,
      {
        metadata: meta(`${scope}-credentials`),
        type: "Opaque",
        stringData: pulumi.all([secrets, theirs, restApiPass]).apply(([s, t, rest]) => ({
          [SECRET_KEYS.restApi]: rest,
          [SECRET_KEYS.superuser]: s.superuser,
          [SECRET_KEYS.replication]: s.replication,
          [SECRET_KEYS.rewind]: s.rewind,
          [SECRET_KEYS.app]: s.app,
          [SECRET_KEYS.cipherPass]: s.cipherPass,
          ...(t ? { [SECRET_KEYS.primaryCipherPass]: t.cipherPass } : {}),
        })),
      },
      { ...child, additionalSecretOutputs: ["data", "stringData"] },
    );

    const sa = new ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          ...meta(`${scope}-patroni`),
          annotations: { ...args.serviceAccountAnnotations },
        },
      },
      child,
    );
    const role = new Role(
      `${name}-role`,
      {
        metadata: meta(`${scope}-patroni`),
        rules: patroniRbacRules(true).map((r) => ({
          ...r,
          apiGroups: [...r.apiGroups],
          resources: [...r.resources],
          verbs: [...r.verbs],
        })),
      },
      child,
    );
    new RoleBinding(
      `${name}-rolebinding`,
      {
        metadata: meta(`${scope}-patroni`),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: args.namespace }],
      },
      child,
    );

    // The cluster's server certificate from the site CA: the pgBackRest TLS server the backup jobs
    // reach the database through, Patroni's HTTPS REST API and PostgreSQL's TLS.
    const headlessName = `${scope}-members`;
    const tlsPlan = pulumi.output(args.namespace).apply((ns) =>
      pgBackRestTlsPlan({
        scope,
        namespace: ns,
        headlessService: headlessName,
        site: site.name,
        // Other sites' standbys reach PostgreSQL by this name (sslmode=verify-full).
        extraDnsNames: [settings.replicationHost],
      }),
    );
    const tls = new PgBackRestTls(
      `${name}-pgbackrest-tls`,
      { plan: tlsPlan, namespace: args.namespace, labels },
      child,
    );

    // Configuration: one ConfigMap for every pod (per-pod values come from the environment).
    const files = pulumi.all([args.namespace, primary, tlsPlan]).apply(([ns, p, plan]) => ({
      [PATRONI_FILE]: renderPatroniConfig(settings, kubernetesPatroniEnvironment(settings, ns, p)),
      [PGBACKREST_FILE]: renderPgBackRestConfig(
        sitePgBackRestSpec(settings, podTlsServerSpec(plan)),
      ),
      ...(p
        ? { [PGBACKREST_PRIMARY_FILE]: renderPgBackRestConfig(primaryRepoPgBackRestSpec(p)) }
        : {}),
      [POST_INIT_FILE]: renderPostInitScript(USERS.app, APP_DATABASE),
    }));
    this.configMap = new ConfigMap(
      `${name}-config`,
      { metadata: meta(`${scope}-config-files`), data: files },
      child,
    );

    // Services: the primary follows the leader lock (Patroni writes its Endpoints), replicas by label.
    const port = (n: string, p: number) => ({ name: n, port: p, targetPort: p, protocol: "TCP" });
    new Service(
      `${name}-primary`,
      {
        metadata: meta(scope, { "drstack.io/endpoint": "primary" }),
        spec: {
          type: "ClusterIP",
          ports: [port("postgresql", POSTGRES_PORT), port("pgbackrest", PGBACKREST_TLS_PORT)],
        },
      },
      child,
    );
    new Service(
      `${name}-dcs-config`,
      { metadata: meta(`${scope}-config`), spec: { clusterIP: "None" } },
      child,
    );
    new Service(
      `${name}-replicas`,
      {
        metadata: meta(`${scope}-replicas`, { "drstack.io/endpoint": "replicas" }),
        spec: {
          type: "ClusterIP",
          selector: { ...patroniPodLabels(scope), role: "replica" },
          ports: [port("postgresql", POSTGRES_PORT)],
        },
      },
      child,
    );
    const headless = new Service(
      `${name}-members`,
      {
        metadata: meta(headlessName),
        spec: {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: patroniPodLabels(scope),
          ports: [
            port("postgresql", POSTGRES_PORT),
            port("patroni", PATRONI_PORT),
            port("pgbackrest", PGBACKREST_TLS_PORT),
          ],
        },
      },
      child,
    );
    // Other sites replicate from the leader through an internal load balancer with a DNS name.
    const replication = new Service(
      `${name}-replication`,
      {
        metadata: {
          ...meta(`${scope}-replication`, { "drstack.io/endpoint": "replication" }),
          annotations: internalLoadBalancerAnnotations(site.cloud, settings.replicationHost),
        },
        spec: {
          type: "LoadBalancer",
          selector: { ...patroniPodLabels(scope), role: "master" },
          ports: [port("postgresql", POSTGRES_PORT)],
          loadBalancerSourceRanges: [...settings.replicationSourceRanges],
        },
      },
      child,
    );

    // The namespace denies everything by default (DrSite); this is every way in and out of the
    // Patroni pods (components/network/policies.ts).
    new NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: meta(`${scope}-network`),
        spec: postgresNetworkSpec({
          podLabels: patroniPodLabels(scope),
          backupNamespaceLabels: backupNamespaceLabels(site),
          siteRanges: settings.replicationSourceRanges,
          ports: {
            postgres: POSTGRES_PORT,
            patroni: PATRONI_PORT,
            pgbackrest: PGBACKREST_TLS_PORT,
          },
          network: args.network ?? DEFAULT_NETWORK,
        }) as never,
      },
      child,
    );

    const configHash = files.apply((f) =>
      crypto.createHash("sha256").update(JSON.stringify(f)).digest("hex").slice(0, 16),
    );
    const selector = patroniPodLabels(scope);
    const names = {
      scope,
      serviceAccount: `${scope}-patroni`,
      configMap: `${scope}-config-files`,
      secret: `${scope}-credentials`,
      tlsSecret: serverTlsSecretName(scope),
      headlessService: headlessName,
      selector,
      podLabels: labels,
      zones: site.zones,
      standby,
    };
    this.statefulSet = new StatefulSet(
      `${name}-patroni`,
      {
        metadata: meta(scope),
        spec: pulumi.all([configHash, args.namespace]).apply(
          ([hash, ns]) =>
            patroniStatefulSetSpec(settings, {
              ...names,
              namespace: ns,
              configHash: hash,
            }) as unknown as k8s.apps.v1.StatefulSetSpec,
        ),
      },
      { ...child, dependsOn: [role, sa, secret, this.configMap, headless, tls] },
    );
    new PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: meta(`${scope}-pdb`),
        spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
      },
      child,
    );

    const ingress = replication.status.apply((s) => s?.loadBalancer?.ingress?.[0]);
    this.facts = {
      scope,
      stanza: scope,
      role: site.role,
      members: settings.members,
      synchronousMode: settings.synchronousMode,
      replicationHost: settings.replicationHost,
      port: POSTGRES_PORT,
      replicationAddress: ingress.apply((i) => i?.hostname ?? i?.ip ?? ""),
      primaryService: pulumi.interpolate`${args.namespace}/${scope}`,
      replicasService: pulumi.interpolate`${args.namespace}/${scope}-replicas`,
      repo: settings.backup,
      ...(standby
        ? { follows: settings.primaryStack, standbyHost: primary!.apply((p) => p.host) }
        : {}),
      secrets,
      pgbackrestTls: tls.client,
    };
    this.registerOutputs({ facts: this.facts });
  }
}
