/**
 * Pure rendering for the validators of one site: party hosting, each validator's configuration
 * document, labels, and the Kubernetes object specs the ValidatorSet turns into resources.
 */
import { siteLabels } from "../shared/labels";
import type { Network, Site, Validator } from "../topology/model";
import {
  PARTIES_ANNOTATION,
  VALIDATOR_COMPONENT,
  VALIDATOR_LABEL,
  VOTING_POWER_ANNOTATION,
  ZONE_LABEL,
} from "./labels";
import { keySecretName, type ValidatorSettings } from "./settings";

export interface PartyHosting {
  readonly party: string;
  readonly threshold: number;
  /** Validators hosting the party, in topology order. */
  readonly hosts: readonly string[];
  /** Hosts that may be down while the party can still confirm (`hosts - threshold`). */
  readonly toleratedFailures: number;
}

/** Which validators host which party, with the confirmation threshold. */
export function partyHosting(network: Pick<Network, "parties" | "validators">): PartyHosting[] {
  return network.parties.map((p) => {
    const hosts = network.validators.filter((v) => v.parties.includes(p.name)).map((v) => v.name);
    return {
      party: p.name,
      threshold: p.threshold,
      hosts,
      toleratedFailures: Math.max(0, hosts.length - p.threshold),
    };
  });
}

/** The configuration document one validator reads (`/etc/validator/config/validator.json`). */
export interface ValidatorConfig {
  readonly network: string;
  readonly validator: string;
  readonly site: string;
  readonly region: string;
  readonly zone: string;
  readonly votingPower: number;
  /** Parties this validator hosts, each with its threshold and its co-hosts. */
  readonly parties: readonly { name: string; threshold: number; hosts: readonly string[] }[];
  /** Every other validator of the network, for peering. */
  readonly peers: readonly { name: string; site: string; zone: string }[];
  readonly ports: ValidatorSettings["ports"];
  /** Where the key Secret is mounted (the key itself is never in the config). */
  readonly keyDir: string;
  readonly dataDir: string;
}

export const PATHS = {
  config: "/etc/validator/config",
  keys: "/etc/validator/keys",
  data: "/var/lib/validator",
} as const;

export function renderValidatorConfig(
  network: Network,
  validator: Validator,
  settings: Pick<ValidatorSettings, "ports">,
): ValidatorConfig {
  const site = network.sites.find((s) => s.name === validator.site);
  const hosting = partyHosting(network);
  return {
    network: network.name,
    validator: validator.name,
    site: validator.site,
    region: site?.region ?? "",
    zone: validator.zone,
    votingPower: validator.votingPower,
    parties: hosting
      .filter((h) => h.hosts.includes(validator.name))
      .map((h) => ({ name: h.party, threshold: h.threshold, hosts: h.hosts })),
    peers: network.validators
      .filter((v) => v.name !== validator.name)
      .map((v) => ({ name: v.name, site: v.site, zone: v.zone })),
    ports: settings.ports,
    keyDir: PATHS.keys,
    dataDir: PATHS.data,
  };
}

/** Labels selecting one validator's pod. */
export function validatorSelector(validator: Validator): Record<string, string> {
  return { "app.kubernetes.io/component": VALIDATOR_COMPONENT, [VALIDATOR_LABEL]: validator.name };
}

/** Every label of a validator's workload and pod: site, region, zone, component, name. */
export function validatorLabels(site: Site, validator: Validator): Record<string, string> {
  return {
    ...siteLabels(site, VALIDATOR_COMPONENT),
    "app.kubernetes.io/name": "validator",
    "app.kubernetes.io/instance": validator.name,
    [VALIDATOR_LABEL]: validator.name,
    [ZONE_LABEL]: validator.zone,
  };
}

export function validatorAnnotations(validator: Validator): Record<string, string> {
  return {
    [VOTING_POWER_ANNOTATION]: String(validator.votingPower),
    [PARTIES_ANNOTATION]: validator.parties.join(","),
  };
}

/** Plain StatefulSet spec for one validator: 1 replica, pinned to its zone, restricted pod. */
export function validatorStatefulSetSpec(
  site: Site,
  validator: Validator,
  settings: ValidatorSettings,
  opts: { serviceName: string; configMap: string },
) {
  const labels = validatorLabels(site, validator);
  const { ports } = settings;
  return {
    // Never more than one: a second replica would sign with the same key. With one replica,
    // a rolling update deletes the old pod before it starts the new one.
    replicas: 1,
    serviceName: opts.serviceName,
    podManagementPolicy: "OrderedReady",
    updateStrategy: { type: "RollingUpdate" },
    selector: { matchLabels: validatorSelector(validator) },
    template: {
      metadata: { labels, annotations: validatorAnnotations(validator) },
      spec: {
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 60,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 10001,
          runAsGroup: 10001,
          fsGroup: 10001,
          seccompProfile: { type: "RuntimeDefault" },
        },
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [{ key: ZONE_LABEL, operator: "In", values: [validator.zone] }],
                },
              ],
            },
          },
        },
        containers: [
          {
            name: "validator",
            image: settings.image,
            args: ["start", `--home=${PATHS.data}`],
            env: [
              { name: "VALIDATOR_NAME", value: validator.name },
              { name: "VALIDATOR_CONFIG", value: `${PATHS.config}/validator.json` },
              { name: "VALIDATOR_KEY_DIR", value: PATHS.keys },
            ],
            ports: [
              { name: "p2p", containerPort: ports.p2p },
              { name: "rpc", containerPort: ports.rpc },
              { name: "metrics", containerPort: ports.metrics },
            ],
            resources: {
              requests: { cpu: settings.resources.cpu, memory: settings.resources.memory },
              limits: { memory: settings.resources.memory },
            },
            startupProbe: { tcpSocket: { port: "rpc" }, periodSeconds: 10, failureThreshold: 60 },
            readinessProbe: {
              httpGet: { path: "/status", port: "rpc" },
              periodSeconds: 10,
              failureThreshold: 3,
            },
            livenessProbe: { tcpSocket: { port: "p2p" }, periodSeconds: 20, failureThreshold: 6 },
            securityContext: {
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ["ALL"] },
              seccompProfile: { type: "RuntimeDefault" },
            },
            volumeMounts: [
              { name: "data", mountPath: PATHS.data },
              { name: "keys", mountPath: PATHS.keys, readOnly: true },
              { name: "config", mountPath: PATHS.config, readOnly: true },
              { name: "tmp", mountPath: "/tmp" },
            ],
          },
        ],
        volumes: [
          // Key material only by reference: an existing Secret, never created by drstack.
          {
            name: "keys",
            secret: { secretName: keySecretName(settings, validator.name), defaultMode: 0o400 },
          },
          { name: "config", configMap: { name: opts.configMap } },
          { name: "tmp", emptyDir: {} },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "data", labels: validatorSelector(validator) },
        spec: {
          accessModes: ["ReadWriteOnce"],
          ...(settings.storage.storageClass
            ? { storageClassName: settings.storage.storageClass }
            : {}),
          resources: { requests: { storage: settings.storage.size } },
        },
      },
    ],
  };
}
