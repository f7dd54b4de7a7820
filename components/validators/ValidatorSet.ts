import { StatefulSet } from "@pulumi/kubernetes/apps/v1/statefulSet";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { Service } from "@pulumi/kubernetes/core/v1/service";
import { NetworkPolicy } from "@pulumi/kubernetes/networking/v1/networkPolicy";
import { PodDisruptionBudget } from "@pulumi/kubernetes/policy/v1/podDisruptionBudget";
import * as pulumi from "@pulumi/pulumi";
import { siteLabels } from "../shared/labels";
import type { Network, Site } from "../topology/model";
import { VALIDATOR_COMPONENT } from "./labels";
import { createHash } from "node:crypto";
import { configToml, renderGenesis, renderValidatorToml } from "./cometbft";
import { nodeId, validatorAddress } from "./keys";
import {
  validatorAnnotations,
  validatorLabels,
  validatorSelector,
  validatorStatefulSetSpec,
} from "./render";
import { keySecretName, type ValidatorSettings } from "./settings";

export interface ValidatorSetArgs {
  readonly network: Network;
  readonly site: Site;
  /** Validated settings (`normalizeValidatorSettings`). */
  readonly settings: ValidatorSettings;
  /** The validators namespace's name. */
  readonly namespace: pulumi.Input<string>;
  /**
   * An existing chain's genesis.json text (`chain.genesis` of the network file, its sha256
   * already checked). Default: rendered from the network file.
   */
  readonly genesis?: string;
}

/** What a site exports about its validators (a stack output). */
export interface ValidatorFacts {
  readonly validators: readonly {
    name: string;
    zone: string;
    votingPower: number;
    keySecret: string;
  }[];
  /** The gateway Service (in the validators namespace). */
  readonly gateway: { readonly service: string; readonly type: string; readonly port: number };
}

/**
 * The validators of one site: per validator a StatefulSet with exactly one replica pinned to its
 * zone, its state volume, its configuration (party hosting rendered by a pure function) and a
 * NetworkPolicy; one PodDisruptionBudget over the site's validators (at most one voluntarily
 * disrupted at a time; the eviction API refuses pods covered by two budgets, so not one per
 * validator); a headless Service for stable pod names; a gateway Service in front of them.
 * Key material is only mounted from existing Secrets (`settings.keySecret`).
 */
export class ValidatorSet extends pulumi.ComponentResource {
  readonly statefulSets: Record<string, StatefulSet> = {};
  readonly gateway: Service;
  readonly facts: ValidatorFacts;

  constructor(name: string, args: ValidatorSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:validators:ValidatorSet", name, {}, opts);
    const { network, site, settings, namespace } = args;
    const child = { parent: this };
    const validators = network.validators.filter((v) => v.site === site.name);
    const common = siteLabels(site, VALIDATOR_COMPONENT);
    const siteSelector = {
      "app.kubernetes.io/component": VALIDATOR_COMPONENT,
      "drstack.io/site": site.name,
    };
    const { ports } = settings;

    const headless = new Service(
      `${name}-headless`,
      {
        metadata: { name: "validators", namespace, labels: common },
        spec: {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: siteSelector,
          ports: [{ name: "p2p", port: ports.p2p, targetPort: "p2p" }],
        },
      },
      child,
    );

    new PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { name: "validators", namespace, labels: common },
        spec: { maxUnavailable: 1, selector: { matchLabels: siteSelector } },
      },
      child,
    );

    // Every stack renders the same genesis from the network file (or uses the operator's).
    const genesisJson = args.genesis ?? JSON.stringify(renderGenesis(network), null, 2) + "\n";
    const genesisSha256 = createHash("sha256").update(genesisJson).digest("hex");
    for (const v of validators) {
      const labels = validatorLabels(site, v);
      const config = new ConfigMap(
        `${name}-${v.name}-config`,
        {
          metadata: { name: `${v.name}-config`, namespace, labels },
          data: {
            "config.toml": configToml(renderValidatorToml(network, v, settings)),
            "genesis.json": genesisJson,
          },
        },
        child,
      );
      this.statefulSets[v.name] = new StatefulSet(
        `${name}-${v.name}`,
        {
          metadata: { name: v.name, namespace, labels, annotations: validatorAnnotations(v) },
          spec: validatorStatefulSetSpec(site, v, settings, {
            serviceName: "validators",
            configMap: `${v.name}-config`,
            expect: {
              address: v.keys ? validatorAddress(v.keys.validator) : "",
              nodeId: v.keys ? nodeId(v.keys.node) : "",
              genesisSha256,
            },
          }),
        },
        { ...child, dependsOn: [config, headless] },
      );
      new NetworkPolicy(
        `${name}-${v.name}-netpol`,
        {
          metadata: {
            name: `${v.name}`,
            namespace,
            labels,
            ...(settings.p2pSourceRanges.some((c) => c === "0.0.0.0/0" || c === "::/0")
              ? {
                  annotations: {
                    "drstack.io/public-ingress": "CometBFT P2P from peers of other sites",
                  },
                }
              : {}),
          },
          spec: {
            podSelector: { matchLabels: validatorSelector(v) },
            policyTypes: ["Ingress", "Egress"],
            // Outbound P2P: every namespace denies egress by default (DNS aside), and CometBFT
            // dials its persistent_peers itself; peers sit in the same ranges as inbound P2P.
            egress: [
              {
                to: [
                  ...settings.p2pSourceRanges.map((cidr) => ({ ipBlock: { cidr } })),
                  { podSelector: { matchLabels: siteSelector } },
                ],
                ports: [{ protocol: "TCP", port: ports.p2p }],
              },
            ],
            ingress: [
              // P2P from peers (other sites' validators are outside the cluster).
              // (ipBlock is for addresses outside the cluster: the site's own validators by label.)
              {
                from: [
                  ...settings.p2pSourceRanges.map((cidr) => ({ ipBlock: { cidr } })),
                  { podSelector: { matchLabels: siteSelector } },
                ],
                ports: [{ protocol: "TCP", port: ports.p2p }],
              },
              // RPC and metrics only from inside drstack's namespaces (the gateway, monitoring).
              {
                from: [
                  {
                    namespaceSelector: { matchLabels: { "app.kubernetes.io/part-of": "drstack" } },
                  },
                ],
                ports: [
                  { protocol: "TCP", port: ports.rpc },
                  { protocol: "TCP", port: ports.metrics },
                ],
              },
            ],
          },
        },
        child,
      );
    }

    const gatewayName = "validators-gateway";
    this.gateway = new Service(
      `${name}-gateway`,
      {
        metadata: {
          name: gatewayName,
          namespace,
          labels: { ...common, "app.kubernetes.io/name": "validator-gateway" },
        },
        spec: {
          type: settings.gateway.type,
          selector: siteSelector,
          ports: [{ name: "rpc", port: ports.rpc, targetPort: "rpc" }],
          ...(settings.gateway.type === "LoadBalancer" && settings.gateway.sourceRanges.length > 0
            ? { loadBalancerSourceRanges: [...settings.gateway.sourceRanges] }
            : {}),
        },
      },
      child,
    );

    this.facts = {
      validators: validators.map((v) => ({
        name: v.name,
        zone: v.zone,
        votingPower: v.votingPower,
        keySecret: keySecretName(settings, v.name),
      })),
      gateway: { service: gatewayName, type: settings.gateway.type, port: ports.rpc },
    };
    this.registerOutputs({ facts: this.facts });
  }
}
