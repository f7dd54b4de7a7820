import * as fs from "node:fs";
import * as path from "node:path";
import { planAll } from "../../planner/plan";
import { PolicyConfigError, resolveSettings } from "../../policies/lib/config";
import { loadRules } from "../../policies/lib/registry";
import { formatMarkdown, formatText, reportJson } from "../../policies/lib/report";
import { rulesMarkdown } from "../../policies/lib/rules-md";
import { mandatoryCount, runPolicies } from "../../policies/lib/runner";
import { type Command, EXIT, oneOf, toJson, UsageError } from "../command";

const FORMATS = ["text", "json", "markdown"] as const;

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(
      `--config ${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--config ${file}: not valid JSON: ${(e as Error).message}`);
  }
}

export const policyCommand: Command = {
  name: "policy",
  summary: "run the CrossGuard policy pack offline over the plan of one stack or all stacks",
  options: {
    stack: { type: "string", short: "s", multiple: true },
    all: { type: "boolean" },
    network: { type: "string" },
    format: { type: "string" },
    json: { type: "boolean" },
    config: { type: "string" },
    "rules-md": { type: "boolean" },
  },
  help: `Usage: drstack policy (--stack NAME... | --all) [--network FILE] [--format text|json|markdown] [--config FILE]
       drstack policy --rules-md

Plans the stacks offline (Pulumi's mock runtime, no cloud, no Pulumi CLI) and runs the very
same rule objects the policy pack in policies/ registers: resource rules on every resource,
stack rules on every stack, and network-wide rules (region voting power, zones, party hosting,
validators per site, single signer) once over the union of all planned stacks.

Options:
  -s, --stack NAME     check this stack (repeatable)
      --all            check every stack in stacks/
      --network FILE   check another topology: one stack per site of FILE
      --format FORMAT  text (default), json, or markdown (for a pull-request comment)
      --json           same as --format json
      --config FILE    policy config JSON, as for pulumi --policy-pack-config:
                       { "all": "advisory", "region-voting-power": { "maxFraction": "1/4" },
                         "restricted-pods": "disabled" }
      --rules-md       print RULES.md (every rule's metadata) and exit
      --project DIR    project directory (default: current directory)

Exit codes: 0 no mandatory violations, 1 mandatory violations, 2 bad input or config
(unknown stack, invalid topology, bad --format, bad --config), 3 internal error.`,
  async run({ values, io, projectDir }) {
    const format = values.json ? "json" : oneOf(values, "format", FORMATS, "text");
    const rules = loadRules();
    if (values["rules-md"]) {
      io.out(rulesMarkdown(rules));
      return EXIT.ok;
    }
    const stacks = (values.stack as string[] | undefined) ?? [];
    if (!values.all && stacks.length === 0)
      throw new UsageError("say which stacks: --stack NAME or --all");
    if (values.all && stacks.length > 0)
      throw new UsageError("use either --stack or --all, not both");
    const configFile = typeof values.config === "string" ? values.config : undefined;
    let settings;
    try {
      settings = resolveSettings(
        rules,
        configFile ? readConfigFile(path.resolve(configFile)) : {},
        configFile ?? "policy config",
      );
    } catch (e) {
      if (e instanceof PolicyConfigError) {
        io.err(`error: ${e.message}`);
        return EXIT.badInput;
      }
      throw e;
    }
    const networkFile = typeof values.network === "string" ? values.network : undefined;
    if (networkFile && !fs.existsSync(networkFile))
      throw new UsageError(`--network ${networkFile}: no such file`);
    const plans = await planAll({ projectDir, networkFile, ...(values.all ? {} : { stacks }) });
    const report = await runPolicies(plans, rules, { settings });
    if (format === "json") io.out(toJson(reportJson(report)));
    else io.out(format === "markdown" ? formatMarkdown(report) : formatText(report));
    return mandatoryCount(report) > 0 ? EXIT.checkFailed : EXIT.ok;
  },
};
