import * as fs from "node:fs";
import * as path from "node:path";
import {
  analysisJson,
  analyzeResources,
  formatAnalysisMarkdown,
  formatAnalysisText,
} from "../../analyze";
import { DEFAULT_SWAP_ASSUMPTIONS } from "../../analyze/bounds";
import { loadNetwork } from "../../components/topology/load";
import { parseDuration } from "../../components/topology/model";
import { planAll } from "../../planner/plan";
import { type Command, EXIT, oneOf, toJson, UsageError, type Values } from "../command";

const FORMATS = ["text", "json", "markdown"] as const;

function seconds(values: Values, key: string, fallback: number): number {
  const v = values[key];
  if (v === undefined) return fallback;
  const s = typeof v === "string" ? parseDuration(v) : undefined;
  if (s === undefined)
    throw new UsageError(`--${key}: write a duration such as 5m or 300s, got ${JSON.stringify(v)}`);
  return s;
}

export const analyzeCommand: Command = {
  name: "analyze",
  summary: "what each zone, region, cloud and site loss leaves, against the declared objectives",
  options: {
    network: { type: "string" },
    format: { type: "string" },
    json: { type: "boolean" },
    markdown: { type: "boolean" },
    decision: { type: "string" },
    "stack-update": { type: "string" },
    "patroni-version": { type: "string" },
  },
  help: `Usage: drstack analyze [--network FILE] [--format text|json|markdown] [--json] [--markdown]
                       [--decision DURATION] [--stack-update DURATION] [--patroni-version X.Y.Z]

Plans every stack offline (as drstack plan --all), reads the rendered settings back (Patroni
ttl / loop_wait / retry_timeout / synchronous mode, sentinel down-after / failover-timeout and
quorum, backup schedules, WAL archiving, bucket replication, the replication-lag alert) and, for
every zone, pair of zones in one region, region, cloud and site, reports what its loss leaves:
consensus (voting power online, halt), which site serves PostgreSQL writes, whether a current
copy survives, Redis failover, backups outside the domain and the newest restorable point, and
the achievable RTO / RPO with the formula, against the objectives in the network file.

Options:
      --network FILE          analyze another topology: one stack per site of FILE
      --format FORMAT         text (default), json, or markdown (for a pull-request comment)
      --json / --markdown     same as --format json / markdown
      --decision DURATION     time to decide on a region failover (default ${DEFAULT_SWAP_ASSUMPTIONS.decisionSeconds}s)
      --stack-update DURATION time to apply the target's stack in a swap (default ${DEFAULT_SWAP_ASSUMPTIONS.stackUpdateSeconds}s)
      --patroni-version X.Y.Z the Patroni the image runs (default unknown: Patroni >= 3.2's
                              timeout floors are applied, the slower case)
      --project DIR           project directory (default: current directory)

Exit codes: 0 every objective met and no domain loss halts consensus or leaves no current copy,
1 one of those fails, 2 bad input or config, 3 internal error.`,
  async run({ values, io, projectDir }) {
    const format = values.json
      ? "json"
      : values.markdown
        ? "markdown"
        : oneOf(values, "format", FORMATS, "text");
    const assumptions = {
      decisionSeconds: seconds(values, "decision", DEFAULT_SWAP_ASSUMPTIONS.decisionSeconds),
      stackUpdateSeconds: seconds(
        values,
        "stack-update",
        DEFAULT_SWAP_ASSUMPTIONS.stackUpdateSeconds,
      ),
    };
    const version = values["patroni-version"];
    if (
      version !== undefined &&
      !(typeof version === "string" && /^\d+(\.\d+){0,2}$/.test(version))
    )
      throw new UsageError(
        `--patroni-version: write a version such as 3.0.2, got ${JSON.stringify(version)}`,
      );
    const networkFile = typeof values.network === "string" ? values.network : undefined;
    if (networkFile && !fs.existsSync(networkFile))
      throw new UsageError(`--network ${networkFile}: no such file`);
    const plans = await planAll({ projectDir, networkFile });
    const netPath = networkFile
      ? path.resolve(networkFile)
      : path.resolve(projectDir, plans[0]?.config["drstack:network"] ?? "stacks/network.yaml");
    const network = loadNetwork(netPath, path.relative(projectDir, netPath));
    const resources = plans.flatMap((p) =>
      p.resources.map((r) => ({ type: r.type, urn: r.urn, name: r.name, props: r.inputs })),
    );
    const analysis = analyzeResources(network, resources, {
      assumptions,
      ...(typeof version === "string" ? { patroniVersion: version } : {}),
    });
    if (format === "json") io.out(toJson(analysisJson(analysis)));
    else
      io.out(
        format === "markdown" ? formatAnalysisMarkdown(analysis) : formatAnalysisText(analysis),
      );
    return analysis.problems.length > 0 ? EXIT.checkFailed : EXIT.ok;
  },
};
