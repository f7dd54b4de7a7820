/**
 * The alert rules as Prometheus itself judges them: `promtool check rules` accepts the rendered
 * file, and `promtool test rules` shows every alert firing on the synthetic series that should
 * fire it and staying quiet on the others (test/fixtures/alerts/cases.yaml).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parse, stringify } from "yaml";
import {
  type AlertOptions,
  ageThreshold,
  REQUIRED_ALERTS,
  renderAlertRules,
  renderRuleFile,
  type RuleGroup,
} from "../components/monitoring/rules";
import { byType, planShipped, projectRoot } from "./support/project";

const OPTIONS: AlertOptions = {
  site: "primary",
  backups: {
    "pg-full": "0 2 * * 0",
    "pg-diff": "0 2 * * 1-6",
    "pg-incr": "30 * * * *",
    redis: "15 * * * *",
  },
  minBytes: { "pg-full": 1048576, "pg-diff": 1, "pg-incr": 1, redis: 256 },
  verifySchedule: "0 6 * * *",
  postgres: true,
  redis: true,
  validators: true,
  validatorSelector: 'namespace="drstack-validators"',
  bucketReplication: "s3-replication",
  bucketName: "example-network-primary-backups",
};

interface Case {
  alert: string;
  at: string;
  series: { series: string; values: string }[];
  expect: Record<string, string>[];
}

function loadCases(): Case[] {
  return (
    parse(
      fs.readFileSync(path.join(projectRoot(), "test", "fixtures", "alerts", "cases.yaml"), "utf8"),
    ) as { cases: Case[] }
  ).cases;
}

function ruleOf(groups: readonly RuleGroup[], alert: string) {
  const r = groups.flatMap((g) => g.rules).find((x) => x.alert === alert);
  if (!r) throw new Error(`no alert ${alert}`);
  return r;
}

/** Annotations as Prometheus renders them (they only use `$labels`). */
function renderAnnotations(
  templates: Readonly<Record<string, string>>,
  labels: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(templates).map(([k, t]) => [
      k,
      t.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_, l: string) => labels[l] ?? ""),
    ]),
  );
}

/** A promtool test file for the cases, expectations completed with each rule's labels and annotations. */
function promtoolTests(groups: readonly RuleGroup[], cases: readonly Case[]): string {
  return stringify({
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: cases.map((c) => {
      const r = ruleOf(groups, c.alert);
      return {
        interval: "1m",
        input_series: c.series,
        alert_rule_test: [
          {
            eval_time: c.at,
            alertname: c.alert,
            exp_alerts: c.expect.map((labels) => ({
              exp_labels: { ...labels, ...r.labels },
              exp_annotations: renderAnnotations(r.annotations, labels),
            })),
          },
        ],
      };
    }),
  });
}

function promtool(dir: string, ...args: string[]): { code: number; out: string } {
  const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8", timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function workdir(groups: readonly RuleGroup[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-alerts-"));
  fs.writeFileSync(path.join(dir, "rules.yaml"), renderRuleFile(groups));
  return dir;
}

describe("monitoring: alert rules", () => {
  const groups = renderAlertRules(OPTIONS);

  it("defines every alert the issue requires", () => {
    const names = groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const a of REQUIRED_ALERTS) expect(names, a).to.include(a);
  });

  it("passes promtool check rules", () => {
    const r = promtool(workdir(groups), "check", "rules", "rules.yaml");
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/SUCCESS: \d+ rules found/);
  });

  it("fires each alert on the series that should fire it and not on the others (promtool test rules)", () => {
    const cases = loadCases();
    for (const a of REQUIRED_ALERTS)
      expect(
        cases.filter((c) => c.alert === a && c.expect.length > 0),
        `a firing case for ${a}`,
      ).to.not.be.empty;
    const dir = workdir(groups);
    fs.writeFileSync(path.join(dir, "tests.yaml"), promtoolTests(groups, cases));
    const r = promtool(dir, "test", "rules", "tests.yaml");
    expect(r.code, r.out).to.equal(0);
  });

  it("promtool catches a wrong expectation (the harness can fail)", () => {
    const cases = loadCases().filter((c) => c.alert === "BackupTooOld");
    cases[0].expect.push({ site: "primary", kind: "pg-incr" }); // fresh: must not fire
    const dir = workdir(groups);
    fs.writeFileSync(path.join(dir, "tests.yaml"), promtoolTests(groups, cases));
    const r = promtool(dir, "test", "rules", "tests.yaml");
    expect(r.code).to.not.equal(0);
    expect(r.out).to.contain("BackupTooOld");
  });

  it("gives rare schedules a longer age limit: 24 h for frequent jobs, else the longest gap + 6 h", () => {
    expect(ageThreshold("30 * * * *")).to.equal(86400);
    expect(ageThreshold("*/15 * * * *")).to.equal(86400);
    expect(ageThreshold("0 2 * * *")).to.equal(30 * 3600); // a daily job may start late or run long
    // Differentials skip Sunday (the full runs then): Saturday 02:00 to Monday 02:00 is 48 h.
    expect(ageThreshold("0 2 * * 1-6")).to.equal(2 * 86400 + 6 * 3600);
    expect(ageThreshold("0 2 * * 0")).to.equal(7 * 86400 + 6 * 3600);
  });

  it("renders only the rules a site needs: a validators-only site gets ValidatorDown and no backup alerts", () => {
    const g = renderAlertRules({
      site: "west",
      backups: {},
      minBytes: {},
      postgres: false,
      redis: false,
      validators: true,
    });
    expect(g.flatMap((x) => x.rules.map((r) => r.alert))).to.deep.equal(["ValidatorDown"]);
  });

  it("deploys the rules as a PrometheusRule in the system namespace of every shipped stack", async () => {
    for (const plan of await planShipped()) {
      const rules = byType(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
      expect(rules, plan.stack).to.have.length(1);
      const inputs = rules[0].inputs as {
        apiVersion: string;
        kind: string;
        metadata: { namespace: string };
        spec: { groups: RuleGroup[] };
      };
      expect(inputs.apiVersion).to.equal("monitoring.coreos.com/v1");
      expect(inputs.metadata.namespace).to.equal("drstack-system");
      const names = inputs.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
      expect(names).to.include("ValidatorDown");
      if (plan.stack === "primary") {
        for (const a of REQUIRED_ALERTS) expect(names, a).to.include(a);
        // The deployed rules pass promtool too.
        const r = promtool(workdir(inputs.spec.groups), "check", "rules", "rules.yaml");
        expect(r.code, r.out).to.equal(0);
      }
    }
  });
});
