/**
 * What a site's PostgreSQL exports as the stack output `postgres`, and how a standby site reads
 * the primary's from a StackReference (checked, with a clear error when it is missing).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PrimaryEndpoint } from "./kubernetes";
import type { BackupRepoArgs } from "./settings";
import type { TlsFiles } from "./tls";

/** Cluster-wide credentials; exported as a secret (a standby site uses the primary's). */
export interface PostgresSecrets {
  readonly superuser: string;
  readonly replication: string;
  readonly rewind: string;
  readonly app: string;
  /** Passphrase of the site's pgBackRest repository (repo1). */
  readonly cipherPass: string;
}

export interface PostgresFacts {
  readonly scope: string;
  readonly stanza: string;
  readonly role: string;
  readonly members: number;
  readonly synchronousMode: boolean;
  /** DNS name other sites replicate from (published for the replication load balancer). */
  readonly replicationHost: string;
  readonly port: number;
  /** The load balancer's address once deployed (empty before). */
  readonly replicationAddress: pulumi.Output<string>;
  /** `namespace/name` of the read-write Service. */
  readonly primaryService: pulumi.Output<string>;
  readonly replicasService: pulumi.Output<string>;
  /** The site's pgBackRest repository. */
  readonly repo: BackupRepoArgs;
  /** Standby sites: the stack they follow and the host they stream from. */
  readonly follows?: string;
  readonly standbyHost?: pulumi.Output<string>;
  readonly secrets: pulumi.Output<PostgresSecrets>;
  /**
   * The backup jobs' pgBackRest TLS client files (CA, certificate, key), a secret: the backup
   * wiring writes them into Secret `drstack-pgbackrest-tls` of the backup namespace.
   */
  readonly pgbackrestTls?: pulumi.Output<TlsFiles>;
}

/** The primary's endpoint and secrets from its `postgres` stack output; throws when absent. */
export function primaryFromOutputs(
  value: unknown,
  stack: string,
): { endpoint: PrimaryEndpoint; secrets: PostgresSecrets } {
  const v = value as Partial<Record<string, unknown>> | undefined;
  const missing = (what: string) =>
    new Error(
      `stack ${stack} has no postgres.${what} output: a standby site follows the primary site's stack, which must run postgres (set drstack:postgres.primaryStack to the stack that does)`,
    );
  if (!v || typeof v !== "object") throw missing("*");
  for (const k of ["replicationHost", "port", "scope", "stanza", "repo", "secrets"])
    if (v[k] === undefined) throw missing(k);
  return {
    endpoint: {
      host: String(v.replicationHost),
      port: Number(v.port),
      scope: String(v.scope),
      stanza: String(v.stanza),
      repo: v.repo as BackupRepoArgs,
    },
    secrets: v.secrets as PostgresSecrets,
  };
}
