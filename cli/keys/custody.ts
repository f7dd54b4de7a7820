/**
 * Custodial validator key backup (pure: bytes in, bytes out; no files).
 *
 * - The key files are sealed with AES-256-GCM (@noble/ciphers) under a random 32-byte data key.
 * - The data key is split with Shamir's scheme (shamir-secret-sharing) into N shares, any K of
 *   which recover it.
 * - Each share may be wrapped for its custodian: AES-256-GCM under a key derived from the
 *   custodian's passphrase with Argon2id (@noble/hashes); the Argon2id parameters are in the
 *   backup header (defaults: RFC 9106's second recommended option, m = 64 MiB, t = 3, p = 4).
 * - The header (backup id, cipher, Shamir and KDF parameters, file list with sizes and SHA-256,
 *   references to HSM / remote-signer keys) is the AES-GCM additional data: changing a byte of it
 *   or of the ciphertext makes opening fail. Every share names the backup id and the header's
 *   SHA-256, so shares of another backup are refused before any combining.
 */
import { gcm } from "@noble/ciphers/aes";
import { x25519 } from "@noble/curves/ed25519";
import { hkdf } from "@noble/hashes/hkdf";
import { argon2idAsync } from "@noble/hashes/argon2";
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils";
import { combine, split } from "shamir-secret-sharing";
import { KEY_SEAL_FORMAT } from "../../components/backup/scripts";

export const BACKUP_FORMAT = "drstack-key-backup/1";
export const SHARE_FORMAT = "drstack-key-share/1";

/** Argon2id parameters (m in KiB). */
export interface KdfParams {
  readonly m: number;
  readonly t: number;
  readonly p: number;
}

/** RFC 9106 section 4, second recommended option: 64 MiB, 3 passes, 4 lanes. */
export const DEFAULT_KDF: KdfParams = { m: 64 * 1024, t: 3, p: 4 };
export const DEFAULT_SHARES = 5;
export const DEFAULT_THRESHOLD = 3;

export interface KeyFile {
  /** Relative path (no `..`, no leading `/`). */
  readonly name: string;
  readonly data: Uint8Array;
}

export interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT;
  /** Random id (hex); every share names it. */
  readonly id: string;
  readonly createdAt: string;
  /** Validator (or other label) the keys belong to. */
  readonly label: string;
  readonly cipher: "AES-256-GCM";
  /** GCM nonce of the ciphertext (hex, 12 bytes). */
  readonly nonce: string;
  readonly shamir: {
    readonly scheme: "shamir-secret-sharing";
    readonly n: number;
    readonly k: number;
  };
  readonly kdf: { readonly alg: "argon2id" } & KdfParams;
  readonly files: readonly {
    readonly name: string;
    readonly size: number;
    readonly sha256: string;
  }[];
  /** HSM-backed or remote-signer keys: recorded as references only, never backed up. */
  readonly references: readonly string[];
}

/** The stored backup: the header exactly as authenticated, and the ciphertext. */
export interface SealedBackup {
  readonly header: string;
  readonly ciphertext: string;
}

export interface Share {
  readonly format: typeof SHARE_FORMAT;
  readonly backupId: string;
  /** SHA-256 of the header text this share belongs to. */
  readonly headerSha256: string;
  readonly index: number;
  readonly n: number;
  readonly k: number;
  readonly custodian?: string;
  /** The share in clear (hex), when no passphrase wraps it. */
  readonly share?: string;
  /** The share wrapped with the custodian's passphrase (Argon2id parameters in the header). */
  readonly wrapped?: { readonly salt: string; readonly nonce: string; readonly ciphertext: string };
}

export class CustodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CustodyError";
  }
}

export interface BackupOptions {
  readonly label: string;
  readonly files: readonly KeyFile[];
  readonly references?: readonly string[];
  readonly n?: number;
  readonly k?: number;
  /** Custodian names, one per share (default `custodian-<i>`). */
  readonly custodians?: readonly string[];
  /** Passphrase per share index (0-based); undefined or "" leaves that share unwrapped. */
  readonly passphrases?: readonly (string | undefined)[];
  readonly kdf?: KdfParams;
  /** For tests: fixed creation time. Default now. */
  readonly now?: Date;
}

function checkName(name: string): void {
  if (
    !name ||
    name.startsWith("/") ||
    name.split("/").some((p) => p === ".." || p === "" || p === ".")
  )
    throw new CustodyError(
      `file name ${JSON.stringify(name)} must be a relative path without . or ..`,
    );
}

function encodeFiles(files: readonly KeyFile[]): Uint8Array {
  return utf8ToBytes(
    JSON.stringify(
      files.map((f) => ({ name: f.name, data: Buffer.from(f.data).toString("base64") })),
    ),
  );
}

function wrapAad(backupId: string, index: number): Uint8Array {
  return utf8ToBytes(`${SHARE_FORMAT}:${backupId}:${index}`);
}

async function passphraseKey(
  passphrase: string,
  salt: Uint8Array,
  kdf: KdfParams,
): Promise<Uint8Array> {
  return argon2idAsync(utf8ToBytes(passphrase), salt, { m: kdf.m, t: kdf.t, p: kdf.p, dkLen: 32 });
}

/** Seals the files and returns the backup and its N shares. */
export async function createBackup(
  opts: BackupOptions,
): Promise<{ backup: SealedBackup; shares: Share[] }> {
  const n = opts.n ?? DEFAULT_SHARES;
  const k = opts.k ?? DEFAULT_THRESHOLD;
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 2 || n < k || n > 255)
    throw new CustodyError(`shares ${n} and threshold ${k}: need 2 <= threshold <= shares <= 255`);
  const kdf = opts.kdf ?? DEFAULT_KDF;
  if (kdf.m < 8 * kdf.p || kdf.t < 1 || kdf.p < 1)
    throw new CustodyError("argon2id parameters need t >= 1, p >= 1, m >= 8p KiB");
  if (opts.files.length === 0 && (opts.references ?? []).length === 0)
    throw new CustodyError("nothing to back up: no key files and no key references");
  const names = new Set<string>();
  for (const f of opts.files) {
    checkName(f.name);
    if (names.has(f.name)) throw new CustodyError(`file ${f.name} given twice`);
    names.add(f.name);
  }
  const dataKey = randomBytes(32);
  const nonce = randomBytes(12);
  const header: BackupHeader = {
    format: BACKUP_FORMAT,
    id: bytesToHex(randomBytes(16)),
    createdAt: (opts.now ?? new Date()).toISOString(),
    label: opts.label,
    cipher: "AES-256-GCM",
    nonce: bytesToHex(nonce),
    shamir: { scheme: "shamir-secret-sharing", n, k },
    kdf: { alg: "argon2id", ...kdf },
    files: opts.files.map((f) => ({
      name: f.name,
      size: f.data.length,
      sha256: bytesToHex(sha256(f.data)),
    })),
    references: [...(opts.references ?? [])],
  };
  const headerText = JSON.stringify(header);
  const ciphertext = gcm(dataKey, nonce, utf8ToBytes(headerText)).encrypt(encodeFiles(opts.files));
  const parts = await split(dataKey, n, k);
  const headerSha256 = bytesToHex(sha256(utf8ToBytes(headerText)));
  const shares: Share[] = [];
  for (let i = 0; i < n; i++) {
    const base = {
      format: SHARE_FORMAT,
      backupId: header.id,
      headerSha256,
      index: i + 1,
      n,
      k,
      custodian: opts.custodians?.[i] ?? `custodian-${i + 1}`,
    } as const;
    const pass = opts.passphrases?.[i];
    if (pass) {
      const salt = randomBytes(16);
      const wnonce = randomBytes(12);
      const key = await passphraseKey(pass, salt, kdf);
      const ct = gcm(key, wnonce, wrapAad(header.id, i + 1)).encrypt(parts[i]);
      shares.push({
        ...base,
        wrapped: { salt: bytesToHex(salt), nonce: bytesToHex(wnonce), ciphertext: bytesToHex(ct) },
      });
    } else {
      shares.push({ ...base, share: bytesToHex(parts[i]) });
    }
  }
  dataKey.fill(0);
  return {
    backup: { header: headerText, ciphertext: Buffer.from(ciphertext).toString("base64") },
    shares,
  };
}

/** Parses and checks a backup's header (format and fields). */
export function readHeader(backup: SealedBackup): BackupHeader {
  let h: BackupHeader;
  try {
    h = JSON.parse(backup.header) as BackupHeader;
  } catch {
    throw new CustodyError("the backup header is not valid JSON: the backup file is damaged");
  }
  if (h.format !== BACKUP_FORMAT)
    throw new CustodyError(`not a ${BACKUP_FORMAT} backup (format ${JSON.stringify(h.format)})`);
  if (!h.shamir || !Number.isInteger(h.shamir.k) || !h.kdf || !Array.isArray(h.files))
    throw new CustodyError(
      "the backup header lacks its Shamir, KDF or file fields: the backup file is damaged",
    );
  return h;
}

/**
 * Opens a backup with at least K shares. `passphrases` maps a share index to its custodian's
 * passphrase. Returns the files (checked against the header's sizes and SHA-256) or throws a
 * CustodyError saying what is wrong; never returns partial output.
 */
export async function openBackup(
  backup: SealedBackup,
  shares: readonly Share[],
  passphrases: ReadonlyMap<number, string> = new Map(),
): Promise<{ header: BackupHeader; files: KeyFile[] }> {
  const header = readHeader(backup);
  const headerSha256 = bytesToHex(sha256(utf8ToBytes(backup.header)));
  const byIndex = new Map<number, Share>();
  for (const s of shares) {
    if (s.format !== SHARE_FORMAT) throw new CustodyError(`not a ${SHARE_FORMAT} share`);
    if (s.backupId !== header.id)
      throw new CustodyError(
        `share ${s.index} belongs to backup ${s.backupId}, not to this backup ${header.id}`,
      );
    if (s.headerSha256 !== headerSha256)
      throw new CustodyError(
        `share ${s.index} was made for a different header: the backup header was altered`,
      );
    byIndex.set(s.index, s);
  }
  const k = header.shamir.k;
  if (byIndex.size < k)
    throw new CustodyError(
      `${byIndex.size} distinct share(s) given; this backup needs ${k} of ${header.shamir.n}`,
    );
  const parts: Uint8Array[] = [];
  for (const s of [...byIndex.values()].slice(0, k)) {
    if (s.wrapped) {
      const pass = passphrases.get(s.index);
      if (pass === undefined)
        throw new CustodyError(
          `share ${s.index} (${s.custodian ?? "?"}) is passphrase-protected: give its passphrase`,
        );
      const key = await passphraseKey(pass, hexToBytes(s.wrapped.salt), header.kdf);
      try {
        parts.push(
          gcm(key, hexToBytes(s.wrapped.nonce), wrapAad(header.id, s.index)).decrypt(
            hexToBytes(s.wrapped.ciphertext),
          ),
        );
      } catch {
        throw new CustodyError(
          `wrong passphrase for share ${s.index} (${s.custodian ?? "?"}), or the share file was altered`,
        );
      }
    } else if (s.share) {
      parts.push(hexToBytes(s.share));
    } else {
      throw new CustodyError(`share ${s.index} holds neither a share nor a wrapped share`);
    }
  }
  const dataKey = await combine(parts);
  let plain: Uint8Array;
  try {
    plain = gcm(dataKey, hexToBytes(header.nonce), utf8ToBytes(backup.header)).decrypt(
      Buffer.from(backup.ciphertext, "base64"),
    );
  } catch {
    throw new CustodyError(
      "the backup does not open: its ciphertext or header was altered, or a share is damaged",
    );
  } finally {
    dataKey.fill(0);
  }
  const decoded = JSON.parse(Buffer.from(plain).toString("utf8")) as {
    name: string;
    data: string;
  }[];
  const files = decoded.map((f) => ({
    name: f.name,
    data: new Uint8Array(Buffer.from(f.data, "base64")),
  }));
  const listed = header.files;
  if (files.length !== listed.length)
    throw new CustodyError("the backup's files differ from its header");
  for (const [i, f] of files.entries()) {
    checkName(f.name);
    const h = listed[i];
    if (h.name !== f.name || h.size !== f.data.length || h.sha256 !== bytesToHex(sha256(f.data)))
      throw new CustodyError(
        `file ${f.name} does not match the size and SHA-256 its header records`,
      );
  }
  return { header, files };
}

// ---- Scheduled backups sealed to the custodians' recovery key -------------------------------
//
// The backup job cannot hold shares (they never sit beside the ciphertext). It seals the key files
// to an X25519 recovery public key instead (ephemeral X25519, HKDF-SHA256, AES-256-GCM with the
// header as additional data; node:crypto in the job). The recovery private key exists only as a
// custodial backup (`drstack keys recovery-key`): K custodians open it, then the sealed backups.

export const SEAL_FORMAT = KEY_SEAL_FORMAT;
export const RECOVERY_KEY_FILE = "recovery-x25519.key";

export interface SealHeader {
  readonly format: typeof SEAL_FORMAT;
  readonly site: string;
  readonly createdAt: string;
  readonly cipher: "X25519-HKDF-SHA256-AES-256-GCM";
  /** The recovery public key (hex) and how its private key is shared. */
  readonly recipient: {
    readonly publicKey: string;
    readonly shares: number;
    readonly threshold: number;
  };
  readonly ephemeralPublicKey: string;
  readonly nonce: string;
  readonly files: readonly {
    readonly name: string;
    readonly size: number;
    readonly sha256: string;
  }[];
}

/** A new recovery key pair (raw 32-byte X25519 keys). */
export function newRecoveryKey(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = x25519.utils.randomPrivateKey();
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

/** Opens a sealed (job-made) backup with the recovery private key. */
export function openSealed(
  sealed: SealedBackup,
  recoveryPrivateKey: Uint8Array,
): { header: SealHeader; files: KeyFile[] } {
  let h: SealHeader;
  try {
    h = JSON.parse(sealed.header) as SealHeader;
  } catch {
    throw new CustodyError("the sealed backup's header is not valid JSON: the file is damaged");
  }
  if (h.format !== SEAL_FORMAT) throw new CustodyError(`not a ${SEAL_FORMAT} backup`);
  const ours = bytesToHex(x25519.getPublicKey(recoveryPrivateKey));
  if (h.recipient?.publicKey !== ours)
    throw new CustodyError(
      `this backup is sealed to recovery key ${h.recipient?.publicKey}, not to the restored key ${ours}`,
    );
  const eph = hexToBytes(h.ephemeralPublicKey);
  const shared = x25519.getSharedSecret(recoveryPrivateKey, eph);
  const key = hkdf(
    sha256,
    shared,
    new Uint8Array([...eph, ...hexToBytes(ours)]),
    utf8ToBytes(SEAL_FORMAT),
    32,
  );
  let plain: Uint8Array;
  try {
    plain = gcm(key, hexToBytes(h.nonce), utf8ToBytes(sealed.header)).decrypt(
      Buffer.from(sealed.ciphertext, "base64"),
    );
  } catch {
    throw new CustodyError("the sealed backup does not open: its ciphertext or header was altered");
  }
  const files = (
    JSON.parse(Buffer.from(plain).toString("utf8")) as { name: string; data: string }[]
  ).map((f) => ({
    name: f.name,
    data: new Uint8Array(Buffer.from(f.data, "base64")),
  }));
  if (files.length !== h.files.length)
    throw new CustodyError("the backup's files differ from its header");
  for (const [i, f] of files.entries()) {
    checkName(f.name);
    const l = h.files[i];
    if (l.name !== f.name || l.size !== f.data.length || l.sha256 !== bytesToHex(sha256(f.data)))
      throw new CustodyError(
        `file ${f.name} does not match the size and SHA-256 its header records`,
      );
  }
  return { header: h, files };
}
