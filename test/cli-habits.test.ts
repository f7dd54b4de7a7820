/**
 * CLI habits: --version, `help <command>`, did-you-mean for commands, flags, sites, stacks,
 * scenarios and rule names, confirmation before a live failover/failback (refused without a
 * terminal unless --yes), stack-file problems with their line, one message per YAML syntax error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { type Io } from "../cli/command";
import { COMMANDS, main } from "../cli/main";
import { projectRoot, runCli } from "./support/project";

/** A copy of the project's Pulumi.yaml and stacks/ (what the CLI reads), to break or to guard. */
function projectCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-habits-"));
  fs.copyFileSync(path.join(projectRoot(), "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.cpSync(path.join(projectRoot(), "stacks"), path.join(dir, "stacks"), { recursive: true });
  return dir;
}

/** An Io that records output and answers questions with `answer` (interactive when given). */
function fakeIo(answer?: string): Io & { outText: string; errText: string; asked: string[] } {
  const io = {
    outText: "",
    errText: "",
    asked: [] as string[],
    out: (t: string) => void (io.outText += `${t}\n`),
    err: (t: string) => void (io.errText += `${t}\n`),
    interactive: answer !== undefined,
    ask: async (q: string) => {
      io.asked.push(q);
      return answer ?? "";
    },
  };
  return io;
}

describe("CLI habits", function () {
  this.timeout(120_000);

  it("--version prints the package version", () => {
    const version = JSON.parse(
      fs.readFileSync(path.join(projectRoot(), "package.json"), "utf8"),
    ).version;
    for (const flag of ["--version", "-V"]) {
      const r = runCli([flag]);
      expect(r.code).to.equal(0);
      expect(r.stdout.trim()).to.equal(`drstack ${version}`);
    }
  });

  it("help <command> prints that command's help; an unknown one suggests the nearest", async () => {
    for (const c of COMMANDS) {
      const io = fakeIo();
      expect(await main(["help", c.name], io), c.name).to.equal(0);
      expect(io.outText.trim()).to.equal(c.help.trim());
    }
    const r = runCli(["help", "failovr"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/unknown command "failovr" \(did you mean failover\?\)/);
  });

  it("suggests the nearest command, flag, site, stack, scenario and rule name", () => {
    const cases: [string[], RegExp][] = [
      [["failovr"], /did you mean failover\?/],
      [
        ["failover", "--to", "dr", "--dryrun"],
        /Unknown option '--dryrun' \(did you mean --dry-run\?\)/,
      ],
      [["failover", "--to", "dx", "--dry-run"], /no site named "dx".*did you mean dr\?/],
      [
        ["failback", "--site", "primry", "--dry-run"],
        /no site named "primry".*did you mean primary\?/,
      ],
      [["plan", "--stack", "primry"], /no stack "primry".*did you mean primary\?/],
      [["runbook", "--scenario", "regoin"], /got "regoin" \(did you mean region\?\)/],
      [["policy", "--stack", "primary", "--format", "jsn"], /did you mean json\?/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.stderr, args.join(" ")).to.match(re);
    }
    const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drstack-pc-")), "p.json");
    fs.writeFileSync(config, JSON.stringify({ "region-votng-power": "advisory" }));
    const r = runCli(["policy", "--stack", "primary", "--config", config]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(
      /region-votng-power: no such rule \(did you mean region-voting-power\?/,
    );
  });

  describe("confirmation before a live failover or failback", () => {
    let dir = "";
    let before = "";
    beforeEach(() => {
      dir = projectCopy();
      before = fs.readFileSync(path.join(dir, "stacks", "network.yaml"), "utf8");
    });
    afterEach(() => {
      // Nothing was changed, whatever the answer.
      expect(fs.readFileSync(path.join(dir, "stacks", "network.yaml"), "utf8")).to.equal(before);
    });

    it("is refused without a terminal unless --yes is given (exit 2, nothing contacted)", () => {
      for (const args of [
        ["failover", "--to", "dr"],
        ["failback", "--site", "dr", "--swap-back"],
      ]) {
        const r = runCli([...args, "--project", dir]);
        expect(r.code, args.join(" ")).to.equal(2);
        expect(r.stderr).to.match(
          /needs a confirmation; there is no terminal to ask on: pass --yes/,
        );
      }
      // --yes passes the confirmation: what stops it now is the missing driver, not the question.
      const r = runCli(["failover", "--to", "dr", "--yes", "--project", dir]);
      expect(r.stderr).not.to.match(/needs a confirmation/);
    });

    it("asks at a terminal; a wrong answer aborts with exit 1 and changes nothing", async () => {
      const io = fakeIo("yes");
      const code = await main(["failover", "--to", "dr", "--project", dir], io);
      expect(code).to.equal(1);
      expect(io.asked).to.have.length(1);
      expect(io.asked[0]).to.match(/Failover primary -> dr changes live systems.*\n.*"dr"/);
      expect(io.errText).to.match(/aborted: nothing was changed/);
    });

    it("typing the site name proceeds past the question", async () => {
      const io = fakeIo("dr");
      await main(["failover", "--to", "dr", "--project", dir, "--driver", "local"], io);
      expect(io.asked).to.have.length(1);
      expect(io.errText).not.to.match(/aborted/);
      // The local driver needs --sites: the run got past the confirmation to the driver.
      expect(io.errText).to.match(/--sites/);
    });

    it("dry runs never ask", async () => {
      const io = fakeIo("no");
      const code = await main(["failover", "--to", "dr", "--dry-run", "--project", dir], io);
      expect(code).to.equal(0);
      expect(io.asked).to.have.length(0);
    });
  });

  describe("stack-file problems", () => {
    it("name the file, the line and the field, flat or nested keys", () => {
      const dir = projectCopy();
      const file = path.join(dir, "stacks", "Pulumi.primary.yaml");
      const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
      const n = lines.length;
      fs.writeFileSync(
        file,
        [
          ...lines,
          "  drstack:backup.keyRecipient: abc",
          "  drstack:redis:",
          "    sentinels: -1",
          "  drstack:postgress: {}",
        ].join("\n") + "\n",
      );
      const r = runCli(["plan", "--stack", "primary", "--project", dir]);
      expect(r.code).to.equal(2);
      const f = "stacks/Pulumi.primary.yaml";
      expect(r.stderr).to.include(
        `${f}:${n + 1}: config.drstack:backup.keyRecipient: unknown config key`,
      );
      expect(r.stderr).to.match(/pulumi config set --path 'drstack:backup.keyRecipient'/);
      expect(r.stderr).to.include(`${f}:${n + 3}: config.drstack:redis.sentinels:`);
      expect(r.stderr).to.match(
        new RegExp(
          `${f}:${n + 4}: config.drstack:postgress: unknown config key.*did you mean drstack:postgres\\?`,
        ),
      );
    });

    it("one YAML syntax error gives one message, with its line", () => {
      const dir = projectCopy();
      const file = path.join(dir, "stacks", "network.yaml");
      const lines = fs.readFileSync(file, "utf8").split("\n");
      const at = lines.findIndex((l) => /^ {4}role: /.test(l));
      lines[at] = lines[at].replace(/^ {2}/, "\t");
      fs.writeFileSync(file, lines.join("\n"));
      const r = runCli(["plan", "--stack", "primary", "--project", dir]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/1 problem\n/);
      expect(r.stderr).to.include(`stacks/network.yaml:${at + 1}: YAML syntax error: Tabs`);
      expect(r.stderr.match(/YAML syntax error/g)).to.have.length(1);
    });
  });
});
