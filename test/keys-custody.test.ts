/**
 * Custodial key backup: property tests over random key files, share counts, thresholds and share
 * subsets (any K restore byte for byte; K-1, a wrong passphrase, an altered header or ciphertext,
 * shares of another backup are refused), with small Argon2id parameters given explicitly; the
 * defaults (RFC 9106's m=64 MiB, t=3, p=4) run once; the CLI writes nothing when it refuses.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import {
  createBackup,
  CustodyError,
  DEFAULT_KDF,
  type KeyFile,
  openBackup,
  type Share,
} from "../cli/keys/custody";
import { runCli } from "./support/project";

const SMALL_KDF = { m: 64, t: 1, p: 1 };

const fileArb = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9_]{0,12}\.json$/),
  data: fc.uint8Array({ minLength: 0, maxLength: 600 }),
});
const filesArb = fc.uniqueArray(fileArb, { minLength: 1, maxLength: 4, selector: (f) => f.name });
/** n, k and a subset of share indexes (0-based) of size `size(k)`. */
const splitArb = (size: (k: number) => number) =>
  fc
    .integer({ min: 2, max: 7 })
    .chain((n) => fc.integer({ min: 2, max: n }).map((k) => ({ n, k })))
    .chain(({ n, k }) =>
      fc
        .shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: size(k), maxLength: size(k) },
        )
        .map((subset) => ({ n, k, subset })),
    );

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(CustodyError);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a refusal matching ${pattern}`);
}

function same(a: readonly KeyFile[], b: readonly KeyFile[]): void {
  expect(b.map((f) => f.name)).to.deep.equal(a.map((f) => f.name));
  for (const [i, f] of a.entries())
    expect(Buffer.from(b[i].data).equals(Buffer.from(f.data))).to.equal(true);
}

describe("keys custody: AES-256-GCM + Shamir + Argon2id (properties)", function () {
  this.timeout(300_000);

  it("any K distinct shares restore the files byte for byte (unwrapped shares)", async () => {
    await fc.assert(
      fc.asyncProperty(
        filesArb,
        splitArb((k) => k),
        async (files, { n, k, subset }) => {
          const { backup, shares } = await createBackup({
            label: "v",
            files,
            n,
            k,
            kdf: SMALL_KDF,
          });
          const out = await openBackup(
            backup,
            subset.map((i) => shares[i]),
          );
          same(files, out.files);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("K-1 shares are refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        filesArb,
        splitArb((k) => k - 1),
        async (files, { n, k, subset }) => {
          const { backup, shares } = await createBackup({
            label: "v",
            files,
            n,
            k,
            kdf: SMALL_KDF,
          });
          await rejects(
            openBackup(
              backup,
              subset.map((i) => shares[i]),
            ),
            /needs \d+ of \d+/,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it("passphrase-wrapped shares open with their passphrases and refuse a wrong one", async () => {
    await fc.assert(
      fc.asyncProperty(
        filesArb,
        splitArb((k) => k),
        fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 7, maxLength: 7 }),
        fc.nat(),
        async (files, { n, k, subset }, words, pick) => {
          const passphrases = words.slice(0, n).map((w, i) => `${i}:${w}`);
          const { backup, shares } = await createBackup({
            label: "v",
            files,
            n,
            k,
            passphrases,
            kdf: SMALL_KDF,
          });
          const chosen = subset.map((i) => shares[i]);
          const good = new Map(chosen.map((s) => [s.index, passphrases[s.index - 1]]));
          same(files, (await openBackup(backup, chosen, good)).files);
          const wrongIndex = chosen[pick % chosen.length].index;
          const bad = new Map(good).set(wrongIndex, `${good.get(wrongIndex)}x`);
          await rejects(
            openBackup(backup, chosen, bad),
            new RegExp(`wrong passphrase for share ${wrongIndex}`),
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it("an altered ciphertext or header, or shares of another backup, are refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        filesArb,
        splitArb((k) => k),
        fc.nat(),
        async (files, { n, k, subset }, at) => {
          const { backup, shares } = await createBackup({
            label: "v",
            files,
            n,
            k,
            kdf: SMALL_KDF,
          });
          const chosen = subset.map((i) => shares[i]);
          const ct = Buffer.from(backup.ciphertext, "base64");
          ct[at % ct.length] ^= 0x01;
          await rejects(
            openBackup({ ...backup, ciphertext: ct.toString("base64") }, chosen),
            /does not open/,
          );
          // Any change to the header: refused (shares name its SHA-256; GCM authenticates it).
          const header = backup.header.replace('"label":"v"', '"label":"w"');
          await rejects(openBackup({ ...backup, header }, chosen), /different header|altered/);
          const other = await createBackup({ label: "v", files, n, k, kdf: SMALL_KDF });
          await rejects(openBackup(backup, other.shares.slice(0, k)), /belongs to backup/);
          // Mixed: k-1 of ours and one of theirs.
          const mixed: Share[] = [...chosen.slice(0, k - 1), other.shares[k - 1]];
          await rejects(openBackup(backup, mixed), /belongs to backup/);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("a share whose bytes were altered (forged with the right ids) does not open the backup", async () => {
    const files = [{ name: "priv_validator_key.json", data: new Uint8Array(300).fill(7) }];
    const { backup, shares } = await createBackup({ label: "v", files, kdf: SMALL_KDF });
    const s = shares[0];
    const forged = {
      ...s,
      share: `${s.share!.slice(0, 10)}${s.share![10] === "0" ? "1" : "0"}${s.share!.slice(11)}`,
    };
    await rejects(openBackup(backup, [forged, shares[1], shares[2]]), /does not open/);
  });

  it("the defaults are 3 of 5 and RFC 9106's Argon2id (m=64 MiB, t=3, p=4), recorded in the header and used", async () => {
    expect(DEFAULT_KDF).to.deep.equal({ m: 65536, t: 3, p: 4 });
    const files = [{ name: "node_key.json", data: new Uint8Array([1, 2, 3]) }];
    const { backup, shares } = await createBackup({
      label: "v",
      files,
      passphrases: ["alpha", undefined, undefined, undefined, undefined],
    });
    const h = JSON.parse(backup.header);
    expect(h.shamir).to.include({ n: 5, k: 3 });
    expect(h.kdf).to.deep.equal({ alg: "argon2id", m: 65536, t: 3, p: 4 });
    expect(shares).to.have.length(5);
    expect(shares[0].wrapped).to.not.equal(undefined);
    expect(shares[0].share).to.equal(undefined);
    same(
      files,
      (await openBackup(backup, [shares[0], shares[3], shares[4]], new Map([[1, "alpha"]]))).files,
    );
    // Lowering the recorded parameters changes the derived key: the share no longer opens.
    const weaker = backup.header.replace('"m":65536', '"m":64');
    await rejects(
      openBackup({ ...backup, header: weaker }, shares.slice(0, 3)),
      /different header/,
    );
  });
});

describe("keys custody: drstack keys backup / restore (CLI)", function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-keys-"));
  const keys = path.join(dir, "val");
  const kdf = ["--kdf-memory", "64", "--kdf-time", "1", "--kdf-lanes", "1"];
  before(() => {
    fs.mkdirSync(path.join(keys, "sub"), { recursive: true });
    fs.writeFileSync(
      path.join(keys, "priv_validator_key.json"),
      '{"address":"AB","priv_key":{}}\n',
    );
    fs.writeFileSync(path.join(keys, "node_key.json"), Buffer.from([0, 255, 10, 13, 1]));
    fs.writeFileSync(path.join(keys, "sub", "signer.toml"), "x = 1\n");
    for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(dir, `p${i}`), `pass ${i}\n`);
  });

  it("backs up with 5 custodians, restores with any 3 and refuses 2 or a wrong passphrase without writing", () => {
    const custodians = ["a", "b", "c", "d", "e"].flatMap((c, i) => [
      "--custodian",
      `${c}=${path.join(dir, `p${i + 1}`)}`,
    ]);
    const b = runCli([
      "keys",
      "backup",
      "--dir",
      keys,
      "--out",
      path.join(dir, "bk"),
      "--shares-out",
      path.join(dir, "sh"),
      ...custodians,
      ...kdf,
      "--reference",
      "tmkms://signer:26659",
    ]);
    expect(b.code, b.stderr).to.equal(0);
    expect(fs.readdirSync(path.join(dir, "bk"))).to.deep.equal(["backup.json"]);
    const stored = fs.readFileSync(path.join(dir, "bk", "backup.json"), "utf8");
    expect(stored).to.not.match(/"share"|wrapped/);
    expect(JSON.parse(JSON.parse(stored).header).references).to.deep.equal([
      "tmkms://signer:26659",
    ]);
    const share = (i: number, p = i) => [
      "--share",
      `${path.join(dir, "sh", `share-${i}-${"abcde"[i - 1]}.json`)}=${path.join(dir, `p${p}`)}`,
    ];
    const out = path.join(dir, "restored");
    const r = runCli([
      "keys",
      "restore",
      "--backup",
      path.join(dir, "bk", "backup.json"),
      ...share(5),
      ...share(1),
      ...share(3),
      "--out",
      out,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    for (const f of ["priv_validator_key.json", "node_key.json", "sub/signer.toml"])
      expect(
        fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(keys, f))),
      ).to.equal(true);
    const none = path.join(dir, "none");
    const two = runCli([
      "keys",
      "restore",
      "--backup",
      path.join(dir, "bk", "backup.json"),
      ...share(1),
      ...share(2),
      "--out",
      none,
    ]);
    expect(two.code).to.equal(1);
    expect(two.stderr).to.contain("needs 3 of 5");
    const wrong = runCli([
      "keys",
      "restore",
      "--backup",
      path.join(dir, "bk", "backup.json"),
      ...share(1),
      ...share(2, 3),
      ...share(4),
      "--out",
      none,
    ]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain("wrong passphrase for share 2");
    expect(fs.existsSync(none)).to.equal(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(".drstack-restore-"))).to.deep.equal([]);
  });

  it("refuses to put the shares beside the ciphertext", () => {
    const r = runCli([
      "keys",
      "backup",
      "--dir",
      keys,
      "--out",
      path.join(dir, "x"),
      "--shares-out",
      path.join(dir, "x"),
      ...kdf,
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("shares never go beside the ciphertext");
  });
});
