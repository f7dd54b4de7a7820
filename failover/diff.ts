/**
 * Pure diffs for `--dry-run`: a unified diff of two texts (the network.yaml change a pull
 * request carries) and a resource diff of two offline plans (added, removed, changed by URN).
 */

/** A unified diff (`---`/`+++` headers, `@@` hunks with `context` lines around each change). */
export function unifiedDiff(
  before: string,
  after: string,
  fileA: string,
  fileB = fileA,
  context = 2,
): string {
  if (before === after) return "";
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = lineOps(a, b);
  // Group changes into hunks with context.
  const lines: string[] = [`--- a/${fileA}`, `+++ b/${fileB}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].kind === " ") {
      i++;
      continue;
    }
    let start = Math.max(0, i - context);
    // Extend the hunk while the next change is within 2*context lines.
    let end = i;
    for (;;) {
      while (end < ops.length && ops[end].kind !== " ") end++;
      let next = end;
      while (next < ops.length && ops[next].kind === " ") next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    while (start > 0 && ops[start - 1].kind !== " ") start--;
    const hunk = ops.slice(start, stop);
    const aStart = ops[start].a + 1;
    const bStart = ops[start].b + 1;
    const aLen = hunk.filter((o) => o.kind !== "+").length;
    const bLen = hunk.filter((o) => o.kind !== "-").length;
    lines.push(
      `@@ -${aLen ? aStart : aStart - 1},${aLen} +${bLen ? bStart : bStart - 1},${bLen} @@`,
    );
    for (const o of hunk) lines.push(`${o.kind}${o.text}`);
    i = stop;
  }
  return lines.join("\n") + "\n";
}

interface LineOp {
  readonly kind: " " | "-" | "+";
  readonly text: string;
  /** Index of the line in `a` (for `+`: the position it is inserted before). */
  readonly a: number;
  readonly b: number;
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Line operations from a longest-common-subsequence table (files here are small). */
function lineOps(a: readonly string[], b: readonly string[]): LineOp[] {
  // Trim the common prefix and suffix first: a flip changes two lines of a long file.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  )
    suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let x = n - 1; x >= 0; x--)
    for (let y = m - 1; y >= 0; y--)
      lcs[x][y] = am[x] === bm[y] ? lcs[x + 1][y + 1] + 1 : Math.max(lcs[x + 1][y], lcs[x][y + 1]);
  const ops: LineOp[] = [];
  for (let k = 0; k < pre; k++) ops.push({ kind: " ", text: a[k], a: k, b: k });
  let x = 0;
  let y = 0;
  while (x < n || y < m) {
    if (x < n && y < m && am[x] === bm[y]) {
      ops.push({ kind: " ", text: am[x], a: pre + x, b: pre + y });
      x++;
      y++;
    } else if (x < n && (y >= m || lcs[x + 1][y] >= lcs[x][y + 1])) {
      ops.push({ kind: "-", text: am[x], a: pre + x, b: pre + y });
      x++;
    } else {
      ops.push({ kind: "+", text: bm[y], a: pre + x, b: pre + y });
      y++;
    }
  }
  for (let k = 0; k < suf; k++)
    ops.push({
      kind: " ",
      text: a[a.length - suf + k],
      a: a.length - suf + k,
      b: b.length - suf + k,
    });
  return ops;
}

/** What a resource diff needs of a planned resource (planner's ResourceRecord fits). */
export interface PlannedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

export interface ResourceChange {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Top-level input keys whose value differs (sorted); empty for adds and removes. */
  readonly keys: readonly string[];
  /** Secrets: keys of `data`/`stringData` present before and after whose values differ (sorted). */
  readonly rewrittenKeys?: readonly string[];
}

export interface StackResourceDiff {
  readonly stack: string;
  readonly added: readonly ResourceChange[];
  readonly removed: readonly ResourceChange[];
  readonly changed: readonly ResourceChange[];
  readonly unchanged: number;
}

/** Compares two plans of one stack by URN; `changed` lists the input keys that differ. */
export function resourceDiff(
  stack: string,
  before: readonly PlannedResource[],
  after: readonly PlannedResource[],
): StackResourceDiff {
  const old = new Map(before.map((r) => [r.urn, r]));
  const now = new Map(after.map((r) => [r.urn, r]));
  const pick = (r: PlannedResource, keys: string[] = []): ResourceChange => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    keys,
  });
  const added = after.filter((r) => !old.has(r.urn)).map((r) => pick(r));
  const removed = before.filter((r) => !now.has(r.urn)).map((r) => pick(r));
  const changed: ResourceChange[] = [];
  let unchanged = 0;
  for (const r of after) {
    const o = old.get(r.urn);
    if (!o) continue;
    const keys = [...new Set([...Object.keys(o.inputs), ...Object.keys(r.inputs)])]
      .filter((k) => stableJson(o.inputs[k]) !== stableJson(r.inputs[k]))
      .sort();
    if (keys.length === 0) {
      unchanged++;
      continue;
    }
    const rewritten = r.type === "kubernetes:core/v1:Secret" ? rewrittenSecretKeys(o, r) : [];
    changed.push({ ...pick(r, keys), ...(rewritten.length ? { rewrittenKeys: rewritten } : {}) });
  }
  return { stack, added, removed, changed, unchanged };
}

/** Keys a Secret holds before and after (in `data` or `stringData`) whose values differ. */
function rewrittenSecretKeys(before: PlannedResource, after: PlannedResource): string[] {
  const entries = (r: PlannedResource) => {
    const m = new Map<string, string>();
    for (const field of ["data", "stringData"])
      for (const [k, v] of Object.entries((r.inputs[field] ?? {}) as Record<string, unknown>))
        m.set(k, stableJson(v));
    return m;
  };
  const a = entries(before);
  const b = entries(after);
  return [...a]
    .filter(([k, v]) => b.has(k) && b.get(k) !== v)
    .map(([k]) => k)
    .sort();
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v && typeof v === "object" && !Array.isArray(v))
        return Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        );
      return v;
    }) ?? "undefined"
  );
}

/**
 * Changes in a swap's resource diff that need an operator's attention before `pulumi up`:
 * generated credentials created or deleted, and secrets whose data changes (a promoted site
 * must keep the credentials its replicated data was created with). Pure.
 */
export function swapHazards(diffs: readonly StackResourceDiff[]): string[] {
  const out: string[] = [];
  for (const d of diffs) {
    const gen = (list: readonly ResourceChange[]) =>
      list.filter((r) => /^random:index\/random(Password|String|Bytes|Id):/.test(r.type));
    const added = gen(d.added);
    const removed = gen(d.removed);
    if (added.length)
      out.push(
        `stack ${d.stack}: creates ${added.length} generated credential(s) (${added.map((r) => r.name).join(", ")}), but its data (roles included) was replicated from the old primary and keeps the old passwords: applying it as is leaves Patroni/Redis unable to authenticate. Keep credentialsSite in the network file on the site that generated them (docs/failover.md)`,
      );
    if (removed.length)
      out.push(
        `stack ${d.stack}: deletes ${removed.length} generated credential(s) (${removed.map((r) => r.name).join(", ")}), which other sites' data may still use`,
      );
    for (const r of d.changed.filter((c) => c.rewrittenKeys?.length))
      out.push(
        `stack ${d.stack}: rewrites ${r.rewrittenKeys!.join(", ")} of Secret ${r.name}: the running cluster's data keeps the old values`,
      );
  }
  return out;
}
