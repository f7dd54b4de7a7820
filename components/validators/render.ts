/**
 * Pure rendering for the validators of one site: party hosting, labels, and the Kubernetes
 * object specs the ValidatorSet turns into resources (the CometBFT home itself: cometbft.ts,
 * keys.ts, home.ts).
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
import { HOME } from "./cometbft";
import { INIT_ENV, INIT_SOURCES, initHomeScript } from "./home";
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

export const PATHS = {
  config: INIT_SOURCES.config,
  keys: INIT_SOURCES.keys,
  data: HOME,
} as const;

/** What the init container checks a validator's key Secret and genesis against. */
export interface HomeExpectations {
  /** Upper-hex address of the validator's consensus key (network file), "" when absent. */
  readonly address: string;
  /** Node ID of the validator's node key (network file), "" when absent. */
  readonly nodeId: string;
  /** sha256 (hex) of the genesis.json in the ConfigMap. */
  readonly genesisSha256: string;
}

const RESTRICTED = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

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
  opts: { serviceName: string; configMap: string; expect: HomeExpectations },
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
        initContainers: [
          {
            name: "home",
            image: settings.image,
            command: ["sh", "-c", initHomeScript()],
            env: [
              { name: INIT_ENV.home, value: HOME },
              { name: INIT_ENV.address, value: opts.expect.address },
              { name: INIT_ENV.nodeId, value: opts.expect.nodeId },
              { name: INIT_ENV.genesisSha256, value: opts.expect.genesisSha256 },
            ],
            resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "64Mi" } },
            securityContext: RESTRICTED,
            volumeMounts: [
              { name: "data", mountPath: HOME },
              { name: "keys", mountPath: PATHS.keys, readOnly: true },
              { name: "config", mountPath: PATHS.config, readOnly: true },
            ],
          },
        ],
        containers: [
          {
            name: "validator",
            image: settings.image,
            args: ["start", "--home", HOME],
            // The cometbft image's entrypoint runs `cometbft init` into $CMTHOME when
            // $CMTHOME/config is missing; pointing it at the assembled home skips that.
            env: [{ name: "CMTHOME", value: HOME }],
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
            securityContext: RESTRICTED,
            volumeMounts: [
              { name: "data", mountPath: HOME },
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
