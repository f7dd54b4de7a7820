import * as path from "node:path";
import { loadNetwork } from "../../components/topology/load";
import { planAll } from "../../planner/plan";
import {
  countsByType,
  formatTopology,
  resourceTree,
  stackPlanJson,
  topologySummary,
} from "../../planner/report";
import { type Command, EXIT, toJson, UsageError } from "../command";

export const PLAN_JSON_VERSION = 1;

export const planCommand: Command = {
  name: "plan",
  summary: "run the Pulumi program offline (mock runtime) and show what each stack would deploy",
  options: {
    stack: { type: "string", short: "s", multiple: true },
    all: { type: "boolean" },
    network: { type: "string" },
    json: { type: "boolean" },
  },
  help: `Usage: drstack plan (--stack NAME... | --all) [--network FILE] [--json]

Runs the real drstack program in-process under Pulumi's mock runtime, for one stack or every
stack in stacks/, and records every resource (type, name, URN as the engine forms it, parent,
provider, inputs, outputs). Stacks that read another stack through a StackReference are planned
after it, with its outputs. Prints the resource tree, counts by type and a topology summary
(sites, zones, validators, voting power per region as exact fraction and percent).

Options:
  -s, --stack NAME   plan this stack (repeatable)
      --all          plan every stack in stacks/
      --network FILE use this topology file instead of the stacks' drstack:network
      --json         print the machine-readable plan (shape in README.md)
      --project DIR  project directory (default: current directory)

Exit codes: 0 planned, 2 bad input or config (every problem listed), 3 internal/engine error.`,
  async run({ values, io, projectDir }) {
    const stacks = (values.stack as string[] | undefined) ?? [];
    if (!values.all && stacks.length === 0)
      throw new UsageError("say which stacks: --stack NAME or --all");
    if (values.all && stacks.length > 0)
      throw new UsageError("use either --stack or --all, not both");
    const networkFile = typeof values.network === "string" ? values.network : undefined;
    const plans = await planAll({ projectDir, networkFile, ...(values.all ? {} : { stacks }) });
    const netPath = networkFile
      ? path.resolve(networkFile)
      : path.resolve(projectDir, plans[0].config["drstack:network"] ?? "stacks/network.yaml");
    const network = loadNetwork(netPath, path.relative(projectDir, netPath));
    const topology = topologySummary(network);
    if (values.json) {
      io.out(
        toJson({
          drstackPlan: PLAN_JSON_VERSION,
          project: plans[0].project,
          network: path.relative(projectDir, netPath),
          topology,
          stacks: plans.map(stackPlanJson),
        }),
      );
      return EXIT.ok;
    }
    for (const plan of plans) {
      io.out(
        `Stack ${plan.stack} (${plan.file}): ${plan.resources.length} resources, planned in ${plan.durationMs.toFixed(0)} ms`,
      );
      io.out(resourceTree(plan.resources).replace(/^/gm, "  "));
      io.out("  Resources by type:");
      for (const [type, n] of Object.entries(countsByType(plan.resources)))
        io.out(`    ${String(n).padStart(4)}  ${type}`);
      if (plan.stackReferences.length) io.out(`  Reads stacks: ${plan.stackReferences.join(", ")}`);
      io.out("");
    }
    io.out(formatTopology(topology));
    return EXIT.ok;
  },
};
