/**
 * The site's Pushgateway with a real Pushgateway (Debian's prometheus-pushgateway): the web
 * config SiteMonitoring renders turns on basic auth, a backup job's own push function (the
 * rendered script prelude) gets in with the credentials the job receives, and a push without them
 * is refused: nobody else can report "backup succeeded".
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { renderPrelude } from "../components/backup/scripts";
import { pushgatewayWebConfig } from "../components/monitoring/scrape";
import { PUSHGATEWAY_USER } from "../components/monitoring/SiteMonitoring";

const PORT = 15990;
const URL = `http://127.0.0.1:${PORT}`;

function bcrypt(password: string): string {
  const r = spawnSync("htpasswd", ["-nbBC", "10", PUSHGATEWAY_USER, password], {
    encoding: "utf8",
  });
  expect(r.status, r.stderr).to.equal(0);
  return r.stdout.trim().split(":").slice(1).join(":");
}

function curl(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync("curl", ["-s", "-o", "-", "-w", "\n%{http_code}", ...args], {
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout };
}

describe("pushgateway (real prometheus-pushgateway): basic auth on pushes", function () {
  this.timeout(60_000);
  let proc: ChildProcess | undefined;
  let dir: string;
  const password = "correct-horse-battery-staple";

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pgw-"));
    const web = path.join(dir, "web-config.yml");
    fs.writeFileSync(web, pushgatewayWebConfig(PUSHGATEWAY_USER, bcrypt(password)));
    proc = spawn(
      "prometheus-pushgateway",
      [`--web.listen-address=127.0.0.1:${PORT}`, `--web.config.file=${web}`],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      if (curl(`${URL}/-/ready`).out.endsWith("401") || curl(`${URL}/-/ready`).out.endsWith("200"))
        return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("pushgateway did not start");
  });

  after(() => {
    if (proc?.pid) proc.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const push = (env: Record<string, string>) =>
    spawnSync("bash", ["-c", `${renderPrelude("redis")}\ntrap - EXIT\nreport_success 4096`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH!, SITE: "primary", PUSHGATEWAY_URL: URL, ...env },
    });

  it("refuses reads and pushes without credentials", () => {
    expect(curl(`${URL}/metrics`).out.endsWith("401")).to.equal(true);
    const r = push({});
    expect(r.status).to.not.equal(0);
  });

  it("refuses a wrong password", () => {
    expect(push({ PUSHGATEWAY_USER, PUSHGATEWAY_PASSWORD: "guess" }).status).to.not.equal(0);
  });

  it("takes the job's push with its credentials and serves it to an authenticated scrape", () => {
    const r = push({ PUSHGATEWAY_USER, PUSHGATEWAY_PASSWORD: password });
    expect(r.status, r.stderr).to.equal(0);
    const m = curl("-u", `${PUSHGATEWAY_USER}:${password}`, `${URL}/metrics`).out;
    expect(m).to.match(/backup_size_bytes\{[^}]*kind="redis"[^}]*site="primary"[^}]*\} 4096/);
  });
});
