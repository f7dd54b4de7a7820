/**
 * The CometBFT home each validator runs with: config.toml against CometBFT v0.38.17's template
 * keys and types, genesis.json against types/genesis.go, key formats against crypto/ed25519 and
 * privval, peer IDs against p2p/key.go, and the init script run for real.
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "smol-toml";
import { parseNetwork } from "../components/topology/load";
import {
  configToml,
  HOME_FILES,
  renderGenesis,
  renderValidatorToml,
} from "../components/validators/cometbft";
import { INIT_ENV, initHomeScript } from "../components/validators/home";
import {
  generateValidatorKeys,
  INITIAL_SIGN_STATE,
  nodeId,
  nodeKeyJson,
  privValidatorKeyJson,
  publicKeyOf,
  validatorAddress,
} from "../components/validators/keys";
import { VALIDATOR_DEFAULTS } from "../components/validators/settings";
import { byType, planShipped, projectRoot, shippedNetworkText } from "./support/project";

type Obj = any;
const SCHEMA = "cometbft-v0.38-config.json";

function cometSchema(): Record<string, Record<string, string>> {
  const shared = path.join(projectRoot(), "..", "shared", "schemas", SCHEMA);
  const copy = path.join(projectRoot(), "test", "fixtures", "schemas", SCHEMA);
  if (fs.existsSync(shared))
    expect(fs.readFileSync(copy, "utf8"), `${copy} is out of date: copy ${shared}`).to.equal(
      fs.readFileSync(shared, "utf8"),
    );
  return JSON.parse(fs.readFileSync(fs.existsSync(shared) ? shared : copy, "utf8")).sections;
}

const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "integer":
      return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
    case "duration":
      return typeof v === "string" && GO_DURATION.test(v);
    case "array-of-strings":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
    default:
      throw new Error(`unknown schema type ${type}`);
  }
}

/** Every key of a parsed config.toml not in CometBFT v0.38's template, or of the wrong type. */
function configProblems(toml: string, sections = cometSchema()): string[] {
  const doc = parse(toml) as Record<string, unknown>;
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const section = sections[k];
      if (!section || k === "") {
        out.push(`[${k}]: not a section of CometBFT v0.38`);
        continue;
      }
      for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) {
        if (!(kk in section)) out.push(`${k}.${kk}: unknown key`);
        else if (!typeOk(section[kk], vv)) out.push(`${k}.${kk}: not a ${section[kk]}`);
      }
    } else if (!(k in sections[""])) out.push(`${k}: unknown key`);
    else if (!typeOk(sections[""][k], v)) out.push(`${k}: not a ${sections[""][k]}`);
  }
  return out;
}

const network = parseNetwork(shippedNetworkText());

async function validatorConfigMaps(): Promise<{ stack: string; name: string; data: Obj }[]> {
  const out = [];
  for (const plan of await planShipped())
    for (const r of byType(plan, "kubernetes:core/v1:ConfigMap"))
      if ((r.inputs as Obj).data?.["config.toml"] !== undefined)
        out.push({ stack: plan.stack, name: r.name, data: (r.inputs as Obj).data });
  return out;
}

describe("validator CometBFT home", () => {
  it("every rendered config.toml has only keys and types of CometBFT v0.38's template", async () => {
    const cms = await validatorConfigMaps();
    expect(cms.map((c) => c.name).length).to.equal(network.validators.length);
    for (const cm of cms) expect(configProblems(cm.data["config.toml"]), cm.name).to.deep.equal([]);
  });

  it("the key/type check fails on an unknown key, a misplaced key and a wrong type", () => {
    const v = network.validators[0];
    const good = renderValidatorToml(network, v, VALIDATOR_DEFAULTS) as Obj;
    expect(configProblems(configToml({ ...good, moniker_name: "x" }))).to.deep.equal([
      "moniker_name: unknown key",
    ]);
    expect(
      configProblems(configToml({ ...good, p2p: { ...good.p2p, timeout_commit: "1s" } })),
    ).to.deep.equal(["p2p.timeout_commit: unknown key"]);
    expect(
      configProblems(
        configToml({ ...good, consensus: { ...good.consensus, double_sign_check_height: "10" } }),
      ),
    ).to.deep.equal(["consensus.double_sign_check_height: not a integer"]);
    expect(
      configProblems(
        configToml({ ...good, consensus: { ...good.consensus, timeout_commit: "1" } }),
      ),
    ).to.deep.equal(["consensus.timeout_commit: not a duration"]);
  });

  it("peers are <node-id>@<stable DNS>:<port> with IDs of the network file's node keys; guards on", async () => {
    for (const cm of await validatorConfigMaps()) {
      const cfg = parse(cm.data["config.toml"]) as Obj;
      const me = network.validators.find((v) => v.name === cfg.moniker)!;
      expect(me, cm.name).to.not.equal(undefined);
      const others = network.validators.filter((v) => v.name !== me.name);
      const peers = cfg.p2p.persistent_peers.split(",");
      expect(peers).to.deep.equal(
        others.map(
          (v) =>
            `${createHash("sha256").update(Buffer.from(v.keys!.node, "base64")).digest("hex").slice(0, 40)}@${v.name}.${v.site}.${network.name}.drstack.internal:26656`,
        ),
      );
      expect(cfg.p2p.unconditional_peer_ids.split(",")).to.deep.equal(
        others.map((v) => nodeId(v.keys!.node)),
      );
      expect(cfg.p2p.external_address).to.equal(
        `${me.name}.${me.site}.${network.name}.drstack.internal:26656`,
      );
      expect(cfg.p2p.pex).to.equal(false);
      expect(cfg.consensus.double_sign_check_height).to.be.greaterThan(0);
      expect(cfg.instrumentation.prometheus).to.equal(true);
      expect(cfg.consensus.timeout_commit).to.equal(VALIDATOR_DEFAULTS.consensus.timeoutCommit);
    }
  });

  it("every stack ships the same genesis: chain, validators' sha256 addresses, ed25519 keys, powers", async () => {
    const cms = await validatorConfigMaps();
    const texts = new Set(cms.map((c) => c.data["genesis.json"]));
    expect(texts.size).to.equal(1);
    const g = JSON.parse([...texts][0]);
    expect(g.chain_id).to.equal("example-network-1");
    expect(g.genesis_time).to.equal("2026-01-01T00:00:00Z");
    expect(g.initial_height).to.equal("1");
    expect(g.consensus_params.validator.pub_key_types).to.deep.equal(["ed25519"]);
    expect(g.app_hash).to.equal("");
    expect(g.validators).to.have.length(network.validators.length);
    for (const [i, v] of network.validators.entries()) {
      const gv = g.validators[i];
      expect(gv.name).to.equal(v.name);
      expect(gv.power).to.equal(String(v.votingPower));
      expect(gv.pub_key).to.deep.equal({
        type: "tendermint/PubKeyEd25519",
        value: v.keys!.validator,
      });
      const sha = createHash("sha256").update(Buffer.from(v.keys!.validator, "base64")).digest();
      expect(gv.address).to.equal(sha.subarray(0, 20).toString("hex").toUpperCase());
      expect(gv.address).to.match(/^[0-9A-F]{40}$/);
    }
  });

  it("key files use CometBFT's formats (RFC 8032 vector); the key file's address is the genesis address", () => {
    // RFC 8032 section 7.1, test 1.
    const seed = Buffer.from(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "hex",
    );
    const pub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    expect(Buffer.from(publicKeyOf(seed), "base64").toString("hex")).to.equal(pub);
    const pv = privValidatorKeyJson(seed);
    expect(pv.pub_key.type).to.equal("tendermint/PubKeyEd25519");
    expect(pv.priv_key.type).to.equal("tendermint/PrivKeyEd25519");
    expect(Buffer.from(pv.priv_key.value, "base64").toString("hex")).to.equal(
      seed.toString("hex") + pub,
    );
    expect(nodeKeyJson(seed).priv_key.value).to.equal(pv.priv_key.value);
    let n = 0;
    const k = generateValidatorKeys((len) => new Uint8Array(len).fill(++n));
    const pvk = JSON.parse(k.files["priv_validator_key.json"]);
    // The first validator of the shipped network, with the generated keys.
    const doc = parseYaml(shippedNetworkText());
    doc.validators[0].keys = { validator: k.keys.validator, node: k.keys.node };
    const net = parseNetwork(stringifyYaml(doc));
    expect(net.validators[0].keys).to.deep.equal(doc.validators[0].keys);
    const g = renderGenesis(net);
    expect(g.validators[0].address).to.equal(pvk.address);
    expect(g.validators[0].address).to.equal(validatorAddress(k.keys.validator));
    expect(g.validators[0].pub_key).to.deep.equal(pvk.pub_key);
  });

  describe("the init container's script (sh)", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-home-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function setup(opts: { keySeed?: number } = {}) {
      const cfg = path.join(dir, "cfg");
      const keys = path.join(dir, "keys");
      fs.mkdirSync(cfg);
      fs.mkdirSync(keys);
      const gen = generateValidatorKeys((len) => new Uint8Array(len).fill(opts.keySeed ?? 7));
      const real = generateValidatorKeys((len) => new Uint8Array(len).fill(7));
      const v = { ...network.validators[0], keys: real.keys };
      const net = { ...network, validators: [v, ...network.validators.slice(1)] };
      const genesis = JSON.stringify(renderGenesis(net), null, 2) + "\n";
      fs.writeFileSync(
        path.join(cfg, "config.toml"),
        configToml(renderValidatorToml(net, v, VALIDATOR_DEFAULTS)),
      );
      fs.writeFileSync(path.join(cfg, "genesis.json"), genesis);
      // cometbft writes the node key on one line; the test's Secret mixes both layouts.
      fs.writeFileSync(
        path.join(keys, "priv_validator_key.json"),
        gen.files["priv_validator_key.json"],
      );
      fs.writeFileSync(
        path.join(keys, "node_key.json"),
        JSON.stringify(JSON.parse(gen.files["node_key.json"])),
      );
      return {
        [INIT_ENV.home]: path.join(dir, "home"),
        [INIT_ENV.configSrc]: cfg,
        [INIT_ENV.keysSrc]: keys,
        [INIT_ENV.address]: validatorAddress(real.keys.validator),
        [INIT_ENV.nodeId]: nodeId(real.keys.node),
        [INIT_ENV.genesisSha256]: createHash("sha256").update(genesis).digest("hex"),
      };
    }
    const run = (env: Record<string, string>) =>
      spawnSync("sh", ["-c", initHomeScript()], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        encoding: "utf8",
      });

    it("assembles the layout --home expects; a second run keeps a changed priv_validator_state.json", () => {
      const env = setup();
      const first = run(env);
      expect(first.status, first.stderr).to.equal(0);
      const home = env[INIT_ENV.home];
      for (const f of Object.values(HOME_FILES))
        expect(fs.existsSync(path.join(home, f)), f).to.equal(true);
      const statePath = path.join(home, HOME_FILES.privValidatorState);
      expect(JSON.parse(fs.readFileSync(statePath, "utf8"))).to.deep.equal(INITIAL_SIGN_STATE);
      expect(fs.readFileSync(path.join(home, "config/genesis.json"), "utf8")).to.equal(
        fs.readFileSync(path.join(env[INIT_ENV.configSrc], "genesis.json"), "utf8"),
      );
      // The validator signs up to height 1234; the pod restarts (or the stack is redeployed).
      const signed = '{"height":"1234","round":0,"step":3,"signature":"c2ln","signbytes":"AB"}\n';
      fs.writeFileSync(statePath, signed);
      const second = run(env);
      expect(second.status, second.stderr).to.equal(0);
      expect(fs.readFileSync(statePath, "utf8")).to.equal(signed);
    });

    it("refuses a key Secret whose keys are not the network file's, and a genesis not pinned", () => {
      const env = setup({ keySeed: 9 });
      const r = run(env);
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.match(
        /priv_validator_key.json holds the key of address [0-9A-F]{40}, not/,
      );
      expect(fs.existsSync(path.join(env[INIT_ENV.home], HOME_FILES.privValidatorKey))).to.equal(
        false,
      );
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      const ok = setup();
      const bad = run({ ...ok, [INIT_ENV.genesisSha256]: "0".repeat(64) });
      expect(bad.status).to.not.equal(0);
      expect(bad.stderr).to.match(/genesis.json does not have the pinned sha256/);
      const wrongNode = run({ ...ok, [INIT_ENV.nodeId]: "0".repeat(40) });
      expect(wrongNode.stderr).to.match(/node_key.json holds node ID [0-9a-f]{40}, not 0{40}/);
    });
  });
});
