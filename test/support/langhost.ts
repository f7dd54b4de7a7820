/**
 * Runs the program the way `pulumi up` does, offline: Pulumi's own entry point
 * (`@pulumi/pulumi/cmd/run`, which the nodejs language host spawns) in a child process, with the
 * arguments and environment the language host builds (sdk/nodejs/cmd/pulumi-language-nodejs,
 * `constructArguments`, `constructConfig`, `constructConfigSecretKeys`, `PULUMI_NODEJS_TYPESCRIPT`
 * from Pulumi.yaml's `runtime.options.typescript`), connected over gRPC to a resource monitor and
 * engine served here. The monitor is the planner's RecordingMonitor with the planner's mock
 * state, so what the child registers can be compared with what `planStack` records in-process.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import { parseYaml } from "../../components/topology/load";
import { mockState } from "../../planner/plan";
import { RecordingMonitor, type ResourceRecord } from "../../planner/monitor";
import { readProject, readStackConfig } from "../../planner/project";

// The gRPC and protobuf modules Pulumi's SDK itself loads (the same message classes).
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = pulumiRequire("@grpc/grpc-js");
const resrpc = pulumiRequire("./proto/resource_grpc_pb.js");
const resproto = pulumiRequire("./proto/resource_pb.js");
const engrpc = pulumiRequire("./proto/engine_grpc_pb.js");
const engproto = pulumiRequire("./proto/engine_pb.js");
const emptyproto = pulumiRequire("google-protobuf/google/protobuf/empty_pb.js");

export interface EngineLog {
  readonly severity: "debug" | "info" | "warning" | "error";
  readonly message: string;
}

export interface LanghostRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly logs: readonly EngineLog[];
  readonly resources: readonly ResourceRecord[];
  /** The root resource the program set (the `pulumi:pulumi:Stack`). */
  readonly root?: string;
  /** The exact command line, for messages. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface LanghostOptions {
  readonly projectDir: string;
  readonly stack: string;
  /** Outputs of the other stacks, by name, answered to `pulumi.StackReference`. */
  readonly stackOutputs?: ReadonlyMap<string, Record<string, unknown>>;
  /** `pulumi preview` (true) or the update of `pulumi up` (false, default). */
  readonly dryRun?: boolean;
  readonly timeoutMs?: number;
}

/** Features the monitor reports, as the planner's mock runtime sets them (planner/plan.ts). */
const FEATURES = new Set(["secrets", "resourceReferences", "deletedWith", "aliasSpecs"]);

const SEVERITY: Record<number, EngineLog["severity"]> = {
  0: "debug",
  1: "info",
  2: "warning",
  3: "error",
};

function projectFile(projectDir: string): any {
  return parseYaml(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8"), "Pulumi.yaml")
    .value;
}

/** The Pulumi.yaml runtime options the language host reads (parseOptions). */
function runtimeOptions(projectDir: string): Record<string, unknown> {
  const runtime = projectFile(projectDir)?.runtime;
  return typeof runtime === "object" && runtime !== null ? (runtime.options ?? {}) : {};
}

/** `main` of Pulumi.yaml as the engine splits it: the program directory and the entry point. */
function entryPoint(projectDir: string): { programDir: string; entry: string } {
  const main = projectFile(projectDir)?.main;
  const abs = path.resolve(projectDir, typeof main === "string" ? main : ".");
  if (fs.existsSync(abs) && fs.statSync(abs).isFile())
    return { programDir: path.dirname(abs), entry: path.basename(abs) };
  return { programDir: abs, entry: "." };
}

/** Serves a monitor and an engine on loopback ports chosen by the kernel. */
async function serve(
  monitor: RecordingMonitor,
  logs: EngineLog[],
  rootRef: { urn?: string },
): Promise<{ monitorAddr: string; engineAddr: string; stop(): Promise<void> }> {
  const server = new grpc.Server();
  const unary = (fn: (req: any) => Promise<any> | any) => (call: any, callback: any) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (resp) => callback(null, resp),
        (err) => callback({ code: grpc.status.UNKNOWN, details: String(err?.message ?? err) }),
      );
  };
  const viaMock =
    (method: "registerResource" | "readResource" | "invoke" | "registerPackage" | "call") =>
    (req: any) =>
      new Promise((resolve, reject) =>
        (monitor as any)[method](req, (err: any, resp: any) => (err ? reject(err) : resolve(resp))),
      );
  server.addService(resrpc.ResourceMonitorService, {
    supportsFeature: unary((req) => {
      const resp = new resproto.SupportsFeatureResponse();
      resp.setHassupport(FEATURES.has(req.getId()));
      return resp;
    }),
    registerResource: unary(viaMock("registerResource")),
    readResource: unary(viaMock("readResource")),
    invoke: unary(viaMock("invoke")),
    registerPackage: unary(viaMock("registerPackage")),
    registerResourceOutputs: unary(
      (req) =>
        new Promise((resolve, reject) =>
          monitor.registerResourceOutputs(req, (err: any) =>
            err ? reject(err) : resolve(new emptyproto.Empty()),
          ),
        ),
    ),
    signalAndWaitForShutdown: unary(() => new emptyproto.Empty()),
  });
  server.addService(engrpc.EngineService, {
    log: unary((req) => {
      logs.push({ severity: SEVERITY[req.getSeverity()] ?? "info", message: req.getMessage() });
      return new emptyproto.Empty();
    }),
    getRootResource: unary(() => {
      const resp = new engproto.GetRootResourceResponse();
      resp.setUrn(rootRef.urn ?? "");
      return resp;
    }),
    setRootResource: unary((req) => {
      rootRef.urn = req.getUrn();
      return new engproto.SetRootResourceResponse();
    }),
    requirePulumiVersion: unary(() => new engproto.RequirePulumiVersionResponse()),
  });
  const port = (addr: string) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err: any, p: number) =>
        err ? reject(err) : resolve(p),
      ),
    );
  const p = await port("127.0.0.1:0");
  // grpc-js starts serving on bind (server.start() is deprecated and a no-op).
  return {
    monitorAddr: `127.0.0.1:${p}`,
    engineAddr: `127.0.0.1:${p}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** Runs `stack` of the project through Pulumi's nodejs entry point; never throws on exit codes. */
export async function runLikePulumi(opts: LanghostOptions): Promise<LanghostRun> {
  const projectDir = path.resolve(opts.projectDir);
  const project = readProject(projectDir);
  const stackConfig = readStackConfig(project, opts.stack);
  const mocks = {
    newResource(args: MockResourceArgs): MockResourceResult {
      if (args.type === "pulumi:pulumi:StackReference") {
        const ref = String(args.inputs?.name ?? "");
        const parts = ref.split("/");
        const target =
          parts.length === 1 || parts[parts.length - 2] === project.name
            ? parts[parts.length - 1]
            : ref;
        const outputs = opts.stackOutputs?.get(target) ?? {};
        return { id: ref, state: { name: ref, outputs, secretOutputNames: [] } };
      }
      return mockState(args, opts.stack);
    },
    call(args: { inputs?: Record<string, unknown> }) {
      return args.inputs ?? {};
    },
  };
  const monitor = new RecordingMonitor(mocks as any, { project: project.name, stack: opts.stack });
  const logs: EngineLog[] = [];
  const rootRef: { urn?: string } = {};
  const server = await serve(monitor, logs, rootRef);
  try {
    const options = runtimeOptions(projectDir);
    const { programDir, entry } = entryPoint(projectDir);
    // constructConfig: `<namespace>:<name>` keys become `<namespace>:config:<name>`.
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(stackConfig.config)) {
      const i = k.indexOf(":");
      config[`${k.slice(0, i)}:config:${k.slice(i + 1)}`] = v;
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      PULUMI_CONFIG: JSON.stringify(config),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(stackConfig.secretKeys),
    };
    if (options.typescript !== false) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (typeof options.tsconfig === "string") env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    const runPath = createRequire(path.join(projectDir, "package.json")).resolve(
      "@pulumi/pulumi/cmd/run",
    );
    const args = [
      runPath,
      "--monitor",
      server.monitorAddr,
      "--engine",
      server.engineAddr,
      "--project",
      project.name,
      "--stack",
      opts.stack,
      "--pwd",
      programDir,
      ...(opts.dryRun ? ["--dry-run"] : []),
      "--query-mode",
      "false",
      "--parallel",
      "16",
      entry,
    ];
    const nodeargs =
      typeof options.nodeargs === "string" ? options.nodeargs.split(/\s+/).filter(Boolean) : [];
    const argv = [process.execPath, ...nodeargs, ...args];
    const child = spawn(argv[0], argv.slice(1), { cwd: projectDir, env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(
          new Error(`${opts.stack}: Pulumi's entry point ran past ${opts.timeoutMs ?? 600_000} ms`),
        );
      }, opts.timeoutMs ?? 600_000);
      child.on("error", reject);
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return {
      code,
      stdout,
      stderr,
      logs,
      resources: monitor.records,
      ...(rootRef.urn ? { root: rootRef.urn } : {}),
      argv,
      env,
    };
  } finally {
    await server.stop();
  }
}
