/**
 * The policy pack as `pulumi preview --policy-pack policies` runs it: policies/index.ts is
 * started as its own process (its PolicyPack serves the analyzer gRPC protocol and prints the
 * port), and this test talks to it as the Pulumi engine would: GetAnalyzerInfo, Analyze (one
 * resource's inputs) and AnalyzeStack (every resource). No Pulumi CLI needed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import * as ts from "typescript";
import { loadRules } from "../policies/lib/registry";
import {
  changed,
  deployment,
  topologyConfigMap,
  validatorStatefulSet,
  type ResourceSpec,
} from "./support/policy";
import { distRoot, projectRoot } from "./support/project";
import { loadNetwork } from "../components/topology/load";

/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require("@grpc/grpc-js");
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const emptyPb = require("google-protobuf/google/protobuf/empty_pb");
const structPb = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

type Diag = { policy: string; message: string; level: number; urn: string };

function call<T>(client: any, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

function resourceOf(spec: ResourceSpec, Cls: any): any {
  const r = new Cls();
  r.setType(spec.type);
  r.setName(spec.name);
  r.setUrn(spec.urn);
  r.setProperties(structPb.Struct.fromJavaScript(JSON.parse(JSON.stringify(spec.props))));
  r.setOptions(new analyzerPb.AnalyzerResourceOptions());
  return r;
}

function diags(res: any): Diag[] {
  return res.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    level: d.getEnforcementlevel(),
    urn: d.getUrn(),
  }));
}

describe("policy pack under the analyzer protocol", function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  let client: any;
  const entry = path.join(distRoot(), "policies", "index.pack-test.js");

  before(async () => {
    // policies/index.ts is not compiled with the project (it never returns); transpile it next
    // to the compiled rules so its imports resolve as in the pack.
    const source = fs.readFileSync(path.join(projectRoot(), "policies", "index.ts"), "utf8");
    fs.writeFileSync(
      entry,
      ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      }).outputText,
    );
    child = spawn(process.execPath, [entry], {
      cwd: path.join(projectRoot(), "policies"),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      child!.stdout!.on("data", (d) => {
        out += d;
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(m[1]);
      });
      child!.on("exit", (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`policy pack did not print its port: ${stderr}`)), 30_000);
    });
    client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    if (child?.pid && child.exitCode === null) child.kill("SIGTERM");
    fs.rmSync(entry, { force: true });
  });

  it("registers every rule of the registry with its metadata", async () => {
    const info: any = await call(client, "getAnalyzerInfo", new emptyPb.Empty());
    expect(info.getName()).to.equal("drstack");
    const policies = info.getPoliciesList();
    const names = policies.map((p: any) => p.getName());
    expect(names).to.have.members(loadRules().map((r) => r.name));
    const rvp = policies.find((p: any) => p.getName() === "region-voting-power");
    expect(rvp.getDescription()).to.include("voting power");
    expect(JSON.stringify(rvp.getConfigschema().getProperties().toJavaScript())).to.include(
      '"default":"1/3"',
    );
  });

  it("Analyze: a privileged Deployment violates restricted-pods (mandatory)", async () => {
    const req = resourceOf(
      changed(deployment(), "spec.template.spec.containers[0].securityContext.privileged", true),
      analyzerPb.AnalyzeRequest,
    );
    const d = diags(await call(client, "analyze", req)).filter(
      (x) => x.policy === "restricted-pods",
    );
    expect(d).to.have.length(1);
    expect(d[0].message).to.include("privileged");
    expect(d[0].level).to.equal(analyzerPb.EnforcementLevel.MANDATORY);
    expect(
      diags(await call(client, "analyze", resourceOf(deployment(), analyzerPb.AnalyzeRequest))),
    ).to.deep.equal([]);
  });

  it("AnalyzeStack: the unsafe 3-region topology fails region-voting-power at 40%; 2 validator replicas fail single-signer", async () => {
    const network = loadNetwork(
      path.join(projectRoot(), "examples", "unsafe-3-region.yaml"),
      "examples/unsafe-3-region.yaml",
    );
    const req = new analyzerPb.AnalyzeStackRequest();
    req.setResourcesList(
      [
        topologyConfigMap(network),
        changed(validatorStatefulSet("val-1", "us-east-1a"), "spec.replicas", 2),
      ].map((s) => resourceOf(s, analyzerPb.AnalyzerResource)),
    );
    const d = diags(await call(client, "analyzeStack", req));
    const rvp = d.filter((x) => x.policy === "region-voting-power").map((x) => x.message);
    expect(rvp.some((m) => m.includes("aws/us-east-1 holds 2/5 (40%)"))).to.equal(true);
    expect(
      d.some((x) => x.policy === "single-signer" && x.message.includes("has 2 replicas")),
    ).to.equal(true);
  });
});
