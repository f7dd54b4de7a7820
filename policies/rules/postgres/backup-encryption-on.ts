/**
 * Every pgBackRest repository is encrypted client-side (repoN-cipher-type aes-256-cbc), so a
 * leaked bucket does not leak the database, and no passphrase sits in a ConfigMap.
 */
import {
  parseIni,
  patroniText,
  pgBackRestFiles,
  repositories,
} from "../../../components/postgres/inspect";
import { CONFIGMAP_TYPE, namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "backup-encryption-on",
  area: "postgres",
  kind: "resource",
  description:
    "Every repository in a pgBackRest config (pgbackrest*.conf in a ConfigMap) sets repoN-cipher-type to aes-256-cbc, no passphrase (repoN-cipher-pass) is written into the ConfigMap, and a ConfigMap with patroni.yaml carries its pgBackRest config.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use drstack's PatroniCluster: it sets repo1-cipher-type=aes-256-cbc and passes the passphrase from a Secret as PGBACKREST_REPO1_CIPHER_PASS. Never put repoN-cipher-pass into a ConfigMap.",
  configSchema: { properties: {} },
  validateResource: (args, reportViolation) => {
    if (args.type !== CONFIGMAP_TYPE) args.notApplicable("not a ConfigMap");
    const files = pgBackRestFiles(args.props);
    const patroni = patroniText(args.props);
    if (files.length === 0 && patroni === undefined)
      args.notApplicable("no pgBackRest or Patroni config");
    const where = `ConfigMap ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    if (files.length === 0) {
      if (/pgbackrest/.test(patroni!))
        reportViolation(
          `${where}: patroni.yaml archives with pgBackRest but the ConfigMap has no pgbackrest.conf to check for encryption`,
        );
      return;
    }
    for (const [key, text] of files) {
      const repos = repositories(parseIni(text));
      if (repos.size === 0) reportViolation(`${where}: ${key} defines no repository`);
      for (const [n, opts] of repos) {
        const cipher = opts.get("cipher-type");
        if (cipher !== "aes-256-cbc")
          reportViolation(
            `${where}: ${key} repo${n} is not encrypted (repo${n}-cipher-type is ${cipher ?? "not set (none)"})`,
          );
        if (opts.has("cipher-pass"))
          reportViolation(
            `${where}: ${key} writes repo${n}-cipher-pass into a ConfigMap; pass it from a Secret as PGBACKREST_REPO${n}_CIPHER_PASS`,
          );
      }
    }
  },
};
