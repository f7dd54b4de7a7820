/**
 * Which Patroni + PostgreSQL the drill runs, and how to start them. The default is the deployed
 * image's Patroni major.minor and PostgreSQL major (components/shared/versions.ts): Debian 13's
 * Patroni 4.0.7 + PostgreSQL 17, fetched into a cache by scripts/fetch-trixie.sh (Patroni runs on
 * Debian 12's python3 with PYTHONPATH into the cache; the PostgreSQL binaries are patched to
 * trixie's loader). `--patroni 3.0.2` runs Debian 12's installed packages instead.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DRILL_DEFAULT, DRILL_VERSIONS, type DrillVersion } from "../components/shared/versions";

export const TRIXIE_CACHE = process.env.DRSTACK_TRIXIE_CACHE ?? "/var/cache/drstack/trixie";
export const FETCH_COMMAND = "bash scripts/fetch-trixie.sh";

export interface PatroniRuntime extends DrillVersion {
  /** Directory of postgres, initdb, pg_ctl, psql, pgbench, pg_dump. */
  readonly pgBinDir: string;
  /** Executable that starts Patroni, and the arguments before Patroni's own. */
  readonly patroniCommand: string;
  readonly patroniPrefixArgs: readonly string[];
  /** Directories put first on PATH of PostgreSQL/Patroni/pgBackRest processes. */
  readonly path: readonly string[];
  /** Extra environment Patroni needs (PYTHONPATH into the cache). */
  readonly patroniEnv: Readonly<Record<string, string>>;
  /** Files that must exist, with the command that provides them. */
  readonly requires: readonly { file: string; provide: string }[];
}

/** The runtime of `version` (exact, or major.minor); throws naming the versions it knows. */
export function runtimeFor(version: string = DRILL_DEFAULT.patroni): PatroniRuntime {
  const v = DRILL_VERSIONS.find(
    (x) => x.patroni === version || x.patroni.startsWith(`${version}.`),
  );
  if (!v)
    throw new Error(
      `the drill runs Patroni ${DRILL_VERSIONS.map((x) => x.patroni).join(" or ")}, not ${version}`,
    );
  if (v.source === "system") {
    const pgBinDir = `/usr/lib/postgresql/${v.postgresMajor}/bin`;
    return {
      ...v,
      pgBinDir,
      path: [pgBinDir],
      patroniCommand: "patroni",
      patroniPrefixArgs: [],
      patroniEnv: {},
      requires: [
        { file: "/usr/bin/patroni", provide: "sudo bash scripts/install-debian-deps.sh" },
        {
          file: path.join(pgBinDir, "postgres"),
          provide: "sudo bash scripts/install-debian-deps.sh",
        },
      ],
    };
  }
  const root = path.join(TRIXIE_CACHE, "root");
  const pgBinDir = path.join(root, "usr/lib/postgresql", String(v.postgresMajor), "bin");
  const script = path.join(root, "usr/bin/patroni");
  return {
    ...v,
    pgBinDir,
    // pgBackRest 2.55 (bookworm's 2.43 does not know PostgreSQL 17).
    path: [pgBinDir, path.join(TRIXIE_CACHE, "bin")],
    // Debian 12's python3 (not whatever python3 is first on PATH) has Patroni's libraries.
    patroniCommand: "/usr/bin/python3",
    patroniPrefixArgs: [script],
    patroniEnv: { PYTHONPATH: path.join(root, "usr/lib/python3/dist-packages") },
    requires: [
      { file: script, provide: FETCH_COMMAND },
      { file: path.join(pgBinDir, "postgres"), provide: FETCH_COMMAND },
      { file: "/usr/bin/python3", provide: "sudo bash scripts/install-debian-deps.sh" },
    ],
  };
}

/** What of `rt` is missing on this machine. */
export function missingRuntime(rt: PatroniRuntime): { file: string; provide: string }[] {
  return rt.requires.filter((r) => !fs.existsSync(r.file));
}

let current: PatroniRuntime | undefined;

/** Selects the runtime every drill module uses from now on (the drill runs one at a time). */
export function useRuntime(version?: string): PatroniRuntime {
  current = runtimeFor(version);
  return current;
}

/** The runtime in use (the default until {@link useRuntime} picks another). */
export function currentRuntime(): PatroniRuntime {
  return (current ??= runtimeFor());
}

/** Directory of the PostgreSQL binaries of the runtime in use. */
export function pgBinDir(): string {
  return currentRuntime().pgBinDir;
}

/** PATH directories of the runtime in use. */
export function runtimePath(): string[] {
  return [...currentRuntime().path];
}
