/**
 * `drstack restore`: the dry run prints every step and command in a safe order (Patroni paused,
 * replicas stopped before the leader, the leader restored, resumed, replicas re-seeded), PITR
 * arguments as pgBackRest takes them; bad input and a live run without --yes are exit 2.
 */
import { expect } from "chai";
import { runCli } from "./support/project";

function steps(stdout: string): string[] {
  return [...stdout.matchAll(/^\s+\$ (.*)$/gm)].map((m) => m[1]);
}

describe("drstack restore", function () {
  this.timeout(120_000);

  it("postgres --dry-run: pause, replicas then leader stopped, leader restored, resume, reseed", () => {
    const r = runCli(["restore", "--target", "postgres", "--dry-run"]);
    expect(r.code, r.stderr).to.equal(0);
    const cmds = steps(r.stdout);
    const idx = (re: RegExp) => cmds.findIndex((c) => re.test(c));
    const pause = idx(/patronictl .* pause pg-example-network --wait$/);
    const stopReplicas = [1, 2].map((i) =>
      idx(new RegExp(`exec pg-example-network-${i} .*pg_ctl stop`)),
    );
    const stopLeader = idx(/exec pg-example-network-0 .*pg_ctl stop/);
    const restore = idx(
      /exec pg-example-network-0 .*pgbackrest .*--stanza=pg-example-network restore --delta$/,
    );
    const resume = idx(/patronictl .* resume pg-example-network --wait$/);
    const reinit = [1, 2].map((i) =>
      idx(new RegExp(`reinit pg-example-network pg-example-network-${i} --force`)),
    );
    for (const i of [pause, ...stopReplicas, stopLeader, restore, resume, ...reinit])
      expect(i, r.stdout).to.be.greaterThan(-1);
    expect(pause).to.be.lessThan(Math.min(...stopReplicas));
    expect(Math.max(...stopReplicas)).to.be.lessThan(stopLeader);
    expect(stopLeader).to.be.lessThan(restore);
    expect(restore).to.be.lessThan(resume);
    expect(resume).to.be.lessThan(Math.min(...reinit));
  });

  it("postgres --to TIME restores to that point and promotes there", () => {
    const r = runCli([
      "restore",
      "--target",
      "postgres",
      "--to",
      "2026-01-01T12:00:00Z",
      "--dry-run",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(
      'restore --delta --type=time --target="2026-01-01 12:00:00+00" --target-action=promote',
    );
  });

  it("keys --dry-run prints the sealed-backup restore: the site's sealed files, then K shares", () => {
    const r = runCli(["restore", "--target", "keys", "--site", "primary", "--dry-run"]);
    expect(r.code, r.stderr).to.equal(0);
    const printed = steps(r.stdout);
    expect(printed).to.have.length(2);
    expect(printed[0]).to.match(/^rclone copy backup:<bucket>\/keys\/primary\/ \.\/sealed /);
    expect(printed[1]).to.match(/^drstack keys restore --sealed \S+ --backup \S+ --share /);
  });

  it("keys has no live run: drstack never holds the custodians' shares", () => {
    const r = runCli(["restore", "--target", "keys", "--site", "primary", "--yes"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/custodians/);
  });

  it("bad input and a live run without a terminal or --yes are exit 2", () => {
    const cases: [string[], RegExp][] = [
      [["restore", "--dry-run"], /--target postgres\|keys/],
      [["restore", "--target", "postgress", "--dry-run"], /did you mean postgres\?/],
      [
        ["restore", "--target", "postgres", "--site", "primry", "--dry-run"],
        /did you mean primary\?/,
      ],
      [["restore", "--target", "postgres", "--site", "west", "--dry-run"], /does not run postgres/],
      [
        ["restore", "--target", "postgres", "--to", "yesterday", "--dry-run"],
        /--to must be a time/,
      ],
      [["restore", "--target", "postgres"], /needs a confirmation; there is no terminal.*--yes/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.stderr, args.join(" ")).to.match(re);
    }
  });
});
