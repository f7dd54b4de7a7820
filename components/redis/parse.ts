/**
 * A small parser for redis.conf / sentinel.conf text (what the policies read from the
 * ConfigMaps). Follows Redis' own tokenizer: whitespace-separated arguments, double-quoted
 * strings with backslash escapes, single-quoted strings, `#` comment lines. Pure.
 */

import { memoizeText } from "../util/memo";

export interface Directive {
  /** Lower-cased directive name, e.g. `appendonly`, `sentinel`. */
  readonly name: string;
  readonly args: readonly string[];
  /** 1-based line number. */
  readonly line: number;
}

/** Splits one config line into arguments; undefined for unbalanced quotes. */
export function splitArgs(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let arg = "";
    if (line[i] === '"' || line[i] === "'") {
      const q = line[i++];
      let closed = false;
      while (i < line.length) {
        const c = line[i++];
        if (c === "\\" && q === '"' && i < line.length) arg += line[i++];
        else if (c === q) {
          closed = true;
          break;
        } else arg += c;
      }
      if (!closed) return undefined;
    } else {
      while (i < line.length && !/\s/.test(line[i])) arg += line[i++];
    }
    out.push(arg);
  }
  return out;
}

/** Every directive of a config text. Rules read the same ConfigMaps repeatedly: results are shared. */
export const parseRedisConf: (text: string) => readonly Directive[] = memoizeText(parseUncached);

function parseUncached(text: string): Directive[] {
  const out: Directive[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const args = splitArgs(line);
    if (!args || args.length === 0) return;
    out.push({ name: args[0].toLowerCase(), args: args.slice(1), line: idx + 1 });
  });
  return out;
}

/** The last value of a single-argument directive (Redis keeps the last one), or undefined. */
export function confValue(text: string, name: string): string | undefined {
  const hits = parseRedisConf(text).filter((d) => d.name === name.toLowerCase());
  return hits.length > 0 ? hits[hits.length - 1].args.join(" ") : undefined;
}

export interface SentinelMonitor {
  readonly masterName: string;
  readonly host: string;
  readonly port: number;
  readonly quorum: number;
  readonly options: Readonly<Record<string, string>>;
}

/** The masters a sentinel.conf monitors, with their per-master options (down-after-milliseconds ...). */
export function sentinelMonitors(text: string): SentinelMonitor[] {
  const monitors = new Map<
    string,
    { host: string; port: number; quorum: number; options: Record<string, string> }
  >();
  const options = new Map<string, Record<string, string>>();
  for (const d of parseRedisConf(text)) {
    if (d.name !== "sentinel" || d.args.length < 2) continue;
    const sub = d.args[0].toLowerCase();
    if (sub === "monitor" && d.args.length >= 5) {
      monitors.set(d.args[1], {
        host: d.args[2],
        port: Number(d.args[3]),
        quorum: Number(d.args[4]),
        options: options.get(d.args[1]) ?? {},
      });
    } else if (
      d.args.length >= 3 &&
      ![
        "announce-ip",
        "announce-port",
        "sentinel-pass",
        "sentinel-user",
        "resolve-hostnames",
        "announce-hostnames",
        "myid",
        "current-epoch",
      ].includes(sub)
    ) {
      const opts = options.get(d.args[1]) ?? {};
      opts[sub] = d.args.slice(2).join(" ");
      options.set(d.args[1], opts);
      const m = monitors.get(d.args[1]);
      if (m) m.options = opts;
    }
  }
  return [...monitors].map(([masterName, m]) => ({ masterName, ...m }));
}

type Obj = Record<string, unknown>;
interface PodLike {
  metadata?: { labels?: Record<string, string> };
  spec?: {
    containers?: { command?: string[]; args?: string[]; image?: string }[];
    volumes?: Obj[];
  };
}

function commandsOf(tpl: PodLike | undefined): string[] {
  return (tpl?.spec?.containers ?? []).flatMap((c) =>
    [...(c.command ?? []), ...(c.args ?? [])].map(String),
  );
}

/** Whether a pod template runs Redis Sentinel (by its command, or the standard name label). */
export function runsSentinel(tpl: PodLike | undefined): boolean {
  if (tpl?.metadata?.labels?.["app.kubernetes.io/name"] === "redis-sentinel") return true;
  return commandsOf(tpl).some((c) => /(^|\/)redis-sentinel$/.test(c) || c === "--sentinel");
}

/** Whether a pod template runs a Redis server (not a sentinel). */
export function runsRedisServer(tpl: PodLike | undefined): boolean {
  if (runsSentinel(tpl)) return false;
  if (tpl?.metadata?.labels?.["app.kubernetes.io/name"] === "redis") return true;
  return commandsOf(tpl).some((c) => /(^|\/)redis-server$/.test(c));
}

/** Names of the ConfigMaps a pod template mounts. */
export function mountedConfigMaps(tpl: PodLike | undefined): string[] {
  return (tpl?.spec?.volumes ?? [])
    .map((v) => (v.configMap as { name?: string } | undefined)?.name)
    .filter((n): n is string => typeof n === "string");
}
