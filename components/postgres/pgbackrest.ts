/**
 * pgBackRest configuration rendered from plain data: the same function serves the Kubernetes
 * ConfigMap (S3/GCS repositories, passphrases from the environment) and the local drill (posix
 * repositories under a temporary directory). Pure; no Pulumi or Kubernetes imports.
 */

/** Client-side encryption pgBackRest applies to a repository. */
export const CIPHER_TYPE = "aes-256-cbc";

const STANZA_NAME = /^[A-Za-z0-9][\w.-]*$/;

interface RepoCommon {
  /**
   * Repository index (`repo<index>-*`), 1..256. Default: the position in `repos`, from 1. A
   * config that reads another site's repository gives it an index of its own (e.g. 2), so its
   * passphrase variable `PGBACKREST_REPO2_CIPHER_PASS` does not clash with the site's own repo1.
   */
  readonly index?: number;
  /** Encrypt the repository client-side with {@link CIPHER_TYPE}. Default true. */
  readonly encrypted?: boolean;
  /**
   * Passphrase written into the file. Default: none, so pgBackRest reads
   * `PGBACKREST_REPO<n>_CIPHER_PASS` from the environment (keep it in a Secret). Only the
   * local drill should set it here.
   */
  readonly cipherPass?: string;
  /** Full backups kept (`repo<n>-retention-full`). Default: not set (pgBackRest keeps all). */
  readonly retentionFull?: number;
}

export interface PosixRepo extends RepoCommon {
  readonly type: "posix";
  /** Absolute directory of the repository. */
  readonly path: string;
}

export interface S3Repo extends RepoCommon {
  readonly type: "s3";
  readonly bucket: string;
  readonly region: string;
  /** Path inside the bucket. */
  readonly path: string;
  /** Default `s3.<region>.amazonaws.com`. */
  readonly endpoint?: string;
  /** `web-id` (EKS IRSA, the default), `auto` (instance role) or `shared` (keys from env). */
  readonly keyType?: "web-id" | "auto" | "shared";
}

export interface GcsRepo extends RepoCommon {
  readonly type: "gcs";
  readonly bucket: string;
  /** Path inside the bucket. */
  readonly path: string;
  /** `auto` (GKE workload identity, the default), `service` (key file) or `token`. */
  readonly keyType?: "auto" | "service" | "token";
  /** Key file for `service`. */
  readonly key?: string;
}

export type PgBackRestRepo = PosixRepo | S3Repo | GcsRepo;

/**
 * `pgbackrest server`: the TLS server a repository host (the backup jobs) reaches the database
 * host through (`pg1-host-type=tls`). Rendered into `[global]`; only the `server` command reads it.
 */
export interface TlsServerSpec {
  /** Address to listen on (`tls-server-address`): `*` for every interface, or one address. */
  readonly address: string;
  /** Port (`tls-server-port`). Default 8432 (pgBackRest's default). */
  readonly port?: number;
  /** CA that signs the clients' certificates (`tls-server-ca-file`), absolute. */
  readonly caFile: string;
  /** The server's certificate (`tls-server-cert-file`), absolute. */
  readonly certFile: string;
  /** The server's private key (`tls-server-key-file`), absolute; 0600, or 0640 owned by root. */
  readonly keyFile: string;
  /**
   * Client certificate common names and the stanzas each may use (`tls-server-auth`), e.g.
   * `{ "pgbackrest-client": ["pg-x"] }`. At least one.
   */
  readonly auth: Readonly<Record<string, readonly string[]>>;
}

export interface PgBackRestSpec {
  /** Stanza name (one per PostgreSQL cluster). */
  readonly stanza: string;
  /** PostgreSQL data directory (`pg1-path`). */
  readonly pgDataDir: string;
  /** PostgreSQL port (`pg1-port`). Default 5432. */
  readonly pgPort?: number;
  /** Unix socket directory (`pg1-socket-path`). Default: pgBackRest's default. */
  readonly pgSocketPath?: string;
  /** Repositories in order: the first is `repo1`. At least one. */
  readonly repos: readonly PgBackRestRepo[];
  /** Directory for logs. Default: pgBackRest's `/var/log/pgbackrest`. */
  readonly logPath?: string;
  /** Directory for lock files. Default: pgBackRest's `/tmp/pgbackrest`. */
  readonly lockPath?: string;
  /** Spool directory for asynchronous archiving. Default: no asynchronous archiving. */
  readonly spoolPath?: string;
  /** Parallel processes. Default 2. */
  readonly processMax?: number;
  /** Compression. Default `zst`. */
  readonly compressType?: "zst" | "lz4" | "gz" | "none";
  /** Serve this database host to repository hosts over TLS. Default: no TLS server options. */
  readonly tlsServer?: TlsServerSpec;
}

/** The `repo<n>` index of `repos[i]`. */
export function repoIndex(repo: PgBackRestRepo, i: number): number {
  return repo.index ?? i + 1;
}

/** Option lines of repository `n` (1-based). */
function repoLines(repo: PgBackRestRepo, n: number): [string, string | number][] {
  const k = (o: string) => `repo${n}-${o}`;
  const lines: [string, string | number][] = [[k("type"), repo.type]];
  switch (repo.type) {
    case "posix":
      lines.push([k("path"), repo.path]);
      break;
    case "s3":
      lines.push(
        [k("path"), repo.path],
        [k("s3-bucket"), repo.bucket],
        [k("s3-region"), repo.region],
        [k("s3-endpoint"), repo.endpoint ?? `s3.${repo.region}.amazonaws.com`],
        [k("s3-key-type"), repo.keyType ?? "web-id"],
      );
      break;
    case "gcs":
      lines.push(
        [k("path"), repo.path],
        [k("gcs-bucket"), repo.bucket],
        [k("gcs-key-type"), repo.keyType ?? "auto"],
      );
      if (repo.key) lines.push([k("gcs-key"), repo.key]);
      break;
  }
  if (repo.encrypted ?? true) {
    lines.push([k("cipher-type"), CIPHER_TYPE]);
    if (repo.cipherPass !== undefined) lines.push([k("cipher-pass"), repo.cipherPass]);
  }
  if (repo.retentionFull !== undefined) lines.push([k("retention-full"), repo.retentionFull]);
  return lines;
}

/** Problems with a spec (empty when it renders), as `field: message`. */
export function pgBackRestSpecProblems(spec: PgBackRestSpec): string[] {
  const out: string[] = [];
  if (!STANZA_NAME.test(spec.stanza))
    out.push(`stanza: ${JSON.stringify(spec.stanza)} is not a valid stanza name`);
  if (!spec.pgDataDir.startsWith("/"))
    out.push(`pgDataDir: must be an absolute path, got ${JSON.stringify(spec.pgDataDir)}`);
  if (spec.repos.length === 0) out.push("repos: needs at least one repository");
  const seen = new Set<number>();
  spec.repos.forEach((r, i) => {
    const n = repoIndex(r, i);
    if (!Number.isInteger(n) || n < 1 || n > 256)
      out.push(`repos[${i}].index: must be an integer from 1 to 256, got ${n}`);
    else if (seen.has(n)) out.push(`repos[${i}].index: repo${n} is defined twice`);
    seen.add(n);
    if (!r.path.startsWith("/"))
      out.push(`repos[${i}].path: must be an absolute path, got ${JSON.stringify(r.path)}`);
    if (r.cipherPass !== undefined && /[\r\n]/.test(r.cipherPass))
      out.push(`repos[${i}].cipherPass: must be one line`);
  });
  if (spec.tlsServer) out.push(...tlsServerProblems(spec.tlsServer));
  return out;
}

function tlsServerProblems(t: TlsServerSpec): string[] {
  const out: string[] = [];
  if (!/^(\*|[\w.:-]+)$/.test(t.address))
    out.push(`tlsServer.address: must be * or one host address, got ${JSON.stringify(t.address)}`);
  if (t.port !== undefined && (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535))
    out.push(`tlsServer.port: must be an integer from 1 to 65535, got ${t.port}`);
  for (const f of ["caFile", "certFile", "keyFile"] as const)
    if (!t[f].startsWith("/") || /[\r\n]/.test(t[f]))
      out.push(`tlsServer.${f}: must be an absolute path, got ${JSON.stringify(t[f])}`);
  const clients = Object.entries(t.auth);
  if (clients.length === 0)
    out.push("tlsServer.auth: needs at least one client common name and its stanzas");
  for (const [cn, stanzas] of clients) {
    if (!/^[^\s=,]+$/.test(cn))
      out.push(
        `tlsServer.auth: client common name ${JSON.stringify(cn)} must be one word without = or ,`,
      );
    if (stanzas.length === 0) out.push(`tlsServer.auth.${cn}: needs at least one stanza (or *)`);
    for (const st of stanzas)
      if (st !== "*" && !STANZA_NAME.test(st))
        out.push(`tlsServer.auth.${cn}: ${JSON.stringify(st)} is not a valid stanza name`);
  }
  return out;
}

/** `tls-server-*` lines of `[global]`. */
function tlsServerLines(t: TlsServerSpec): [string, string | number][] {
  return [
    ["tls-server-address", t.address],
    ["tls-server-port", t.port ?? 8432],
    ["tls-server-ca-file", t.caFile],
    ["tls-server-cert-file", t.certFile],
    ["tls-server-key-file", t.keyFile],
    ...Object.keys(t.auth)
      .sort()
      .map((cn): [string, string] => ["tls-server-auth", `${cn}=${t.auth[cn].join(",")}`]),
  ];
}

/** Renders `pgbackrest.conf` (INI). Throws on a spec with problems. */
export function renderPgBackRestConfig(spec: PgBackRestSpec): string {
  const problems = pgBackRestSpecProblems(spec);
  if (problems.length > 0) throw new Error(`invalid pgBackRest spec: ${problems.join("; ")}`);
  const global: [string, string | number][] = [];
  spec.repos.forEach((r, i) => global.push(...repoLines(r, repoIndex(r, i))));
  global.push(["process-max", spec.processMax ?? 2], ["compress-type", spec.compressType ?? "zst"]);
  if (spec.logPath) global.push(["log-path", spec.logPath]);
  global.push(["log-level-file", spec.logPath ? "info" : "off"], ["log-level-console", "warn"]);
  if (spec.lockPath) global.push(["lock-path", spec.lockPath]);
  if (spec.spoolPath) global.push(["archive-async", "y"], ["spool-path", spec.spoolPath]);
  if (spec.tlsServer) global.push(...tlsServerLines(spec.tlsServer));
  const stanza: [string, string | number][] = [
    ["pg1-path", spec.pgDataDir],
    ["pg1-port", spec.pgPort ?? 5432],
  ];
  if (spec.pgSocketPath) stanza.push(["pg1-socket-path", spec.pgSocketPath]);
  const section = (name: string, lines: [string, string | number][]) =>
    `[${name}]\n${lines.map(([k, v]) => `${k}=${v}`).join("\n")}\n`;
  return `${section("global", global)}\n${section(spec.stanza, stanza)}`;
}

/** Quotes a word for a POSIX shell (PostgreSQL runs archive/restore commands through `sh -c`). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** `archive_command` pushing WAL to every repository of the stanza. */
export function pgBackRestArchiveCommand(configPath: string, stanza: string): string {
  return `pgbackrest --config=${shellQuote(configPath)} --stanza=${shellQuote(stanza)} archive-push "%p"`;
}

/** `restore_command` fetching WAL from repository `repo` (1-based; default: pgBackRest's choice). */
export function pgBackRestRestoreCommand(
  configPath: string,
  stanza: string,
  repo?: number,
): string {
  const r = repo === undefined ? "" : ` --repo=${repo}`;
  return `pgbackrest --config=${shellQuote(configPath)} --stanza=${shellQuote(stanza)}${r} archive-get %f "%p"`;
}
