/**
 * `drstack keys backup|restore`: custodial validator key backup (see cli/keys/custody.ts).
 * Backup writes the sealed backup and the shares to two different directories (shares never sit
 * beside the ciphertext); restore writes the files only after every check passed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  createBackup,
  CustodyError,
  DEFAULT_KDF,
  DEFAULT_SHARES,
  DEFAULT_THRESHOLD,
  type KeyFile,
  newRecoveryKey,
  openBackup,
  openSealed,
  RECOVERY_KEY_FILE,
  type SealedBackup,
  type Share,
} from "../keys/custody";
import { bytesToHex } from "@noble/hashes/utils";
import { type Command, EXIT, many, positiveInt, UsageError, type Values } from "../command";

/** Every regular file under `dir` (relative names, sorted), skipping Kubernetes' `..data` links. */
export function readKeyDir(dir: string): KeyFile[] {
  const out: KeyFile[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith("..")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.statSync(path.join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile())
        out.push({ name: r, data: new Uint8Array(fs.readFileSync(path.join(dir, r))) });
    }
  };
  walk("");
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function str(values: Values, key: string): string {
  const v = values[key];
  if (typeof v !== "string" || !v) throw new UsageError(`--${key} is required`);
  return v;
}

function readPass(file: string): string {
  const p = fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
  if (!p) throw new UsageError(`passphrase file ${file} is empty`);
  return p;
}

function emptyOrAbsent(dir: string, what: string): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
    throw new UsageError(`${what} ${dir} is not empty: refusing to overwrite`);
}

async function backup(
  values: Values,
  out: (t: string) => void,
  recovery?: { privateKey: Uint8Array; publicKey: Uint8Array },
): Promise<number> {
  const dir = recovery ? "" : str(values, "dir");
  const outDir = str(values, "out");
  const sharesDir = str(values, "shares-out");
  if (path.resolve(outDir) === path.resolve(sharesDir))
    throw new UsageError(
      "--shares-out must differ from --out: shares never go beside the ciphertext",
    );
  const n = positiveInt(values, "shares", DEFAULT_SHARES);
  const k = positiveInt(values, "threshold", DEFAULT_THRESHOLD);
  const custodians = many(values, "custodian").map((c) => {
    const [name, passFile] = c.split(/=(.*)/s, 2);
    if (!/^[\w.-]+$/.test(name))
      throw new UsageError(`custodian name ${JSON.stringify(name)}: use letters, digits, . _ -`);
    return { name, pass: passFile ? readPass(passFile) : undefined };
  });
  if (custodians.length > 0 && custodians.length !== n)
    throw new UsageError(
      `${custodians.length} --custodian given for ${n} shares: give one per share`,
    );
  const kdf = {
    m: positiveInt(values, "kdf-memory", DEFAULT_KDF.m),
    t: positiveInt(values, "kdf-time", DEFAULT_KDF.t),
    p: positiveInt(values, "kdf-lanes", DEFAULT_KDF.p),
  };
  const files = recovery
    ? [{ name: RECOVERY_KEY_FILE, data: recovery.privateKey }]
    : fs.existsSync(dir)
      ? readKeyDir(dir)
      : [];
  const label =
    typeof values.label === "string"
      ? values.label
      : recovery
        ? "recovery-key"
        : path.basename(path.resolve(dir));
  emptyOrAbsent(outDir, "--out");
  emptyOrAbsent(sharesDir, "--shares-out");
  const { backup: sealed, shares } = await createBackup({
    label,
    files,
    references: many(values, "reference"),
    n,
    k,
    kdf,
    ...(custodians.length
      ? { custodians: custodians.map((c) => c.name), passphrases: custodians.map((c) => c.pass) }
      : {}),
  });
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(sharesDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(outDir, "backup.json"), `${JSON.stringify(sealed, null, 2)}\n`, {
    mode: 0o644,
  });
  const header = JSON.parse(sealed.header) as {
    id: string;
    files: { name: string; size: number }[];
  };
  out(
    `backup ${header.id} of ${label}: ${files.length} file(s), ${k}-of-${n} shares, AES-256-GCM, argon2id m=${kdf.m}KiB t=${kdf.t} p=${kdf.p}`,
  );
  for (const f of header.files) out(`  sealed ${f.name} (${f.size} bytes)`);
  for (const r of many(values, "reference")) out(`  reference only: ${r}`);
  out(`  ${path.join(outDir, "backup.json")}`);
  for (const s of shares) {
    const file = path.join(sharesDir, `share-${s.index}-${s.custodian}.json`);
    fs.writeFileSync(file, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
    out(
      `  share ${s.index}/${n} for ${s.custodian}${s.wrapped ? " (passphrase-wrapped)" : ""}: ${file}`,
    );
  }
  if (recovery) {
    out(`recovery public key: ${bytesToHex(recovery.publicKey)}`);
    out("stack config (every site whose validator keys the backup job seals to these custodians):");
    out(
      `  drstack:backup:\n    keyRecovery: { publicKey: ${bytesToHex(recovery.publicKey)}, shares: ${n}, threshold: ${k} }`,
    );
  }
  out(`hand each share file to its custodian, then delete ${sharesDir}; any ${k} restore the keys`);
  return EXIT.ok;
}

async function restore(values: Values, out: (t: string) => void): Promise<number> {
  const sealed = JSON.parse(fs.readFileSync(str(values, "backup"), "utf8")) as SealedBackup;
  const outDir = str(values, "out");
  emptyOrAbsent(outDir, "--out");
  const shares: Share[] = [];
  const passphrases = new Map<number, string>();
  for (const spec of many(values, "share")) {
    const [file, passFile] = spec.split(/=(.*)/s, 2);
    const s = JSON.parse(fs.readFileSync(file, "utf8")) as Share;
    shares.push(s);
    if (passFile) passphrases.set(s.index, readPass(passFile));
  }
  const opened = await openBackup(sealed, shares, passphrases);
  let header: {
    id?: string;
    label?: string;
    site?: string;
    createdAt: string;
    files: readonly { name: string; size: number; sha256: string }[];
    references?: readonly string[];
  } = opened.header;
  let files = opened.files;
  if (typeof values.sealed === "string") {
    const key = files.find((f) => f.name === RECOVERY_KEY_FILE);
    if (!key)
      throw new CustodyError(
        `backup ${opened.header.id} is not a recovery key backup (no ${RECOVERY_KEY_FILE})`,
      );
    const job = JSON.parse(fs.readFileSync(values.sealed, "utf8")) as SealedBackup;
    const o = openSealed(job, key.data);
    key.data.fill(0);
    header = o.header;
    files = o.files;
  }
  // Everything checked: write into a sibling temporary directory, then rename it into place.
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, ".drstack-restore-"));
  try {
    for (const f of files) {
      fs.mkdirSync(path.join(tmp, path.dirname(f.name)), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(tmp, f.name), f.data, { mode: 0o600 });
    }
    if (fs.existsSync(outDir)) fs.rmdirSync(outDir);
    fs.renameSync(tmp, outDir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  out(
    `restored backup ${header.id ?? String(values.sealed)} of ${header.label ?? header.site} (${header.createdAt}) with ${shares.length} share(s): ${files.length} file(s) into ${outDir}`,
  );
  for (const f of header.files) out(`  ${f.name} ${f.size} bytes sha256 ${f.sha256}`);
  for (const r of header.references ?? []) out(`  not in the backup (reference only): ${r}`);
  return EXIT.ok;
}

export const keysCommand: Command = {
  name: "keys",
  summary:
    "back up validator keys to K-of-N custodians (AES-256-GCM, Shamir, Argon2id) and restore them",
  positionals: true,
  options: {
    dir: { type: "string" },
    out: { type: "string" },
    "shares-out": { type: "string" },
    label: { type: "string" },
    shares: { type: "string" },
    threshold: { type: "string" },
    custodian: { type: "string", multiple: true },
    reference: { type: "string", multiple: true },
    "kdf-memory": { type: "string" },
    "kdf-time": { type: "string" },
    "kdf-lanes": { type: "string" },
    backup: { type: "string" },
    share: { type: "string", multiple: true },
    sealed: { type: "string" },
  },
  help: `Usage:
  drstack keys backup --dir KEYDIR --out DIR --shares-out DIR [--label NAME]
                      [--shares 5] [--threshold 3] [--custodian NAME[=PASSFILE]]...
                      [--reference REF]... [--kdf-memory KiB] [--kdf-time N] [--kdf-lanes N]
  drstack keys restore --backup DIR/backup.json --share FILE[=PASSFILE]... --out DIR
  drstack keys recovery-key --out DIR --shares-out DIR [--shares 5] [--threshold 3]
                      [--custodian NAME[=PASSFILE]]... [--kdf-memory KiB] ...
  drstack keys restore --sealed SEALED.json --backup DIR/backup.json --share FILE[=PASSFILE]... --out DIR

backup seals every file under KEYDIR (priv_validator_key.json, node_key.json, anything else the
signer needs) with AES-256-GCM under a random data key, splits the data key into --shares Shamir
shares of which any --threshold recover it, and wraps each custodian's share with the passphrase in
PASSFILE through Argon2id (default m=65536 KiB, t=3, p=4: RFC 9106's second recommended option).
The backup (DIR/backup.json) and the shares (--shares-out) go to different directories.
--reference records an HSM-backed or remote-signer key by reference only.

recovery-key makes the custodians' X25519 recovery key for the scheduled key backup job: its
private key is stored only as a custodial backup like the above (shares to the custodians), its
public key goes into drstack:backup.keyRecovery. The job seals each site's keys to it; restore
--sealed opens such a backup (a *.sealed.json from the bucket) with K shares of the recovery key.

restore needs --threshold distinct shares of the same backup; it writes the files into --out (which
must be absent or empty) only after every check passed.

Exit codes: 0 done; 1 the backup does not open (too few shares, wrong passphrase, altered backup,
shares of another backup; nothing written); 2 bad usage.`,
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    try {
      if (sub === "backup") return await backup(ctx.values, ctx.io.out);
      if (sub === "recovery-key") return await backup(ctx.values, ctx.io.out, newRecoveryKey());
      if (sub === "restore") return await restore(ctx.values, ctx.io.out);
    } catch (e) {
      if (e instanceof CustodyError) {
        ctx.io.err(`error: ${e.message}`);
        return EXIT.checkFailed;
      }
      const err = e as NodeJS.ErrnoException;
      if (err.code === "ENOENT" || e instanceof SyntaxError) {
        ctx.io.err(`error: ${err.message}`);
        return EXIT.badInput;
      }
      throw e;
    }
    throw new UsageError("give a subcommand: backup or restore");
  },
};
