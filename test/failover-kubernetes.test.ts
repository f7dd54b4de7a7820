/**
 * The Kubernetes driver without a cluster: site facts read offline from the stack files, driver
 * selection, and the real transport: `kubectl proxy` (the kubectl binary) in front of a fake
 * API server whose pod proxy answers as Patroni does, so the requests the driver sends through
 * `/api/v1/namespaces/<ns>/pods/https:<pod>:8008/proxy/...` are checked end to end.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import {
  AutomationStacks,
  kubeAccess,
  KubectlProxy,
  type KubeSiteFacts,
  kubeSiteFacts,
  onPath,
} from "../failover/kubernetes";
import { PatroniDriver } from "../failover/patroni-driver";
import { resolveDriverKind } from "../failover/select";
import { parseNetwork } from "../components/topology/load";
import { projectRoot, shippedNetworkText } from "./support/project";

describe("Kubernetes driver", () => {
  it("reads each postgres site's stack, context, namespace and Patroni scope offline", () => {
    const facts = kubeSiteFacts(projectRoot(), parseNetwork(shippedNetworkText()));
    expect([...facts.keys()].sort()).to.deep.equal(["dr", "primary"]);
    expect(facts.get("primary")).to.include({
      stack: "primary",
      context: "drstack-primary-use1",
      namespace: "drstack-data",
      scope: "pg-example-network",
      members: 3,
      port: 5432,
    });
    expect(facts.get("dr")).to.include({ stack: "dr", context: "drstack-dr-euw1", members: 2 });
    expect(facts.get("primary")!.replicationHost).to.match(/^pg-example-network-primary\./);
  });

  it("selects the driver: local with --sites, kubernetes when pulumi is on PATH, else none", () => {
    expect(resolveDriverKind("auto", "sites.json", false)).to.equal("local");
    expect(resolveDriverKind("auto", undefined, true)).to.equal("kubernetes");
    expect(resolveDriverKind("auto", undefined, false)).to.equal(undefined);
    expect(resolveDriverKind("kubernetes", undefined, false)).to.equal("kubernetes");
    expect(resolveDriverKind("local", undefined, true)).to.equal("local");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-path-"));
    fs.writeFileSync(path.join(dir, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "notexec"), "", { mode: 0o644 });
    expect(onPath("pulumi", dir)).to.equal(path.join(dir, "pulumi"));
    expect(onPath("notexec", dir)).to.equal(undefined);
    expect(onPath("pulumi", "/nonexistent")).to.equal(undefined);
  });

  it("applies a stack only when it reads the topology file the swap edited", async () => {
    const stacks = new AutomationStacks(projectRoot(), (s) => s);
    const other = await stacks.update("dr", "/tmp/elsewhere/network.yaml");
    expect(other.ok).to.equal(false);
    expect(other.detail).to.match(
      /stack dr reads .*stacks\/network\.yaml, but the swap edited \/tmp\/elsewhere\/network\.yaml/,
    );
    if (onPath("pulumi")) return; // with the CLI, the same call would really run `pulumi up`
    const same = await stacks.update("dr", "stacks/network.yaml");
    expect(same.ok).to.equal(false);
    expect(same.detail).to.equal(
      "pulumi up for site dr: the Pulumi CLI is not on PATH (the Automation API drives it)",
    );
  });

  describe("through kubectl proxy (fake API server)", function () {
    this.timeout(60_000);
    let api: http.Server;
    let proxy: KubectlProxy;
    let seen: { method: string; url: string; body: string }[] = [];
    const state = {
      role: "master" as "master" | "standby_leader",
      config: {} as Record<string, unknown>,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-kube-"));
    const kubeconfig = path.join(dir, "kubeconfig");
    let apiPort = 0;
    let proxyPort = 0;

    before(async function () {
      try {
        execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
      } catch {
        return this.skip();
      }
      api = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          seen.push({ method: req.method!, url: req.url!, body });
          const send = (json: unknown) => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify(json));
          };
          const prefix = "/api/v1/namespaces/drstack-data/pods";
          const u = new URL(req.url!, "http://x");
          if (u.pathname === prefix)
            return send({
              items: [
                { metadata: { name: "pg-example-network-0" } },
                { metadata: { name: "pg-example-network-1" } },
              ],
            });
          const m =
            /^\/api\/v1\/namespaces\/drstack-data\/pods\/https:([^/:]+):8008\/proxy(\/.*)$/.exec(
              u.pathname,
            );
          if (!m) {
            res.writeHead(404);
            return res.end();
          }
          const [, pod, p] = m;
          if (p === "/cluster")
            return send({
              members: [
                {
                  name: "pg-example-network-0",
                  role: state.role === "master" ? "leader" : "standby_leader",
                  state: "running",
                  api_url: "http://10.0.0.5:8008/patroni",
                },
                {
                  name: "pg-example-network-1",
                  role: "replica",
                  state: "streaming",
                  api_url: "http://10.0.0.6:8008/patroni",
                  lag: 0,
                },
              ],
            });
          if (p === "/patroni")
            return send({
              role: pod.endsWith("-0") ? state.role : "replica",
              state: "running",
              timeline: 1,
              xlog:
                pod.endsWith("-0") && state.role === "master"
                  ? { location: 1000 }
                  : { received_location: 1000, replayed_location: 1000 },
            });
          if (p === "/config" && req.method === "PATCH") {
            state.config = { ...state.config, ...JSON.parse(body) };
            if (state.config.standby_cluster) state.role = "standby_leader";
            return send(state.config);
          }
          res.writeHead(404);
          res.end();
        });
      });
      for (let port = 17300; port < 17400; port++) {
        const ok = await new Promise<boolean>((resolve) => {
          api.once("error", () => resolve(false));
          api.listen(port, "127.0.0.1", () => resolve(true));
        });
        if (ok) {
          apiPort = port;
          break;
        }
      }
      proxyPort = apiPort + 50;
      fs.writeFileSync(
        kubeconfig,
        `apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster: { server: "http://127.0.0.1:${apiPort}" }
users:
  - name: fake
    user: { token: test-token }
contexts:
  - name: fake-use1
    context: { cluster: fake, user: fake }
current-context: fake-use1
`,
      );
      proxy = new KubectlProxy([`--kubeconfig=${kubeconfig}`, "--context=fake-use1"], proxyPort);
    });

    after(async () => {
      proxy?.stop();
      await new Promise<void>((r) => (api ? api.close(() => r()) : r()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("finds the Patroni pods, reads /cluster through the pod proxy, and fences with PATCH /config", async () => {
      const facts: KubeSiteFacts = {
        site: "primary",
        stack: "primary",
        context: "fake-use1",
        kubeconfig,
        namespace: "drstack-data",
        scope: "pg-example-network",
        members: 2,
        replicationHost: "pg-example-network-primary.drstack.internal",
        port: 5432,
        binDir: "/usr/pgsql-15/bin",
      };
      const kube = kubeAccess(facts, proxy, undefined);
      // Authenticated calls run inside the pod (`kubectl exec`, which this fake API server does
      // not serve): record what the driver hands the in-pod sender and answer as Patroni does.
      expect(kube.unsafe).to.be.a("function");
      const sent: { method: string; path: string; body: unknown }[] = [];
      const access = {
        ...kube,
        unsafe: async (method: string, p: string, body: unknown) => {
          sent.push({ method, path: p, body });
          // Forwarded to the fake member as the in-pod request reaches its own REST API.
          const r = await fetch(
            `http://127.0.0.1:${apiPort}/api/v1/namespaces/drstack-data/pods/https:pg-example-network-0:8008/proxy${p}`,
            { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } },
          );
          const text = await r.text();
          return { status: r.status, json: text ? (JSON.parse(text) as unknown) : {}, text };
        },
      };
      const urls = await access.restUrls();
      expect(urls).to.deep.equal([
        `http://127.0.0.1:${proxyPort}/api/v1/namespaces/drstack-data/pods/https:pg-example-network-0:8008/proxy`,
        `http://127.0.0.1:${proxyPort}/api/v1/namespaces/drstack-data/pods/https:pg-example-network-1:8008/proxy`,
      ]);
      const list = seen.find((x) => x.url.startsWith("/api/v1/namespaces/drstack-data/pods?"))!;
      expect(decodeURIComponent(list.url)).to.include(
        "labelSelector=app.kubernetes.io/name=patroni,cluster-name=pg-example-network",
      );
      seen = [];
      const driver = new PatroniDriver({
        kind: "kubernetes",
        sites: {
          primary: access,
          dr: {
            ...access,
            replicationEndpoint: async () => ({
              host: "pg-example-network-dr.drstack.internal",
              port: 5432,
            }),
          },
        },
        upstreamOf: () => undefined,
        fenceTimeoutMs: 5000,
        pollMs: 50,
      });
      const probe = await driver.probe("primary");
      expect(probe).to.include({
        reachable: true,
        role: "primary",
        writable: true,
        healthy: true,
        walBytes: 1000,
      });
      const fence = await driver.fence("primary", { newPrimary: "dr" });
      expect(fence, fence.detail).to.include({ confirmed: true, unreachable: false });
      const patch = seen.find((x) => x.method === "PATCH")!;
      expect(patch.url).to.equal(
        "/api/v1/namespaces/drstack-data/pods/https:pg-example-network-0:8008/proxy/config",
      );
      expect(sent.map((x) => x.method)).to.include("PATCH");
      expect(JSON.parse(patch.body)).to.deep.equal({
        standby_cluster: {
          host: "pg-example-network-dr.drstack.internal",
          port: 5432,
          create_replica_methods: ["basebackup"],
        },
      });
      // Every member was checked through its own pod proxy (not the unreachable pod IPs).
      const checked = seen.filter((x) => x.url.endsWith(":8008/proxy/patroni")).map((x) => x.url);
      expect(checked.some((u) => u.includes("pg-example-network-1:8008"))).to.equal(true);
    });
  });
});
