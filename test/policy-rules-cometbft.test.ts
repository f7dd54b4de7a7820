/**
 * The rules that read the CometBFT homes the stacks deploy (config.toml parsed as TOML, genesis.json
 * as JSON): they pass the shipped stacks and fail homes mutated to break them.
 */
import { expect } from "chai";
import { parse as parseToml, stringify as toToml } from "smol-toml";
import { addressOfPubKey } from "../policies/lib/cometbft";
import { rule as doubleSign } from "../policies/rules/validators/double-sign-check";
import { rule as genesisPowers } from "../policies/rules/validators/genesis-powers";
import { rule as uniqueKeys } from "../policies/rules/validators/unique-validator-keys";
import { validatorAddress } from "../components/validators/keys";
import { runStackRule, type ResourceSpec } from "./support/policy";
import { planShipped } from "./support/project";

type Obj = Record<string, any>;
const CM = "kubernetes:core/v1:ConfigMap";

async function specsOf(stack: string): Promise<ResourceSpec[]> {
  const plan = (await planShipped()).find((p) => p.stack === stack)!;
  return plan.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: structuredClone(r.inputs) as Obj,
  }));
}

/** Changes one validator's home ConfigMap data through `edit`. */
function editHome(
  specs: ResourceSpec[],
  validator: string,
  file: "config.toml" | "genesis.json",
  edit: (doc: Obj) => void,
): ResourceSpec[] {
  return specs.map((s) => {
    if (s.type !== CM || s.name !== `primary-validators-${validator}-config`) return s;
    const data = { ...(s.props as Obj).data };
    const doc = file === "genesis.json" ? JSON.parse(data[file]) : parseToml(data[file]);
    edit(doc);
    data[file] = file === "genesis.json" ? JSON.stringify(doc, null, 2) : toToml(doc);
    return { ...s, props: { ...(s.props as Obj), data } };
  });
}

function editTopology(specs: ResourceSpec[], edit: (net: Obj) => void): ResourceSpec[] {
  return specs.map((s) => {
    const data = (s.props as Obj).data;
    if (s.type !== CM || typeof data?.["network.json"] !== "string") return s;
    const net = JSON.parse(data["network.json"]);
    edit(net);
    return {
      ...s,
      props: { ...(s.props as Obj), data: { ...data, "network.json": JSON.stringify(net) } },
    };
  });
}

describe("CometBFT home rules", () => {
  let primary: ResourceSpec[];
  before(async () => {
    primary = await specsOf("primary");
  });

  it("derive addresses as CometBFT does, the same as the renderer", () => {
    const key = "YdgHPuTUZM2MeV+5Oe1RvoLSznLanlvbhzrJhbA6kS0=";
    expect(addressOfPubKey(key)).to.equal(validatorAddress(key));
    expect(addressOfPubKey(key)).to.match(/^[0-9A-F]{40}$/);
  });

  it("pass every shipped stack", async () => {
    for (const plan of await planShipped()) {
      const specs = await specsOf(plan.stack);
      for (const r of [doubleSign, genesisPowers, uniqueKeys]) {
        const run = await runStackRule(r, specs);
        expect(run.messages, `${r.name} on ${plan.stack}`).to.deep.equal([]);
      }
    }
  });

  it("double-sign-check fails a config.toml without the check or with 0, naming the validator", async () => {
    let run = await runStackRule(
      doubleSign,
      editHome(primary, "val-use1-a", "config.toml", (d) => {
        delete d.consensus.double_sign_check_height;
      }),
    );
    expect(run.messages).to.have.length(1);
    expect(run.messages[0]).to.match(
      /val-use1-a: config.toml has no consensus.double_sign_check_height/,
    );
    run = await runStackRule(
      doubleSign,
      editHome(primary, "val-use1-b", "config.toml", (d) => {
        d.consensus.double_sign_check_height = 0;
      }),
    );
    expect(run.messages).to.deep.equal([
      "validator val-use1-b: consensus.double_sign_check_height is 0, below 1 (0 turns the double-sign check off)",
    ]);
  });

  it("genesis-powers fails a power, key or address differing from the network file, and two genesis documents", async () => {
    const run = await runStackRule(
      genesisPowers,
      editHome(primary, "val-use1-a", "genesis.json", (g) => {
        g.validators[0].power = "99";
        g.validators[1].address = "00".repeat(20);
      }),
    );
    expect(run.messages.join("\n")).to.match(/gives val-use1-a power 99, the network file 10/);
    expect(run.messages.join("\n")).to.match(/address 0{40} is not its public key's/);
    expect(run.messages.join("\n")).to.match(/deploy 2 different genesis documents/);
    // The network file changes instead: the deployed genesis no longer matches it.
    const net = await runStackRule(
      genesisPowers,
      editTopology(primary, (n) => {
        n.validators[2].votingPower = 30;
      }),
    );
    expect(net.messages.length).to.be.greaterThan(0);
    expect(net.messages[0]).to.match(/power 10, the network file 30/);
  });

  it("genesis-powers fails a validator missing from genesis and one genesis adds", async () => {
    const run = await runStackRule(
      genesisPowers,
      editHome(primary, "val-use1-a", "genesis.json", (g) => {
        g.validators[0].name = "ghost";
      }),
    );
    const text = run.messages.join("\n");
    expect(text).to.match(/does not list validator val-use1-a/);
    expect(text).to.match(/lists ghost, which the network file does not declare/);
  });

  it("unique-validator-keys fails two validators with one consensus key, in the network file and in genesis", async () => {
    const net = await runStackRule(
      uniqueKeys,
      editTopology(primary, (n) => {
        n.validators[1].keys = {
          ...n.validators[1].keys,
          validator: n.validators[0].keys.validator,
        };
      }),
    );
    expect(net.messages).to.have.length(1);
    expect(net.messages[0]).to.match(
      /validators val-use1-a, val-use1-b share one consensus public key/,
    );
    const gen = await runStackRule(
      uniqueKeys,
      editHome(primary, "val-use1-a", "genesis.json", (g) => {
        g.validators[3].pub_key.value = g.validators[0].pub_key.value;
      }),
    );
    expect(gen.messages).to.have.length(1);
    expect(gen.messages[0]).to.match(/lists .+, .+ with one public key/);
  });
});
