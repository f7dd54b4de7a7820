import { expect } from "chai";
import { isConfigError } from "../components/topology/errors";
import { loadNetwork } from "../components/topology/load";
import { configToml, renderGenesis, renderValidatorToml } from "../components/validators/cometbft";
import { partyHosting } from "../components/validators/render";
import {
  keySecretName,
  normalizeValidatorSettings,
  VALIDATOR_DEFAULTS,
} from "../components/validators/settings";
import { Problems } from "../components/topology/errors";
import type { StackPlan } from "../planner/plan";
import { selects } from "../policies/lib/k8s";
import { loadRules } from "../policies/lib/registry";
import { mandatoryCount, runPolicies } from "../policies/lib/runner";
import * as path from "node:path";
import { byType, one, planShipped, planWithConfig, projectRoot } from "./support/project";

type Obj = Record<string, any>;
const STS = "kubernetes:apps/v1:StatefulSet";

function shipped(plans: StackPlan[], stack: string): StackPlan {
  return plans.find((p) => p.stack === stack)!;
}

describe("ValidatorSet", () => {
  const network = loadNetwork(
    path.join(projectRoot(), "stacks", "network.yaml"),
    "stacks/network.yaml",
  );

  it("renders one single-replica, zone-pinned StatefulSet per validator of the site", async () => {
    const primary = shipped(await planShipped(), "primary");
    const mine = network.validators.filter((v) => v.site === "primary");
    const sets = byType(primary, STS).filter(
      (r) => (r.inputs as Obj).metadata.labels["app.kubernetes.io/component"] === "validator",
    );
    expect(sets.map((s) => (s.inputs as Obj).metadata.name)).to.have.members(
      mine.map((v) => v.name),
    );
    for (const v of mine) {
      const rec = one(primary, STS, `primary-validators-${v.name}`);
      const sts = rec.inputs as Obj;
      expect(sts.spec.replicas).to.equal(1);
      expect(sts.metadata.namespace).to.equal("drstack-validators");
      const terms =
        sts.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
          .nodeSelectorTerms;
      expect(terms).to.deep.equal([
        {
          matchExpressions: [
            { key: "topology.kubernetes.io/zone", operator: "In", values: [v.zone] },
          ],
        },
      ]);
      const labels = sts.spec.template.metadata.labels;
      expect(labels).to.include({
        "drstack.io/site": "primary",
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": v.zone,
        "drstack.io/validator": v.name,
      });
      expect(sts.metadata.annotations["drstack.io/voting-power"]).to.equal(String(v.votingPower));
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).to.equal(
        VALIDATOR_DEFAULTS.storage.size,
      );
      const c = sts.spec.template.spec.containers[0];
      expect(c.readinessProbe).to.be.an("object");
      expect(c.livenessProbe).to.be.an("object");
      expect(c.resources.requests).to.deep.equal({ cpu: "500m", memory: "2Gi" });
      expect(c.securityContext).to.include({ allowPrivilegeEscalation: false, runAsNonRoot: true });
      // Parent is the ValidatorSet; the provider is the site's.
      expect(rec.parent).to.match(/drstack:validators:ValidatorSet::primary-validators$/);
      expect(rec.provider).to.match(/pulumi:providers:kubernetes::primary-k8s::/);
    }
  });

  it("mounts key material from an existing Secret per validator and never creates one", async () => {
    const primary = shipped(await planShipped(), "primary");
    for (const v of network.validators.filter((x) => x.site === "primary")) {
      const sts = one(primary, STS, `primary-validators-${v.name}`).inputs as Obj;
      const keys = sts.spec.template.spec.volumes.find((x: Obj) => x.name === "keys");
      expect(keys.secret.secretName).to.equal(`${v.name}-keys`);
      const secrets = byType(primary, "kubernetes:core/v1:Secret").map(
        (s) => (s.inputs as Obj).metadata?.name,
      );
      expect(secrets).to.not.include(`${v.name}-keys`);
    }
  });

  it("one PodDisruptionBudget selects every validator pod of the site; a gateway Service selects them", async () => {
    const primary = shipped(await planShipped(), "primary");
    const pdb = one(primary, "kubernetes:policy/v1:PodDisruptionBudget", "primary-validators-pdb")
      .inputs as Obj;
    expect(pdb.spec.maxUnavailable).to.equal(1);
    const gw = one(primary, "kubernetes:core/v1:Service", "primary-validators-gateway")
      .inputs as Obj;
    expect(gw.spec.type).to.equal("ClusterIP");
    for (const v of network.validators.filter((x) => x.site === "primary")) {
      const labels = (one(primary, STS, `primary-validators-${v.name}`).inputs as Obj).spec.template
        .metadata.labels;
      expect(selects(pdb.spec.selector, labels), v.name).to.equal(true);
      expect(selects({ matchLabels: gw.spec.selector }, labels), v.name).to.equal(true);
      const np = one(
        primary,
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        `primary-validators-${v.name}-netpol`,
      ).inputs as Obj;
      expect(selects(np.spec.podSelector, labels)).to.equal(true);
    }
  });

  it("computes party hosting; each validator's ConfigMap holds its CometBFT config.toml and the genesis, no key", async () => {
    const hosting = partyHosting(network);
    const op = hosting.find((h) => h.party === "network-operator")!;
    expect(op.hosts).to.deep.equal(["val-use1-a", "val-euw1-b", "val-usw2-a", "val-ase1-a"]);
    expect(op.toleratedFailures).to.equal(2);
    const primary = shipped(await planShipped(), "primary");
    const cm = one(primary, "kubernetes:core/v1:ConfigMap", "primary-validators-val-use1-a-config")
      .inputs as Obj;
    const v = network.validators.find((x) => x.name === "val-use1-a")!;
    expect(Object.keys(cm.data).sort()).to.deep.equal(["config.toml", "genesis.json"]);
    expect(cm.data["config.toml"]).to.equal(
      configToml(renderValidatorToml(network, v, VALIDATOR_DEFAULTS)),
    );
    expect(JSON.parse(cm.data["genesis.json"])).to.deep.equal(
      JSON.parse(JSON.stringify(renderGenesis(network))),
    );
    expect(JSON.stringify(cm.data)).to.not.match(/BEGIN|priv_key/);
  });

  it("validators-only sites get a ValidatorSet; sites without validators do not", async () => {
    const plans = await planShipped();
    const facts = shipped(plans, "west").outputs.validators as Obj;
    expect(facts.validators.map((v: Obj) => [v.name, v.zone, v.keySecret])).to.deep.equal([
      ["val-usw2-a", "us-west-2a", "val-usw2-a-keys"],
      ["val-usw2-b", "us-west-2b", "val-usw2-b-keys"],
    ]);
    expect(facts.gateway).to.deep.equal({
      service: "validators-gateway",
      type: "ClusterIP",
      port: 26657,
    });
    for (const p of plans) {
      const site = network.sites.find((s) => s.name === (p.config["drstack:site"] ?? p.stack))!;
      const has = byType(p, "drstack:validators:ValidatorSet").length;
      expect(has, p.stack).to.equal(site.services.includes("validators") ? 1 : 0);
    }
  });

  it("the shipped stacks with their validators pass every policy rule", async () => {
    const report = await runPolicies(await planShipped(), loadRules());
    expect(report.violations.filter((v) => v.enforcementLevel === "mandatory")).to.deep.equal([]);
    expect(mandatoryCount(report)).to.equal(0);
  });

  it("drstack:validators sets the gateway type, image, storage and key Secret name", async () => {
    const plan = await planWithConfig("primary", {
      "drstack:validators": JSON.stringify({
        image: "ghcr.io/acme/node:2.0",
        gateway: { type: "LoadBalancer", sourceRanges: ["203.0.113.0/24"] },
        storage: { size: "500Gi", storageClass: "gp3" },
        keySecret: "keys-{validator}",
      }),
    });
    const gw = one(plan, "kubernetes:core/v1:Service", "primary-validators-gateway").inputs as Obj;
    expect(gw.spec.type).to.equal("LoadBalancer");
    expect(gw.spec.loadBalancerSourceRanges).to.deep.equal(["203.0.113.0/24"]);
    const sts = one(plan, STS, "primary-validators-val-use1-a").inputs as Obj;
    expect(sts.spec.template.spec.containers[0].image).to.equal("ghcr.io/acme/node:2.0");
    expect(sts.spec.volumeClaimTemplates[0].spec).to.include({ storageClassName: "gp3" });
    expect(
      sts.spec.template.spec.volumes.find((x: Obj) => x.name === "keys").secret.secretName,
    ).to.equal("keys-val-use1-a");
  });

  it("bad drstack:validators is refused with field paths, before any resource", async () => {
    let err: unknown;
    try {
      await planWithConfig("primary", {
        "drstack:validators": JSON.stringify({
          keySecret: "shared-key",
          gateway: { type: "NodePort" },
          ports: { p2p: 26657 },
          imag: "x",
        }),
      });
    } catch (e) {
      err = e;
    }
    expect(isConfigError(err), String(err)).to.equal(true);
    const text = (err as Error).message;
    expect(text)
      .to.include("config.drstack:validators.imag: unknown key")
      .and.include('did you mean "image"');
    expect(text).to.include("config.drstack:validators.gateway.type: must be one of");
  });

  it("normalizes settings with defaults and refuses unsafe combinations", () => {
    const p = new Problems();
    expect(normalizeValidatorSettings(undefined, p)).to.deep.equal(VALIDATOR_DEFAULTS);
    expect(p.size).to.equal(0);
    const q = new Problems();
    normalizeValidatorSettings(
      { keySecret: "shared-key", ports: { p2p: 26657 }, gateway: { sourceRanges: ["10.0.0.0/8"] } },
      q,
    );
    expect(q.list.map((x) => x.path)).to.deep.equal([
      "config.drstack:validators.keySecret",
      "config.drstack:validators.ports.rpc",
      "config.drstack:validators.gateway.sourceRanges",
    ]);
    expect(q.list[0].message).to.include("double-sign");
    expect(keySecretName({ keySecret: "{validator}-keys" }, "val-a")).to.equal("val-a-keys");
  });
});
