/**
 * RULES.md, generated from the rules' metadata: `drstack policy --rules-md > RULES.md`
 * (or `node dist/policies/lib/rules-md.js > RULES.md`). A test keeps the file in sync.
 */
import type { DrRule } from "./rule";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

export function rulesMarkdown(rules: readonly DrRule[]): string {
  const out: string[] = [
    "# drstack policy rules",
    "",
    "<!-- Generated from the rules' metadata by `drstack policy --rules-md > RULES.md`; do not edit by hand. -->",
    "",
    "Every rule lives in `policies/rules/<area>/<name>.ts`. The pack (`pulumi preview --policy-pack policies`) and the offline checker (`drstack policy`) run the same rule objects.",
    "Settings and enforcement levels can be overridden with a policy config file (`drstack policy --config FILE`, `pulumi preview --policy-pack-config FILE`).",
    "",
    "| rule | area | kind | severity | enforcement |",
    "|---|---|---|---|---|",
    ...rules.map(
      (r) =>
        `| [\`${r.name}\`](#${r.name}) | ${r.area} | ${r.kind === "stack" ? `stack${r.scope === "network" ? " (network-wide)" : ""}` : "resource"} | ${r.severity} | ${r.enforcementLevel} |`,
    ),
  ];
  for (const r of rules) {
    out.push(
      "",
      `## ${r.name}`,
      "",
      r.description,
      "",
      `- **Area:** ${r.area} (\`policies/rules/${r.area}/${r.name}.ts\`)`,
    );
    out.push(
      `- **Kind:** ${r.kind === "stack" ? (r.scope === "network" ? "stack rule, run once over all stacks by `drstack policy`" : "stack rule") : "resource rule"}`,
    );
    out.push(
      `- **Severity:** ${r.severity}`,
      `- **Default enforcement:** ${r.enforcementLevel}`,
      `- **Remediation:** ${r.remediationSteps}`,
    );
    const props = Object.entries(r.configSchema.properties ?? {}) as [
      string,
      { type?: unknown; default?: unknown; description?: string },
    ][];
    if (props.length) {
      out.push("", "| setting | type | default | description |", "|---|---|---|---|");
      for (const [k, v] of props)
        out.push(
          `| \`${k}\` | ${String(v.type ?? "")} | \`${cell(JSON.stringify(v.default))}\` | ${cell(v.description ?? "")} |`,
        );
    } else out.push("- **Settings:** none");
  }
  return out.join("\n") + "\n";
}

if (require.main === module) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadRules } = require("./registry") as typeof import("./registry");
  process.stdout.write(rulesMarkdown(loadRules()));
}
