/**
 * The Kubernetes site driver: the stack swap on real sites.
 *
 * - Patroni REST through the cluster: one `kubectl proxy` per site (its kubeconfig context from
 *   `stacks/network.yaml`, bound to 127.0.0.1, ephemeral port), and the API server's pod proxy
 *   `/api/v1/namespaces/<ns>/pods/<pod>:8008/proxy/...` to each Patroni member (member name =
 *   pod name). Pods are found by Patroni's labels `app.kubernetes.io/name=patroni,cluster-name=<scope>`.
 * - SQL on the leader: `kubectl exec <leader> -c patroni -- psql -U postgres -d app` (local
 *   socket); backup age: `kubectl exec ... pgbackrest --stanza=<scope> info --output=json`.
 * - A fresh base backup re-seed: apply the site's stack first (its Patroni bootstrap config then
 *   carries `standby_cluster`, so it can only start as a standby), then scale the StatefulSet to
 *   0, delete its PVCs and Patroni's DCS objects (Endpoints/ConfigMaps labelled with the
 *   scope), and scale back up: every member bootstraps from the primary with pg_basebackup.
 * - Stacks: `pulumi up` of the site's stack through the Automation API (`LocalWorkspace`,
 *   the project directory, the stack whose `drstack:site` is the site); replication endpoints
 *   from the stacks' `postgres` outputs, else from the stack config (the default host name).
 *
 * Selected when the `pulumi` CLI is on PATH (the Automation API drives it); needs `kubectl`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackConfig } from "../components/program";
import {
  APP_DATABASE,
  CONFIG_DIR,
  PATRONI_PORT,
  PATRONI_TLS_DIR,
  PGBACKREST_FILE,
  RESTAPI_USERNAME,
  POSTGRES_PORT,
  USERS,
} from "../components/postgres/kubernetes";
import { normalizePostgresSettings, type PostgresSettings } from "../components/postgres/settings";
import { namespaceName } from "../components/shared/labels";
import { Problems } from "../components/topology/errors";
import type { Network } from "../components/topology/model";
import { listStacks, readProject, readStackConfig } from "../planner/project";
import type * as Automation from "@pulumi/pulumi/automation";
import type { ActionResult } from "./driver";
import { type HttpAnswer, mergeConfig, type UnsafeSender } from "./patroni";
import { PatroniDriver, type PatroniSiteAccess, type StackUpdater } from "./patroni-driver";

/** Is `name` an executable on PATH? */
export function onPath(name: string, envPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** What the driver needs to know of one site, from its stack config (offline). */
export interface KubeSiteFacts {
  readonly site: string;
  readonly stack: string;
  readonly context?: string;
  readonly kubeconfig?: string;
  readonly namespace: string;
  readonly scope: string;
  readonly members: number;
  readonly replicationHost: string;
  readonly port: number;
  readonly binDir: string;
}

/** The stack of every site (by `drstack:site`) and its Postgres facts; sites without a stack or
 * without postgres are left out. */
export function kubeSiteFacts(projectDir: string, network: Network): Map<string, KubeSiteFacts> {
  const project = readProject(projectDir);
  const out = new Map<string, KubeSiteFacts>();
  for (const stack of listStacks(project)) {
    const sc = readStackConfig(project, stack);
    const loaded = loadStackConfig(sc.config, project.dir, sc.file);
    const site = network.sites.find((s) => s.name === loaded.site.name);
    if (!site || !site.services.includes("postgres") || out.has(site.name)) continue;
    const pg: PostgresSettings = normalizePostgresSettings(
      loaded.settings.structured.postgres,
      network,
      site,
      new Problems(sc.file),
    );
    const kubeconfig = loaded.settings.kubeconfig ?? site.kubernetes.kubeconfig;
    out.set(site.name, {
      site: site.name,
      stack,
      ...(site.kubernetes.context ? { context: site.kubernetes.context } : {}),
      ...(kubeconfig ? { kubeconfig } : {}),
      namespace: namespaceName(loaded.settings.namespacePrefix, "data"),
      scope: pg.scope,
      members: pg.members,
      replicationHost: pg.replicationHost,
      port: POSTGRES_PORT,
      binDir: pg.binDir,
    });
  }
  return out;
}

/** A `kubectl proxy` for one cluster, on 127.0.0.1 and an ephemeral port; stopped by PID. */
export class KubectlProxy {
  private child?: ChildProcess;
  private url?: Promise<string>;

  /** `port` 0 (default) lets kubectl pick a free ephemeral port. */
  constructor(
    private readonly kubectlArgs: readonly string[],
    private readonly port = 0,
  ) {}

  start(): Promise<string> {
    this.url ??= new Promise((resolve, reject) => {
      const child = spawn(
        "kubectl",
        [...this.kubectlArgs, "proxy", "--address=127.0.0.1", `--port=${this.port}`],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      this.child = child;
      let out = "";
      const timer = setTimeout(
        () => reject(new Error(`kubectl proxy did not start: ${out}`)),
        15_000,
      );
      const onData = (b: Buffer) => {
        out += b.toString();
        const m = /Starting to serve on ([\d.]+):(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(`http://${m[1]}:${m[2]}`);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`kubectl proxy exited (${code}): ${out.trim()}`));
      });
    });
    return this.url;
  }

  stop(): void {
    if (this.child?.pid !== undefined && this.child.exitCode === null) this.child.kill("SIGTERM");
  }
}

function kubectl(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "kubectl",
      [...args],
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `kubectl ${args.slice(0, 6).join(" ")}: ${String(stderr).trim() || err.message}`,
            ),
          );
        else resolve(String(stdout));
      },
    );
  });
}

/** Stack updates through the Automation API (`pulumi up` of the site's stack). */
export class AutomationStacks implements StackUpdater {
  constructor(
    private readonly projectDir: string,
    private readonly stackOf: (site: string) => string | undefined,
    private readonly onOutput?: (line: string) => void,
  ) {}

  private async select(site: string) {
    const stackName = this.stackOf(site);
    if (!stackName) throw new Error(`no stack in stacks/ deploys site ${site}`);
    // Loaded on first use: the Automation API is only needed when stacks are applied.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LocalWorkspace } = require("@pulumi/pulumi/automation") as typeof Automation;
    return LocalWorkspace.selectStack({ stackName, workDir: this.projectDir });
  }

  async update(site: string, networkFile: string): Promise<ActionResult> {
    // The stack reads its own drstack:network: it must be the file the swap edited.
    const stackName = this.stackOf(site);
    if (stackName) {
      const project = readProject(this.projectDir);
      const reads = path.resolve(
        project.dir,
        readStackConfig(project, stackName).config[`${project.name}:network`] ??
          "stacks/network.yaml",
      );
      if (reads !== path.resolve(this.projectDir, networkFile))
        return {
          ok: false,
          detail: `stack ${stackName} reads ${reads}, but the swap edited ${networkFile}: apply it yourself after copying the change, or run the swap on the stack's own topology file`,
        };
    }
    try {
      const stack = await this.select(site);
      const r = await stack.up({
        ...(this.onOutput ? { onOutput: this.onOutput } : {}),
        color: "never",
      });
      return {
        ok: r.summary.result === "succeeded",
        detail: `pulumi up -s ${stack.name} (topology ${networkFile}): ${r.summary.result}, ${JSON.stringify(r.summary.resourceChanges ?? {})}`,
        data: { resourceChanges: r.summary.resourceChanges ?? {} },
      };
    } catch (e) {
      return {
        ok: false,
        detail: `pulumi up for site ${site}: ${onPath("pulumi") ? (e as Error).message.split("\n")[0] : "the Pulumi CLI is not on PATH (the Automation API drives it)"}`,
      };
    }
  }

  /** The `postgres` output of the site's stack (replicationHost, port...), when deployed. */
  async postgresOutput(site: string): Promise<Record<string, unknown> | undefined> {
    const stack = await this.select(site);
    const out = await stack.outputs();
    return out.postgres?.value as Record<string, unknown> | undefined;
  }
}

/**
 * Python run in the Patroni container (`python3 -c`, argv: method, path, JSON body or ""): one
 * request to the member's own REST API over HTTPS, verified against the site CA it mounts (the
 * host name is 127.0.0.1, so only the chain is checked), with the basic auth of its environment
 * (`PATRONI_RESTAPI_PASSWORD`). Prints the status, a newline and the body.
 */
export function inPodRequestScript(
  caFile = `${PATRONI_TLS_DIR}/ca.crt`,
  port = PATRONI_PORT,
  username = RESTAPI_USERNAME,
): string {
  return [
    "import base64,os,ssl,sys,urllib.request,urllib.error",
    "m,p,b=sys.argv[1:4]",
    `c=ssl.create_default_context(cafile=${JSON.stringify(caFile)});c.check_hostname=False`,
    `a=base64.b64encode((${JSON.stringify(`${username}:`)}+os.environ["PATRONI_RESTAPI_PASSWORD"]).encode()).decode()`,
    `r=urllib.request.Request("https://127.0.0.1:${port}"+p,data=b.encode() if b else None,method=m,headers={"Authorization":"Basic "+a,"Content-Type":"application/json"})`,
    "try:\n  s=urllib.request.urlopen(r,context=c,timeout=30)\nexcept urllib.error.HTTPError as e:\n  s=e",
    "sys.stdout.write(str(s.status if hasattr(s,'status') else s.code)+'\\n'+s.read().decode())",
  ].join("\n");
}
export const IN_POD_REQUEST = inPodRequestScript();

/** The status and body `IN_POD_REQUEST` printed. Pure. */
export function parseInPodAnswer(out: string): HttpAnswer {
  const i = out.indexOf("\n");
  const status = Number(i < 0 ? out : out.slice(0, i));
  if (!Number.isInteger(status))
    throw new Error(`unexpected answer from the pod: ${out.slice(0, 200)}`);
  const text = i < 0 ? "" : out.slice(i + 1);
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status, json, text };
}

/** Access to one Kubernetes site's Patroni cluster. */
export function kubeAccess(
  facts: KubeSiteFacts,
  proxy: KubectlProxy,
  stacks: AutomationStacks | undefined,
): PatroniSiteAccess {
  const ctx = [
    ...(facts.kubeconfig ? [`--kubeconfig=${facts.kubeconfig}`] : []),
    ...(facts.context ? [`--context=${facts.context}`] : []),
  ];
  const selector = `app.kubernetes.io/name=patroni,cluster-name=${facts.scope}`;
  // Patroni serves HTTPS (the API server's pod proxy does not verify pods' certificates).
  const podUrl = (base: string, pod: string) =>
    `${base}/api/v1/namespaces/${facts.namespace}/pods/https:${pod}:8008/proxy`;
  let base: string | undefined;
  const exec = (pod: string, cmd: readonly string[]) =>
    kubectl([...ctx, "-n", facts.namespace, "exec", pod, "-c", "patroni", "--", ...cmd]);
  const listPods = async (): Promise<string[]> => {
    base = await proxy.start();
    const res = await fetch(
      `${base}/api/v1/namespaces/${facts.namespace}/pods?labelSelector=${encodeURIComponent(selector)}`,
      { signal: AbortSignal.timeout(5000) },
    );
    if (res.status !== 200) throw new Error(`listing pods ${selector}: HTTP ${res.status}`);
    const json = (await res.json()) as { items?: { metadata: { name: string } }[] };
    return (json.items ?? []).map((p) => p.metadata.name);
  };
  // Unsafe calls need basic auth, which the API server strips from proxied requests: they run
  // inside the member's pod, against its own REST API, with the password of its environment.
  const unsafe: UnsafeSender = async (method, pathName, body, url) => {
    const pod = url ? /\/pods\/(?:https:)?([^/:]+):\d+\/proxy/.exec(url)?.[1] : undefined;
    const target = pod ?? (await listPods())[0];
    if (!target) throw new Error(`no Patroni pod of ${selector} to send ${method} ${pathName}`);
    const out = await exec(target, [
      "python3",
      "-c",
      IN_POD_REQUEST,
      method,
      pathName,
      body === undefined ? "" : JSON.stringify(body),
    ]);
    return parseInPodAnswer(out);
  };
  return {
    unsafe,
    restUrls: async () => (await listPods()).map((p) => podUrl(base!, p)),
    memberUrl: (m) => (base ? podUrl(base, m.name) : undefined),
    replicationEndpoint: async () => {
      const out = await stacks?.postgresOutput(facts.site).catch(() => undefined);
      if (out && typeof out.replicationHost === "string")
        return { host: out.replicationHost, port: Number(out.port ?? facts.port) };
      return { host: facts.replicationHost, port: facts.port };
    },
    sql: (query, leader) =>
      exec(leader.name, [
        `${facts.binDir}/psql`,
        "-X",
        "-A",
        "-t",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        USERS.superuser,
        "-d",
        APP_DATABASE,
        "-c",
        query,
      ]).then((s) => s.trim()),
    backupInfo: async (leader) =>
      JSON.parse(
        await exec(leader.name, [
          "pgbackrest",
          `--config=${CONFIG_DIR}/${PGBACKREST_FILE}`,
          `--stanza=${facts.scope}`,
          "info",
          "--output=json",
        ]),
      ) as unknown,
    writeDcsConfig: async (patch) => {
      // Patroni's Kubernetes DCS keeps the dynamic configuration in the `config` annotation of
      // the `<scope>-config` Endpoints (use_endpoints), else ConfigMap.
      const k = [...ctx, "-n", facts.namespace];
      const name = `${facts.scope}-config`;
      for (const kind of ["endpoints", "configmap"]) {
        let current: { metadata?: { annotations?: Record<string, string> } };
        try {
          current = JSON.parse(
            await kubectl([...k, "get", kind, name, "-o", "json"]),
          ) as typeof current;
        } catch {
          continue;
        }
        const raw = current.metadata?.annotations?.config;
        const merged = mergeConfig(raw ? (JSON.parse(raw) as Record<string, unknown>) : {}, patch);
        await kubectl([
          ...k,
          "annotate",
          kind,
          name,
          `config=${JSON.stringify(merged)}`,
          "--overwrite",
        ]);
        return `${kind}/${name} annotation config (context ${facts.context ?? "current"}, namespace ${facts.namespace})`;
      }
      throw new Error(`no endpoints or configmap ${name} in ${facts.namespace}`);
    },
    reseedFresh: async () => {
      if (!stacks)
        throw new Error(
          "a fresh base backup on Kubernetes applies the site's stack first (bootstrap as a standby), which needs the Pulumi CLI",
        );
      const up = await stacks.update(facts.site, "stacks/network.yaml");
      if (!up.ok)
        throw new Error(`applying stack of ${facts.site} before re-seeding: ${up.detail}`);
      const k = [...ctx, "-n", facts.namespace];
      await kubectl([...k, "scale", "statefulset", facts.scope, "--replicas=0"]);
      await kubectl(
        [...k, "wait", "--for=delete", "pod", "-l", selector, "--timeout=300s"],
        320_000,
      );
      await kubectl([...k, "delete", "pvc", "-l", selector, "--wait=true"], 320_000);
      // Patroni's DCS objects (leader, config, failover, sync): a new cluster bootstraps afresh.
      await kubectl([...k, "delete", "endpoints,configmaps", "-l", `cluster-name=${facts.scope}`]);
      await kubectl([...k, "scale", "statefulset", facts.scope, `--replicas=${facts.members}`]);
    },
  };
}

/** The Kubernetes driver for every site of the topology that runs postgres and has a stack. */
export function kubernetesDriver(
  projectDir: string,
  network: Network,
  upstreamOf: (site: string) => string | undefined,
  onOutput?: (line: string) => void,
): PatroniDriver & { close(): Promise<void> } {
  const facts = kubeSiteFacts(projectDir, network);
  const stacks = onPath("pulumi")
    ? new AutomationStacks(
        projectDir,
        (site) => facts.get(site)?.stack ?? stackOfSite(projectDir, site),
        onOutput,
      )
    : undefined;
  const proxies: KubectlProxy[] = [];
  const sites: Record<string, PatroniSiteAccess> = {};
  for (const f of facts.values()) {
    const proxy = new KubectlProxy([
      ...(f.kubeconfig ? [`--kubeconfig=${f.kubeconfig}`] : []),
      ...(f.context ? [`--context=${f.context}`] : []),
    ]);
    proxies.push(proxy);
    sites[f.site] = kubeAccess(f, proxy, stacks);
  }
  const driver = new PatroniDriver({
    kind: "kubernetes",
    sites,
    upstreamOf,
    stacks: stacks ?? {
      update: async (site) => ({
        ok: false,
        detail: `the Pulumi CLI is not on PATH: apply the stack yourself (pulumi up -s ${facts.get(site)?.stack ?? site})`,
      }),
    },
    description: `Kubernetes sites ${[...facts.values()].map((f) => `${f.site} (context ${f.context ?? "current"}, ${f.namespace}/${f.scope})`).join("; ")}; stacks through the Automation API${stacks ? "" : " (unavailable: no pulumi on PATH)"}`,
  }) as PatroniDriver & { close(): Promise<void> };
  driver.close = async () => proxies.forEach((p) => p.stop());
  return driver;
}

function stackOfSite(projectDir: string, site: string): string | undefined {
  const project = readProject(projectDir);
  return listStacks(project).find(
    (s) => readStackConfig(project, s).config[`${project.name}:site`] === site,
  );
}
