/**
 * The backup jobs' shell scripts, rendered by pure functions. Every script:
 * - fails on any error (`set -euo pipefail`) and pushes `backup_last_failure_timestamp_seconds`
 *   from an EXIT trap when it does;
 * - refuses to report success for a missing, empty or suspiciously small artifact
 *   (`guard_artifact`), and for an upload whose checksum read back from the bucket differs
 *   (`upload_verified`, with a `.sha256` file next to each artifact);
 * - publishes `backup_last_success_timestamp_seconds` and `backup_size_bytes` only after the
 *   guards pass.
 *
 * Metrics go to a Prometheus Pushgateway (`PUSHGATEWAY_URL`, grouping key
 * `job=drstack-backup/site/<site>/kind/<kind>`, HTTP POST so success and failure metrics do not
 * erase each other); with `METRICS_DIR` set they are written as node-exporter textfiles instead
 * (the local drill and the tests use that).
 * The bucket is the rclone remote `backup:` configured by environment (`RCLONE_CONFIG_BACKUP_*`).
 *
 * The scripts run on published images (components/shared/images.ts) and use only what those
 * carry: bash and coreutils everywhere; `TOOLS_DIR` (rclone and a CA bundle copied from the rclone
 * image) joins PATH when set; curl is used when present, otherwise bash's /dev/tcp speaks plain
 * HTTP/1.0 to the Pushgateway (the Debian-based images have no curl); JSON is read with python3
 * (PostgreSQL image) or sed (rclone's one-line `size --json`), never jq.
 */

export const METRICS_JOB = "drstack-backup";

/** Shell functions every job script starts with. `kind` is the metric label (`full`, `redis` ...). */
export function renderPrelude(kind: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(kind))
    throw new Error(`backup kind ${JSON.stringify(kind)} must be a lowercase word`);
  return `#!/bin/bash
# drstack backup job "${kind}" (rendered by components/backup/scripts.ts; do not edit by hand)
set -euo pipefail
KIND=${kind}
: "\${SITE:?SITE is not set}"
if [ -n "\${TOOLS_DIR:-}" ]; then
  export PATH="\${TOOLS_DIR}:\${PATH}"
  [ -f "\${TOOLS_DIR}/ca-certificates.crt" ] && export SSL_CERT_FILE="\${TOOLS_DIR}/ca-certificates.crt"
fi

# http_post URL FILE: POSTs FILE with bash's /dev/tcp (HTTP/1.0, Basic auth from PUSHGATEWAY_USER /
# _PASSWORD) and fails unless the answer is 2xx. Only http:// URLs: https needs curl.
http_post() {
  local url=$1 body=$2 rest hostport host port path status auth=""
  case "$url" in
    http://*) ;;
    *) echo "metrics: $url needs curl, which this image lacks (only http:// without it)" >&2; return 1 ;;
  esac
  rest=\${url#http://}
  hostport=\${rest%%/*}
  path=\${rest#"$hostport"}
  [ -n "$path" ] || path=/
  host=\${hostport%:*}
  port=\${hostport##*:}
  [ "$host" = "$hostport" ] && port=80
  if [ -n "\${PUSHGATEWAY_USER:-}" ]; then
    auth="Authorization: Basic $(printf '%s:%s' "$PUSHGATEWAY_USER" "\${PUSHGATEWAY_PASSWORD:-}" | base64 -w0)"$'\r\n'
  fi
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %s\r\n%s\r\n' \
    "$path" "$hostport" "$(stat -c %s -- "$body")" "$auth" >&3
  cat -- "$body" >&3
  IFS= read -r -t 30 status <&3 || status=""
  exec 3<&- 3>&-
  case "$status" in
    "HTTP/1."?" 2"*) return 0 ;;
    *) echo "metrics: POST $url answered: \${status%$'\\r'}" >&2; return 1 ;;
  esac
}

# Prometheus text on stdin; $1 names the group of metrics (success, failure, verify).
metrics_push() {
  if [ -n "\${METRICS_DIR:-}" ]; then
    local out="\${METRICS_DIR}/drstack-backup-\${KIND}-$1.prom"
    cat > "$out.tmp" && mv -f "$out.tmp" "$out"
    return 0
  fi
  # The site's Pushgateway takes only authenticated pushes (PUSHGATEWAY_USER / _PASSWORD).
  local url="\${PUSHGATEWAY_URL%/}/metrics/job/${METRICS_JOB}/site/\${SITE}/kind/\${KIND}"
  if command -v curl >/dev/null 2>&1; then
    local auth=()
    [ -n "\${PUSHGATEWAY_USER:-}" ] && auth=(-u "\${PUSHGATEWAY_USER}:\${PUSHGATEWAY_PASSWORD:-}")
    curl -fsS --retry 3 --max-time 30 "\${auth[@]}" --data-binary @- "$url"
  else
    local body
    body=$(mktemp)
    cat > "$body"
    http_post "$url" "$body" || { rm -f "$body"; return 1; }
    rm -f "$body"
  fi
}

labels() { printf '{site="%s",kind="%s"}' "$SITE" "$KIND"; }

on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "backup \${KIND}: FAILED (exit $rc)" >&2
    printf '# TYPE backup_last_failure_timestamp_seconds gauge\\nbackup_last_failure_timestamp_seconds%s %s\\n' "$(labels)" "$(date +%s)" \\
      | metrics_push failure || echo "backup \${KIND}: could not publish the failure metric" >&2
  fi
}
trap on_exit EXIT

# guard_artifact FILE MIN_BYTES: prints the size; fails for a missing, empty or too small file.
guard_artifact() {
  local f=$1 min=$2 size
  if [ ! -f "$f" ]; then echo "guard: $f was not produced" >&2; return 1; fi
  size=$(stat -c %s -- "$f")
  if [ "$size" -eq 0 ]; then echo "guard: $f is empty: refusing to report success" >&2; return 1; fi
  if [ "$size" -lt "$min" ]; then
    echo "guard: $f is $size bytes, below the minimum of $min: refusing to report success" >&2
    return 1
  fi
  echo "$size"
}

# upload_verified FILE DEST: uploads FILE and FILE.sha256 to the bucket, then compares the MD5
# the bucket reports with the local one.
upload_verified() {
  local f=$1 dest=$2 local_md5 remote_md5
  sha256sum -- "$f" | awk '{print $1}' > "$f.sha256"
  rclone copyto "$f" "backup:\${BUCKET}/$dest"
  rclone copyto "$f.sha256" "backup:\${BUCKET}/$dest.sha256"
  local_md5=$(md5sum -- "$f" | awk '{print $1}')
  remote_md5=$(rclone md5sum "backup:\${BUCKET}/$dest" | awk '{print $1}')
  if [ "$local_md5" != "$remote_md5" ]; then
    echo "guard: checksum of $dest in the bucket ($remote_md5) differs from the local one ($local_md5)" >&2
    return 1
  fi
}

# report_success SIZE_BYTES
report_success() {
  printf '# TYPE backup_last_success_timestamp_seconds gauge\\nbackup_last_success_timestamp_seconds%s %s\\n# TYPE backup_size_bytes gauge\\nbackup_size_bytes%s %s\\n' \\
    "$(labels)" "$(date +%s)" "$(labels)" "$1" | metrics_push success
  echo "backup \${KIND}: OK ($1 bytes)"
}
`;
}

export type PgBackupType = "full" | "diff" | "incr";

/**
 * Shell functions reading `pgbackrest info --output=json` (python3, which the PostgreSQL image
 * carries for Patroni): `newest FILE FIELD` prints the newest backup's label, type or repository
 * delta ("" / 0 when there is none); `guard_pgbackrest_info` checks that after a backup a new label
 * exists, of the requested type, with a repository size of at least MIN bytes, and prints the size.
 */
export const PG_INFO_GUARD = `
# newest INFO_JSON_FILE label|type|delta
newest() {
  python3 - "$1" "$2" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
backups = info[0].get("backup", []) if info else []
b = backups[-1] if backups else None
field = sys.argv[2]
if field == "delta":
    print(b["info"]["repository"]["delta"] if b else 0)
else:
    print(b[field] if b else "")
PY
}

# guard_pgbackrest_info INFO_JSON_FILE LABEL_BEFORE TYPE MIN_BYTES
guard_pgbackrest_info() {
  local info=$1 before=$2 type=$3 min=$4 label got size
  label=$(newest "$info" label)
  got=$(newest "$info" type)
  size=$(newest "$info" delta)
  if [ -z "$label" ] || [ "$label" = "$before" ]; then echo "guard: pgBackRest recorded no new backup" >&2; return 1; fi
  if [ "$got" != "$type" ]; then echo "guard: newest backup $label is $got, expected $type" >&2; return 1; fi
  if [ "$size" -lt "$min" ]; then echo "guard: backup $label is $size bytes, below the minimum of $min" >&2; return 1; fi
  echo "$size"
}
`;

/** pgBackRest backup of the given type (stanza and config from the environment / mounted conf). */
export function renderPgBackupScript(type: PgBackupType, minBytes: number): string {
  return `${renderPrelude(`pg-${type}`)}${PG_INFO_GUARD}
: "\${STANZA:?STANZA is not set}"
info=$(mktemp)
pgbackrest --stanza="$STANZA" --output=json info > "$info"
before=$(newest "$info" label)
pgbackrest --stanza="$STANZA" --type=${type} --log-level-console=info backup
pgbackrest --stanza="$STANZA" --output=json info > "$info"
size=$(guard_pgbackrest_info "$info" "$before" ${type} ${minBytes})
report_success "$size"
`;
}

/** Redis RDB snapshot from the current master (asked of Sentinel), checked, uploaded. */
export function renderRedisBackupScript(minBytes: number): string {
  return `${renderPrelude("redis")}
: "\${SENTINEL_HOST:?}" "\${SENTINEL_PORT:?}" "\${REDIS_MASTER_NAME:?}" "\${BUCKET:?}"
scratch=\${SCRATCH_DIR:-/scratch}
read -r host port < <(redis-cli -h "$SENTINEL_HOST" -p "$SENTINEL_PORT" --no-auth-warning \\
  SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" | paste -sd' ')
if [ -z "\${host:-}" ]; then echo "Sentinel does not know master $REDIS_MASTER_NAME" >&2; exit 1; fi
rdb="$scratch/dump.rdb"
rm -f "$rdb"
redis-cli -h "$host" -p "$port" --no-auth-warning --rdb "$rdb"
size=$(guard_artifact "$rdb" ${minBytes})
redis-check-rdb "$rdb"
upload_verified "$rdb" "redis/\${SITE}/$(date -u +%Y%m%dT%H%M%SZ).rdb"
report_success "$size"
`;
}

/** No OpenPGP message to a public key (session key packet + data) is smaller. */
export const OPENPGP_MIN_BYTES = 100;

/**
 * Validator keys and config: a tar of KEYS_DIR (at least `minBytes` of files) encrypted to the OpenPGP public key in
 * RECIPIENT_FILE while streaming (no plaintext copy touches a disk), checked, uploaded.
 */
export function renderKeysBackupScript(minBytes: number): string {
  return `${renderPrelude("keys")}
: "\${KEYS_DIR:?}" "\${RECIPIENT_FILE:?}" "\${BUCKET:?}"
scratch=\${SCRATCH_DIR:-/scratch}
files=$(find -L "$KEYS_DIR" -type f ! -path '*/..*' | wc -l)
if [ "$files" -eq 0 ]; then echo "guard: $KEYS_DIR holds no files: refusing to back up nothing" >&2; exit 1; fi
plain=$(find -L "$KEYS_DIR" -type f ! -path '*/..*' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
if [ "$plain" -lt ${minBytes} ]; then
  echo "guard: $KEYS_DIR holds $plain bytes of key material, below the minimum of ${minBytes}" >&2
  exit 1
fi
export GNUPGHOME="$scratch/gnupg"
mkdir -p -m 700 "$GNUPGHOME"
out="$scratch/keys.tar.gpg"
rm -f "$out"
tar -C "$KEYS_DIR" --dereference --exclude='..*' -cf - . \\
  | gpg --batch --no-tty --trust-model always --recipient-file "$RECIPIENT_FILE" --output "$out" --encrypt
size=$(guard_artifact "$out" ${OPENPGP_MIN_BYTES})
upload_verified "$out" "keys/\${SITE}/$(date -u +%Y%m%dT%H%M%SZ).tar.gpg"
report_success "$size"
`;
}

/** rclone copy of the whole bucket to another bucket (second region or other cloud). */
export function renderCopyScript(kind: string): string {
  return `${renderPrelude(kind)}
: "\${BUCKET:?}" "\${TARGET_BUCKET:?}"
rclone copy --checksum "backup:\${BUCKET}" "target:\${TARGET_BUCKET}"
rclone check --one-way "backup:\${BUCKET}" "target:\${TARGET_BUCKET}"
size=$(rclone size --json "target:\${TARGET_BUCKET}" | sed -n 's/.*"bytes":\\([0-9][0-9]*\\).*/\\1/p')
if [ -z "$size" ]; then echo "guard: rclone size reported no byte count for the target" >&2; exit 1; fi
report_success "$size"
`;
}

/** Format of a key backup sealed to the custodians' recovery key (opened by `drstack keys restore --sealed`). */
export const KEY_SEAL_FORMAT = "drstack-key-seal/1";

/** The sealing program (node:crypto only, so the official node image runs it as is). */
const KEY_SEAL_JS = `
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const env = process.env;
const dir = env.KEYS_DIR;
const files = [];
const walk = (rel) => {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith("..")) continue;
    const r = rel ? rel + "/" + e.name : e.name;
    const st = fs.statSync(path.join(dir, r));
    if (st.isDirectory()) walk(r);
    else if (st.isFile()) files.push({ name: r, data: fs.readFileSync(path.join(dir, r)) });
  }
};
walk("");
files.sort((a, b) => (a.name < b.name ? -1 : 1));
const pubHex = String(env.RECOVERY_PUBLIC_KEY || "");
if (!/^[0-9a-f]{64}$/.test(pubHex)) {
  console.error("RECOVERY_PUBLIC_KEY must be the recovery key's 64 hex digits (drstack keys recovery-key)");
  process.exit(1);
}
const pubRaw = Buffer.from(pubHex, "hex");
const spki = Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), pubRaw]);
const recipient = crypto.createPublicKey({ key: spki, format: "der", type: "spki" });
const eph = crypto.generateKeyPairSync("x25519");
const ephRaw = eph.publicKey.export({ format: "der", type: "spki" }).subarray(12);
const shared = crypto.diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
const key = Buffer.from(crypto.hkdfSync("sha256", shared, Buffer.concat([ephRaw, pubRaw]), "${KEY_SEAL_FORMAT}", 32));
const nonce = crypto.randomBytes(12);
const header = JSON.stringify({
  format: "${KEY_SEAL_FORMAT}",
  site: env.SITE,
  createdAt: new Date().toISOString(),
  cipher: "X25519-HKDF-SHA256-AES-256-GCM",
  recipient: { publicKey: pubHex, shares: Number(env.RECOVERY_SHARES), threshold: Number(env.RECOVERY_THRESHOLD) },
  ephemeralPublicKey: ephRaw.toString("hex"),
  nonce: nonce.toString("hex"),
  files: files.map((f) => ({ name: f.name, size: f.data.length, sha256: crypto.createHash("sha256").update(f.data).digest("hex") })),
});
const c = crypto.createCipheriv("aes-256-gcm", key, nonce);
c.setAAD(Buffer.from(header, "utf8"));
const plain = Buffer.from(JSON.stringify(files.map((f) => ({ name: f.name, data: f.data.toString("base64") }))), "utf8");
const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
plain.fill(0);
fs.writeFileSync(process.argv[2], JSON.stringify({ header, ciphertext: ct.toString("base64") }), { mode: 0o600 });
`;

/**
 * Validator keys and config, custodial scheme: the files of KEYS_DIR are sealed in memory to the
 * custodians' X25519 recovery public key (RECOVERY_PUBLIC_KEY; AES-256-GCM, header authenticated),
 * checked and uploaded. The job holds no share and no private key: only ciphertext and the share
 * metadata (recovery key, N, K) reach the bucket. Runs on the official node image.
 */
export function renderCustodialKeysScript(minBytes: number): string {
  return `${renderPrelude("keys")}
: "\${KEYS_DIR:?}" "\${RECOVERY_PUBLIC_KEY:?}" "\${RECOVERY_SHARES:?}" "\${RECOVERY_THRESHOLD:?}" "\${BUCKET:?}"
scratch=\${SCRATCH_DIR:-/scratch}
files=$(find -L "$KEYS_DIR" -type f ! -path '*/..*' | wc -l)
if [ "$files" -eq 0 ]; then echo "guard: $KEYS_DIR holds no files: refusing to back up nothing" >&2; exit 1; fi
plain=$(find -L "$KEYS_DIR" -type f ! -path '*/..*' -printf '%s\\n' | awk '{s += $1} END {print s + 0}')
if [ "$plain" -lt ${minBytes} ]; then
  echo "guard: $KEYS_DIR holds $plain bytes of key material, below the minimum of ${minBytes}" >&2
  exit 1
fi
out="$scratch/keys.sealed.json"
rm -f "$out"
node - "$out" <<'JS'
${KEY_SEAL_JS.trim()}
JS
size=$(guard_artifact "$out" $((plain + 300)))
upload_verified "$out" "keys/\${SITE}/$(date -u +%Y%m%dT%H%M%SZ).sealed.json"
report_success "$size"
`;
}
