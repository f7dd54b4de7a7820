/**
 * Every Patroni cluster archives its WAL (archive_mode on with a real archive_command), so a
 * region loss or a bad write can be recovered to a point in time from the backup bucket.
 */
import {
  effectiveParameter,
  isOn,
  parsePatroni,
  patroniText,
} from "../../../components/postgres/inspect";
import { ruleConfig } from "../../lib/config";
import { CONFIGMAP_TYPE, namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

const NO_OP = /^\s*(\/bin\/true|true|:|exit 0|\/usr\/bin\/true)\s*$/;

export const rule: DrResourceRule = {
  name: "wal-archiving-on",
  area: "postgres",
  kind: "resource",
  description:
    "The Patroni configuration (patroni.yaml in a ConfigMap) sets archive_mode on (or always), a non-trivial archive_command, and archive_timeout at most maxArchiveTimeoutSeconds (default 300).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use drstack's PatroniCluster, which archives through pgBackRest to the site's backup bucket; do not override archive_mode/archive_command in drstack:postgres.parameters.",
  configSchema: {
    properties: {
      maxArchiveTimeoutSeconds: {
        type: "integer",
        minimum: 1,
        default: 300,
        description: "Longest archive_timeout allowed (bounds the RPO of a quiet primary).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== CONFIGMAP_TYPE) args.notApplicable("not a ConfigMap");
    const text = patroniText(args.props);
    if (text === undefined) args.notApplicable("no patroni.yaml");
    const where = `ConfigMap ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    let config: Record<string, unknown>;
    try {
      config = parsePatroni(text!);
    } catch (e) {
      reportViolation(
        `${where}: patroni.yaml is not valid YAML (${(e as Error).message.split("\n")[0]})`,
      );
      return;
    }
    const mode = effectiveParameter(config, "archive_mode");
    const command = effectiveParameter(config, "archive_command");
    if (!isOn(mode))
      reportViolation(
        `${where}: archive_mode is ${String(mode ?? "off (PostgreSQL's default)")}; WAL is not archived, so no point-in-time recovery`,
      );
    if (typeof command !== "string" || command.trim() === "" || NO_OP.test(command)) {
      reportViolation(
        `${where}: archive_command ${command === undefined ? "is not set" : JSON.stringify(command) + " archives nothing"}`,
      );
    }
    const timeout = Number(effectiveParameter(config, "archive_timeout") ?? 0);
    const { maxArchiveTimeoutSeconds } = ruleConfig<{ maxArchiveTimeoutSeconds: number }>(
      rule,
      args.getConfig(),
    );
    if (!(timeout > 0 && timeout <= maxArchiveTimeoutSeconds)) {
      reportViolation(
        `${where}: archive_timeout is ${timeout || "0 (never forces a switch)"}; set 1..${maxArchiveTimeoutSeconds} seconds so a quiet primary still ships WAL`,
      );
    }
  },
};
