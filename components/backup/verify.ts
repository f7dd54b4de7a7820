/**
 * The restore verification job's script (pure rendering). It proves the newest backups restore:
 * 1. `pgbackrest verify`: every file in the repository matches its recorded checksum;
 * 2. `pgbackrest restore` of the newest backup into a scratch volume, a temporary PostgreSQL on a
 *    private Unix socket (no TCP), recovery to the backup's consistent point, then row checks;
 * 3. the newest Redis RDB from the bucket: its `.sha256` matches and `redis-check-rdb` accepts it.
 * Each check publishes `backup_restore_verification_success{check=...}` (1 or 0) and the job
 * publishes `backup_restore_verification_last_run_timestamp_seconds`; the job fails if any check does.
 */
import { renderPrelude } from "./scripts";

const CHECK_REDIS_RDB = `
check_redis_rdb() {
  local latest f="$scratch/verify.rdb"
  latest=$(rclone lsf "backup:\${BUCKET}/redis/\${SITE}/" --include '*.rdb' | sort | tail -n 1)
  if [ -z "$latest" ]; then echo "verify: no Redis snapshot in the bucket" >&2; return 1; fi
  rclone copyto "backup:\${BUCKET}/redis/\${SITE}/$latest" "$f"
  rclone copyto "backup:\${BUCKET}/redis/\${SITE}/$latest.sha256" "$f.sha256"
  if [ "$(sha256sum -- "$f" | awk '{print $1}')" != "$(tr -d '[:space:]' < "$f.sha256")" ]; then
    echo "verify: $latest does not match its recorded sha256" >&2
    return 1
  fi
  redis-check-rdb "$f"
}
`;

/** A query the restored database must answer with a count of at least `minRows`. */
export interface RowCheck {
  /** Database to connect to. Default `postgres`. */
  readonly database?: string;
  /** A query returning one integer, e.g. `SELECT count(*) FROM ledger.blocks`. */
  readonly sql: string;
  readonly minRows: number;
}

/** Default: the catalog of the restored cluster is readable and lists its databases. */
export const DEFAULT_ROW_CHECKS: readonly RowCheck[] = [
  { database: "postgres", sql: "SELECT count(*) FROM pg_catalog.pg_database", minRows: 3 },
];

export interface VerifyOptions {
  /** Run the PostgreSQL checks. */
  readonly postgres: boolean;
  /**
   * Run the Redis RDB check here (true), or read its result from the init container that ran
   * `renderVerifyRedisStep` (`"step"`: the PostgreSQL image has no redis-check-rdb).
   */
  readonly redis: boolean | "step";
  readonly rowChecks: readonly RowCheck[];
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** File in /scratch where the verify job's Redis step leaves its result (1 or 0). */
export const REDIS_STEP_RESULT = "redis-rdb.result";

/**
 * The Redis part of restore verification as an init container of the verify job (runs on the
 * Redis image with rclone from /tools): writes 1 or 0 to /scratch/${REDIS_STEP_RESULT} and exits
 * 0, so the PostgreSQL checks still run; the main container publishes the result.
 */
export function renderVerifyRedisStep(): string {
  return `${renderPrelude("verify-redis")}
: "\${BUCKET:?}"
scratch=\${SCRATCH_DIR:-/scratch}
${CHECK_REDIS_RDB}
set +e
(set -e; check_redis_rdb)
rc=$?
set -e
if [ "$rc" -eq 0 ]; then echo 1 > "$scratch/${REDIS_STEP_RESULT}"; echo "verify: redis-rdb ok"
else echo 0 > "$scratch/${REDIS_STEP_RESULT}"; echo "verify: redis-rdb FAILED" >&2; fi
`;
}

export function renderVerifyScript(opts: VerifyOptions): string {
  for (const c of opts.rowChecks) {
    if (!Number.isSafeInteger(c.minRows) || c.minRows < 0)
      throw new Error(`row check ${JSON.stringify(c.sql)}: minRows must be a non-negative integer`);
  }
  const rowChecks = opts.rowChecks
    .map(
      (c) =>
        `  row_check ${shellQuote(c.database ?? "postgres")} ${shellQuote(c.sql)} ${c.minRows} || return 1`,
    )
    .join("\n");
  return `${renderPrelude("verify")}
: "\${BUCKET:?}"
scratch=\${SCRATCH_DIR:-/scratch}
failed=0
results=""

record() { # CHECK OK(1|0)
  results+="backup_restore_verification_success{site=\\"$SITE\\",check=\\"$1\\"} $2"$'\\n'
  if [ "$2" -ne 1 ]; then failed=1; echo "verify: $1 FAILED" >&2; else echo "verify: $1 ok"; fi
}

row_check() { # DATABASE SQL MIN_ROWS
  local n
  n=$(psql -h "$scratch/sock" -p 5433 -U postgres -d "$1" -XAtc "$2")
  if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt "$3" ]; then
    echo "verify: row check on $1 returned '$n', need at least $3: $2" >&2
    return 1
  fi
}

check_pgbackrest_verify() {
  local out
  out=$(pgbackrest --stanza="$STANZA" --log-level-console=warn --output=text --verbose verify 2>&1)
  printf '%s\n' "$out"
  # pgBackRest exits 0 even when it finds no usable backup or bad files: its status line decides.
  if grep -q "status: error" <<< "$out" || ! grep -q "status: ok" <<< "$out"; then
    echo "verify: pgbackrest verify did not report status ok" >&2
    return 1
  fi
}

check_postgres_restore() {
  local data="$scratch/pgdata" rc=0
  rm -rf "$data" "$scratch/sock" && mkdir -p -m 700 "$data" "$scratch/sock"
  pgbackrest --stanza="$STANZA" --pg1-path="$data" --type=immediate --target-action=promote \\
    --archive-mode=off --log-level-console=info restore
  printf 'local all all trust\\n' > "$scratch/pg_hba.conf"
  # Runs in its own subshell (run_check): whatever fails after this, the instance is stopped.
  trap "pg_ctl -D '$data' -m immediate stop >/dev/null 2>&1 || true" EXIT
  pg_ctl -D "$data" -w -t 600 -l "$scratch/postgres.log" start -o \\
    "-c port=5433 -c listen_addresses='' -c unix_socket_directories=$scratch/sock -c hba_file=$scratch/pg_hba.conf -c ssl=off -c archive_mode=off -c hot_standby=on"
  local promoted=""
  for _ in $(seq 1 600); do
    promoted=$(psql -h "$scratch/sock" -p 5433 -U postgres -d postgres -XAtc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null || true)
    [ "$promoted" = "t" ] && break
    sleep 1
  done
  if [ "$promoted" != "t" ]; then echo "verify: the restored instance did not finish recovery" >&2; return 1; fi
${rowChecks}
  pg_ctl -D "$data" -m fast stop || rc=1
  rm -rf "$data"
  return $rc
}

${CHECK_REDIS_RDB}
run_check() { # NAME FUNCTION: runs the check in a subshell with errexit (outside a conditional, so it applies)
  local rc
  set +e
  (set -e; "$2")
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then record "$1" 1; else record "$1" 0; fi
}

${opts.postgres ? `: "\${STANZA:?}"\nrun_check pgbackrest-verify check_pgbackrest_verify\nrun_check postgres-restore check_postgres_restore` : "# no PostgreSQL on this site"}
${
  opts.redis === "step"
    ? `# the RDB check ran in the init container (renderVerifyRedisStep); its result line:
if [ -s "$scratch/${REDIS_STEP_RESULT}" ]; then
  read -r ok < "$scratch/${REDIS_STEP_RESULT}"
  record redis-rdb "$ok"
else
  record redis-rdb 0
fi`
    : opts.redis
      ? "run_check redis-rdb check_redis_rdb"
      : "# no Redis on this site"
}

{
  printf '# TYPE backup_restore_verification_success gauge\\n%s' "$results"
  printf '# TYPE backup_restore_verification_last_run_timestamp_seconds gauge\\nbackup_restore_verification_last_run_timestamp_seconds{site="%s"} %s\\n' "$SITE" "$(date +%s)"
} | metrics_push verify
exit "$failed"
`;
}
