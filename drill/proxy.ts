/**
 * The primary site's replication endpoint: on Kubernetes a LoadBalancer Service whose endpoints
 * follow the Patroni leader; here a TCP proxy on 127.0.0.1 that forwards each new connection to
 * the member whose `GET /primary` answers 200 (Patroni's leader health check).
 */
import * as net from "node:net";
import { HOST } from "./layout";

export interface ProxyMember {
  readonly pgPort: number;
  readonly restPort: number;
}

async function isPrimary(restPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://${HOST}:${restPort}/primary`, {
      signal: AbortSignal.timeout(500),
    });
    await r.text();
    return r.status === 200;
  } catch {
    return false;
  }
}

export class LeaderProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private target: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    readonly port: number,
    private readonly members: readonly ProxyMember[],
    private readonly pollMs = 250,
  ) {}

  /** The PostgreSQL port connections currently go to (undefined: no leader). */
  get leaderPort(): number | undefined {
    return this.target;
  }

  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.server = net.createServer((client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen({ port: this.port, host: HOST, exclusive: true }, () => resolve());
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.server = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const answers = await Promise.all(this.members.map((m) => isPrimary(m.restPort)));
      const i = answers.indexOf(true);
      this.target = i >= 0 ? this.members[i].pgPort : undefined;
    } finally {
      this.polling = false;
    }
  }

  private forward(client: net.Socket): void {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    if (this.target === undefined) {
      client.destroy();
      return;
    }
    const upstream = net.createConnection({ host: HOST, port: this.target });
    this.sockets.add(upstream);
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
