/**
 * The pgBackRest TLS server of the Patroni pods as plain data: certificate subjects, the server
 * certificate's DNS names (every name a backup job may connect to), validity, Secret names and
 * file paths. `PgBackRestTls` turns it into `@pulumi/tls` resources and Secrets; tests generate
 * throwaway certificates from the same plan. Pure.
 */
import type { TlsServerSpec } from "./pgbackrest";

/** Port of `pgbackrest server` (pgBackRest's default; the backup jobs leave `pg1-host-port` unset). */
export const PGBACKREST_TLS_PORT = 8432;
/** Common name of the backup jobs' client certificate, the one `tls-server-auth` admits. */
export const PGBACKREST_CLIENT_CN = "pgbackrest-client";
/** Secret in the backup namespace the backup jobs mount at /tls. */
export const BACKUP_TLS_SECRET = "drstack-pgbackrest-tls";
/** Where the Patroni pods mount the server's Secret. */
export const PGBACKREST_TLS_DIR = "/etc/pgbackrest-tls";
/** Keys of both Secrets (the `kubernetes.io/tls` layout plus the CA). */
export const TLS_FILES = { ca: "ca.crt", cert: "tls.crt", key: "tls.key" } as const;

/** Validity of the CA and of the leaf certificates, in hours. */
export const TLS_VALIDITY = {
  /** CA: 5 years, replaced by `pulumi up` in its last year (which re-signs both leaves). */
  ca: { validityHours: 5 * 8760, earlyRenewalHours: 8760 },
  /** Server and client: 1 year, replaced by `pulumi up` in their last 30 days. */
  leaf: { validityHours: 8760, earlyRenewalHours: 30 * 24 },
} as const;

/** PEM files of one party: the CA it trusts, its certificate and its private key. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The server Secret of a cluster (data namespace). */
export function serverTlsSecretName(scope: string): string {
  return `${scope}-pgbackrest-tls`;
}

export interface PgBackRestTlsInput {
  /** Patroni scope: the primary Service and the stanza. */
  readonly scope: string;
  /** Namespace of the cluster (the site's data namespace). */
  readonly namespace: string;
  /** Headless Service governing the StatefulSet (per-pod names `<pod>.<headless>.<ns>.svc`). */
  readonly headlessService: string;
  /** Site name, part of the CA's name. */
  readonly site: string;
  /** Cluster DNS domain. Default `cluster.local`. */
  readonly clusterDomain?: string;
  /** More DNS names for the server certificate (e.g. `localhost` in tests). Default none. */
  readonly extraDnsNames?: readonly string[];
}

export interface CertSubject {
  readonly commonName: string;
  readonly organization: string;
  readonly organizationalUnit: string;
}

export interface PgBackRestTlsPlan {
  readonly ca: { readonly subject: CertSubject } & (typeof TLS_VALIDITY)["ca"];
  readonly server: {
    readonly subject: CertSubject;
    /** Subject alternative names: the primary Service and every member, short and fully qualified. */
    readonly dnsNames: readonly string[];
    /** Secret in the data namespace mounted into the Patroni pods. */
    readonly secretName: string;
  } & (typeof TLS_VALIDITY)["leaf"];
  readonly client: {
    readonly subject: CertSubject;
    /** Secret in the backup namespace the jobs mount. */
    readonly secretName: string;
  } & (typeof TLS_VALIDITY)["leaf"];
  /** `tls-server-auth`: the client's common name may use the cluster's stanza only. */
  readonly auth: Readonly<Record<string, readonly string[]>>;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Problems with a DNS name (`*.` allowed as the first label), as messages. */
function dnsNameProblems(name: string): string[] {
  const labels = name.replace(/^\*\./, "").split(".");
  const out: string[] = [];
  if (name.length > 253) out.push(`${name} is longer than 253 characters`);
  for (const l of labels)
    if (!DNS_LABEL.test(l))
      out.push(
        `${JSON.stringify(name)}: label ${JSON.stringify(l)} is not a lowercase DNS label of 1-63 characters`,
      );
  return out;
}

/** The certificates of a cluster's pgBackRest TLS server; throws naming every bad field. */
export function pgBackRestTlsPlan(input: PgBackRestTlsInput): PgBackRestTlsPlan {
  const domain = input.clusterDomain ?? "cluster.local";
  const problems: string[] = [];
  for (const f of ["scope", "namespace", "headlessService"] as const)
    if (!DNS_LABEL.test(input[f]))
      problems.push(
        `${f}: ${JSON.stringify(input[f])} is not a lowercase DNS label of 1-63 characters`,
      );
  for (const p of dnsNameProblems(domain)) problems.push(`clusterDomain: ${p}`);
  (input.extraDnsNames ?? []).forEach((n, i) =>
    dnsNameProblems(n).forEach((p) => problems.push(`extraDnsNames[${i}]: ${p}`)),
  );
  if (problems.length > 0) throw new Error(`invalid pgBackRest TLS names: ${problems.join("; ")}`);

  const { scope, namespace: ns, headlessService: headless } = input;
  const svc = (name: string) => [`${name}.${ns}.svc`, `${name}.${ns}.svc.${domain}`];
  const dnsNames = [
    // The primary Service (Patroni points its Endpoints at the leader): what the jobs connect to.
    ...svc(scope),
    `${scope}.${ns}`,
    // Each member, for a job pinned to one pod.
    ...svc(`*.${headless}`),
    ...(input.extraDnsNames ?? []),
  ];
  const subject = (commonName: string): CertSubject => ({
    commonName,
    organization: "drstack",
    organizationalUnit: `${input.site}/${scope}`,
  });
  return {
    ca: { subject: subject(`drstack pgBackRest CA ${input.site}`), ...TLS_VALIDITY.ca },
    server: {
      subject: subject(`${scope}.${ns}.svc`),
      dnsNames: [...new Set(dnsNames)],
      secretName: serverTlsSecretName(scope),
      ...TLS_VALIDITY.leaf,
    },
    client: {
      subject: subject(PGBACKREST_CLIENT_CN),
      secretName: BACKUP_TLS_SECRET,
      ...TLS_VALIDITY.leaf,
    },
    auth: { [PGBACKREST_CLIENT_CN]: [scope] },
  };
}

/** The `tlsServer` section of the pods' pgbackrest.conf, reading the mounted server Secret. */
export function podTlsServerSpec(
  plan: PgBackRestTlsPlan,
  dir: string = PGBACKREST_TLS_DIR,
): TlsServerSpec {
  return {
    address: "*",
    port: PGBACKREST_TLS_PORT,
    caFile: `${dir}/${TLS_FILES.ca}`,
    certFile: `${dir}/${TLS_FILES.cert}`,
    keyFile: `${dir}/${TLS_FILES.key}`,
    auth: plan.auth,
  };
}

/** Marker the sidecar touches when it starts, i.e. when `pgbackrest server` reads its files. */
export const TLS_LOADED_MARKER = "/tmp/pgbackrest-tls-loaded";

/** The sidecar's command: note the start, then run `pgbackrest server` (as PID 1). */
export function pgBackRestServerCommand(
  configFile: string,
  marker: string = TLS_LOADED_MARKER,
): string[] {
  return ["sh", "-c", `touch ${marker} && exec pgbackrest --config=${configFile} server`];
}

/**
 * Liveness command that fails once the mounted Secret was updated after the server started:
 * `pgbackrest server` reads its certificate only at start, and the kubelet swaps a Secret
 * volume's `..data` link to a fresh directory on every update, so a renewed certificate makes
 * the kubelet restart the sidecar alone (no switchover).
 */
export function tlsRenewedCheck(
  dir: string = PGBACKREST_TLS_DIR,
  marker: string = TLS_LOADED_MARKER,
): string[] {
  return ["sh", "-c", `[ ! ${dir}/..data -nt ${marker} ]`];
}

/** An OpenSSL `-subj` string for a subject (tests generate throwaway certificates with it). */
export function opensslSubject(s: CertSubject): string {
  const esc = (v: string) => v.replace(/([/\\=+,])/g, "\\$1");
  return `/O=${esc(s.organization)}/OU=${esc(s.organizationalUnit)}/CN=${esc(s.commonName)}`;
}
