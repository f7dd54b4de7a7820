/**
 * Secret values never in plaintext. Kubernetes Secrets' data/stringData must come from Pulumi
 * secrets (random passwords, `pulumi config set --secret`), so they are encrypted in state and
 * masked in previews; and no container gets a password-like environment variable as a literal.
 *
 * The offline checker knows which inputs are Pulumi secrets (the planner records them) and
 * requires data/stringData to be one. The real analyzer unwraps secrets before rules see them, so
 * under `pulumi preview` this rule can only flag values that look like literals: placeholders and
 * well-known weak values. Both modes check literal env values.
 */
import { ruleConfig } from "../../lib/config";
import { isWorkload, podTemplate, POD_TYPE, SECRET_TYPE } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";
import { secretInputsOf } from "../../lib/secrets";

const WEAK = [
  "",
  "password",
  "passw0rd",
  "changeme",
  "change-me",
  "secret",
  "admin",
  "root",
  "test",
  "example",
  "default",
  "postgres",
  "redis",
  "123456",
  "12345678",
  "letmein",
  "todo",
  "xxx",
];

const patterns = new Map<string, RegExp>();

function decode(v: unknown): string {
  if (typeof v !== "string") return String(v);
  try {
    return Buffer.from(v, "base64").toString("utf8");
  } catch {
    return v;
  }
}

export const rule: DrResourceRule = {
  name: "no-plaintext-secrets",
  area: "kubernetes",
  kind: "resource",
  description:
    "Kubernetes Secret data/stringData come from Pulumi secrets (never literals in code or state), and no container sets a password/token/key-like environment variable to a literal value.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Generate the value with @pulumi/random (RandomPassword) or read it with config.requireSecret, wrap it with pulumi.secret(...) before putting it in the Secret; in containers use env[].valueFrom.secretKeyRef instead of env[].value.",
  configSchema: {
    properties: {
      secretEnvPattern: {
        type: "string",
        default: "(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL)",
        description: "Case-insensitive regex of env var names that must not have literal values.",
      },
      weakValues: {
        type: "array",
        items: { type: "string" },
        default: WEAK,
        description:
          "Values that are literals by their look (checked when secretness is unknown, under the real engine).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    const c = ruleConfig<{ secretEnvPattern: string; weakValues: string[] }>(
      rule,
      args.getConfig(),
    );
    if (args.type === SECRET_TYPE) {
      const secret = secretInputsOf(args.props);
      for (const field of ["data", "stringData"] as const) {
        const values = args.props[field] as Record<string, unknown> | undefined;
        if (!values || Object.keys(values).length === 0) continue;
        if (secret !== undefined) {
          if (!secret.includes(field))
            reportViolation(
              `Secret ${args.props.metadata?.name ?? args.name}: ${field} (${Object.keys(values).join(", ")}) is not a Pulumi secret: it would be stored in plaintext in the state and shown in previews`,
            );
          continue;
        }
        for (const [k, v] of Object.entries(values)) {
          const plain = field === "data" ? decode(v) : String(v);
          if (c.weakValues.includes(plain.trim().toLowerCase()))
            reportViolation(
              `Secret ${args.props.metadata?.name ?? args.name}: ${field}.${k} is the literal ${JSON.stringify(plain)}`,
            );
        }
      }
      return;
    }
    if (!isWorkload(args.type) && args.type !== POD_TYPE) return;
    let re = patterns.get(c.secretEnvPattern);
    if (!re) patterns.set(c.secretEnvPattern, (re = new RegExp(c.secretEnvPattern, "i")));
    const spec = podTemplate(args.type, args.props)?.spec ?? {};
    for (const ctr of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const e of ctr.env ?? []) {
        if (re.test(e.name) && typeof e.value === "string" && e.value !== "") {
          reportViolation(
            `container ${ctr.name}: env ${e.name} has a literal value; use valueFrom.secretKeyRef`,
          );
        }
      }
    }
  },
};
