/**
 * Runbooks for the current topology, pure: for each failure scenario the operators' DR guides
 * name (single node, zone, region, data corruption / PITR, key compromise, backup restore), the
 * steps and the exact commands for this network's sites, with the declared RTO/RPO beside each.
 */
import {
  formatDuration,
  type Network,
  type Objective,
  type Scenario,
} from "../components/topology/model";
import { clusterName } from "../components/clusters/plan";

export const RUNBOOK_SCENARIOS = [
  "node",
  "zone",
  "region",
  "corruption",
  "key-compromise",
  "restore",
] as const;
export type RunbookScenario = (typeof RUNBOOK_SCENARIOS)[number];

/** The objective each runbook is measured against. */
const OBJECTIVE_OF: Record<RunbookScenario, Scenario> = {
  node: "node",
  zone: "zone",
  region: "region",
  corruption: "corruption",
  "key-compromise": "keyCompromise",
  restore: "full",
};

/** Per-site facts the commands need (from the stacks' config: `kubeSiteFacts`). */
export interface RunbookSite {
  readonly site: string;
  readonly stack: string;
  readonly context?: string;
  /** Namespace of Patroni/Redis (`<prefix>-data`). */
  readonly namespace: string;
  /** Namespace of the validators (`<prefix>-validators`). */
  readonly validatorsNamespace: string;
  /** Patroni scope = pgBackRest stanza = StatefulSet name. */
  readonly scope: string;
  /** Patroni members (pods `<scope>-0..n-1`); default 3. */
  readonly members?: number;
}

export interface RunbookStep {
  readonly text: string;
  /** Shell commands, one per line. */
  readonly commands: readonly string[];
}

export interface Runbook {
  readonly scenario: RunbookScenario;
  readonly title: string;
  /** Objective key in `stacks/network.yaml` (`objectives.<key>`). */
  readonly objectiveKey: Scenario;
  /** Undefined when the network does not declare it. */
  readonly objective?: { readonly rto: string; readonly rpo: string };
  readonly summary: string;
  readonly steps: readonly RunbookStep[];
}

const TITLES: Record<RunbookScenario, string> = {
  node: "Single node lost (database, Redis or validator pod/node)",
  zone: "Availability zone lost",
  region: "Primary region lost: stack swap to a standby site",
  corruption: "Data corruption / bad write: point-in-time restore",
  "key-compromise": "Validator key compromised: rotate and redeploy",
  restore: "Everything lost: restore from the replicated backups",
};

function kc(s: RunbookSite): string {
  return `kubectl${s.context ? ` --context ${s.context}` : ""}`;
}

/**
 * A pgBackRest restore of a Patroni cluster, in a safe order: pause Patroni (no failover while
 * members are down), stop PostgreSQL on the replicas first and on the leader last (a replica
 * never outlives its leader to be promoted on the old timeline), restore the leader (`--delta`:
 * only changed files; `restoreArgs` selects latest or a point in time), resume (Patroni starts the
 * leader, which replays WAL to the target and promotes), then re-create every replica from it.
 * The leader is `<scope>-0` (`patronictl list` shows it; switch over to it first otherwise).
 */
export function pgRestoreCommands(s: RunbookSite, restoreArgs: string): string[] {
  const members = s.members ?? 3;
  const exec = (i: number, cmd: string) =>
    `${kc(s)} -n ${s.namespace} exec ${s.scope}-${i} -c patroni -- ${cmd}`;
  const patronictl = (cmd: string) => exec(0, `patronictl -c /etc/patroni/patroni.yaml ${cmd}`);
  const replicas = Array.from({ length: members - 1 }, (_, k) => k + 1);
  const stop = "pg_ctl stop -D /pgdata/pg15 -m fast";
  return [
    patronictl("list"),
    patronictl(`pause ${s.scope} --wait`),
    ...replicas.map((i) => exec(i, stop)),
    exec(0, stop),
    exec(
      0,
      `pgbackrest --config=/etc/patroni/pgbackrest.conf --stanza=${s.scope} restore --delta${restoreArgs}`,
    ),
    patronictl(`resume ${s.scope} --wait`),
    ...replicas.map((i) => patronictl(`reinit ${s.scope} ${s.scope}-${i} --force --wait`)),
    patronictl("list"),
  ];
}

/** Builds every runbook (or the ones asked for) for `network`. */
export function buildRunbooks(
  network: Network,
  sites: ReadonlyMap<string, RunbookSite>,
  only?: readonly RunbookScenario[],
): Runbook[] {
  const primary = network.sites.find((s) => s.role === "primary")!;
  const p = sites.get(primary.name) ?? fallbackSite(primary.name);
  const standbys = network.sites.filter(
    (s) => s.role === "standby" && s.services.includes("postgres"),
  );
  const dr = standbys[0];
  const d = dr ? (sites.get(dr.name) ?? fallbackSite(dr.name)) : undefined;
  const patroni = (s: RunbookSite, cmd: string) =>
    `${kc(s)} -n ${s.namespace} exec ${s.scope}-0 -c patroni -- patronictl -c /etc/patroni/patroni.yaml ${cmd}`;
  const validatorsBySite = network.sites
    .filter((s) => s.services.includes("validators"))
    .map(
      (s) =>
        `${s.name}: ${
          network.validators
            .filter((v) => v.site === s.name)
            .map((v) => v.name)
            .join(", ") || "(none)"
        }`,
    )
    .join("; ");

  const books: Record<
    RunbookScenario,
    Omit<Runbook, "scenario" | "title" | "objectiveKey" | "objective">
  > = {
    node: {
      summary: `Automatic: Patroni elects a new leader (leader lock TTL + loop wait), Sentinel promotes a Redis replica, the other validators keep signing. Operators confirm and repair.`,
      steps: [
        {
          text: `Confirm the cluster state on the primary site ${primary.name}: a leader, members streaming.`,
          commands: [
            patroni(p, "list"),
            `${kc(p)} -n ${p.namespace} get pods -l app.kubernetes.io/name=patroni,cluster-name=${p.scope} -o wide`,
          ],
        },
        {
          text: "Confirm Redis: Sentinel names a reachable master.",
          commands: [
            `${kc(p)} -n ${p.namespace} exec redis-sentinel-0 -- redis-cli -p 26379 sentinel masters`,
          ],
        },
        {
          text: "The failed member rejoins as a replica by itself (pg_rewind). If it stays stopped or diverged, re-create it from the leader.",
          commands: [patroni(p, `reinit ${p.scope} <member> --force`)],
        },
        {
          text: "Rehearse it: the drill kills the leader and measures RTO/RPO against these objectives.",
          commands: ["drstack drill --scenario node-failover"],
        },
      ],
    },
    zone: {
      summary: `Members are spread over ${primary.zones.length} zones of ${primary.region} with a synchronous replica; losing one zone is a node failover for each affected cluster, with the zone's capacity gone until it returns.`,
      steps: [
        {
          text: "Find what ran in the lost zone, and cordon its nodes so nothing is scheduled back there while it flaps.",
          commands: [
            `${kc(p)} get nodes -L topology.kubernetes.io/zone`,
            `${kc(p)} cordon -l topology.kubernetes.io/zone=<zone>`,
          ],
        },
        {
          text: "Confirm Patroni and Sentinel failed over (as for a single node) and that a synchronous standby exists again.",
          commands: [patroni(p, "list")],
        },
        {
          text: `Confirm the network keeps quorum: validators per site (${validatorsBySite}); no region holds 1/3 of the voting power.`,
          commands: ["drstack plan --all"],
        },
        {
          text: "When the zone returns, uncordon; members rejoin as replicas.",
          commands: [`${kc(p)} uncordon -l topology.kubernetes.io/zone=<zone>`],
        },
      ],
    },
    region: {
      summary: dr
        ? `Stack swap: fence ${primary.name}, promote ${dr.name} (Patroni standby_cluster removed), flip stacks/network.yaml, apply ${dr.name}'s stack, verify writes. Later the old primary returns as a standby.`
        : "No standby site runs postgres: a region loss is a full restore from backups (see restore).",
      steps: dr
        ? [
            {
              text: `Confirm the loss of ${primary.region} (cloud status page, API unreachable from two vantage points). See what the swap would change, offline.`,
              commands: [`drstack failover --to ${dr.name} --dry-run`],
            },
            ...(dr.kubernetes.managed
              ? [
                  {
                    text: `If ${dr.name}'s cluster does not exist yet (a cold DR site, or it was lost too): its stack creates it (kubernetes.managed, docs/clusters.md) from the replicated state, then the data services restore from the replicated backups. Creating a ${dr.cloud === "aws" ? "EKS" : "GKE"} cluster with its node ${dr.cloud === "aws" ? "groups" : "pools"} takes about 15-25 minutes: that time counts toward the region RTO (${network.objectives.region?.rto ?? "not declared"}).`,
                    commands: [
                      `pulumi stack select ${d!.stack}`,
                      `pulumi up -s ${d!.stack}`,
                      dr.cloud === "aws"
                        ? `aws eks update-kubeconfig --name ${clusterName(network.name, dr)} --region ${dr.region}`
                        : `gcloud container clusters get-credentials ${clusterName(network.name, dr)} --region ${dr.region} --project ${dr.kubernetes.managed.project ?? "<project>"}`,
                      `${kc(d!)} get nodes -L topology.kubernetes.io/zone`,
                    ],
                  },
                ]
              : []),
            {
              text: `Swap. Preflight checks ${dr.name}'s replication lag and backup age against the RPO; the old primary is fenced before promotion. If ${primary.name} is unreachable, fencing cannot be confirmed: force it and say why.`,
              commands: [
                `drstack failover --to ${dr.name}`,
                `drstack failover --to ${dr.name} --force --reason "${primary.region} lost, incident <id>"`,
              ],
            },
            {
              text: "Commit the topology change the swap made (the pull request of the swap).",
              commands: [`git commit -m "failover: ${dr.name} is primary" stacks/network.yaml`],
            },
            {
              text: `When ${primary.region} is back: ${primary.name} rejoins as a standby of ${dr.name} (it never starts as a primary), then optionally swap back (demote ${dr.name} first, promote ${primary.name} second).`,
              commands: [
                `drstack failback --site ${primary.name} --dry-run`,
                `drstack failback --site ${primary.name}`,
                `drstack failback --site ${primary.name} --swap-back`,
              ],
            },
            ...(standbys.length > 1
              ? [
                  {
                    text: `Other standby sites that run postgres (${standbys
                      .slice(1)
                      .map((s) => s.name)
                      .join(", ")}) can be the target instead.`,
                    commands: standbys
                      .slice(1)
                      .map((s) => `drstack failover --to ${s.name} --dry-run`),
                  },
                ]
              : []),
          ]
        : [
            {
              text: "Follow the restore runbook.",
              commands: ["drstack runbook --scenario restore"],
            },
          ],
    },
    corruption: {
      summary: `Restore the primary cluster to just before the bad write with pgBackRest (PITR), then re-seed the standby site${dr ? ` ${dr.name}` : ""}, which replicated the bad write on the old timeline.`,
      steps: [
        {
          text: "Stop the writers, find the time of the bad statement (PostgreSQL log, application audit).",
          commands: [
            `${kc(p)} -n ${p.namespace} logs ${p.scope}-0 -c patroni | grep -i '<statement>'`,
          ],
        },
        {
          text: "Pause Patroni (no failover during the restore), stop the replicas then the leader, restore the leader to the target time, resume (Patroni starts it; it promotes at the target), re-create the replicas from it.",
          commands: [
            `drstack restore --target postgres --site ${p.site} --to "<YYYY-MM-DD HH:MM:SS+00>" --dry-run`,
            `drstack restore --target postgres --site ${p.site} --to "<YYYY-MM-DD HH:MM:SS+00>"`,
          ],
        },
        ...(dr
          ? [
              {
                text: `Re-seed the standby site ${dr.name} from the restored primary.`,
                commands: [`drstack failback --site ${dr.name} --reseed basebackup`],
              },
            ]
          : []),
        {
          text: "Rehearse it: the drill restores to just before a destructive statement and checks the rows.",
          commands: ["drstack drill --scenario backup-restore"],
        },
      ],
    },
    "key-compromise": {
      summary: `Stop the compromised validator at once, rotate its key and the parties it hosts, redeploy. Validators: ${validatorsBySite}.`,
      steps: [
        {
          text: "Stop the validator that holds the compromised key (its site's stack, validators namespace).",
          commands: network.validators.slice(0, 1).map((v) => {
            const s = sites.get(v.site) ?? fallbackSite(v.site);
            return `${kc(s)} -n ${s.validatorsNamespace} scale statefulset ${v.name} --replicas=0   # the compromised validator (here: ${v.name})`;
          }),
        },
        {
          text: "Restore the validator's key and config files from its newest sealed key backup (bucket keys/<site>/, replicated): any K custodians bring their shares of the recovery key (docs/keys.md). Nothing is written unless every check passes.",
          commands: [
            `rclone copy backup:<bucket>/keys/<site>/ ./sealed --include '*.sealed.json'`,
            "drstack keys restore --sealed ./sealed/<newest>.sealed.json --backup <recovery>/backup.json --share share-1-<custodian>.json=<passfile> --share ... --share ... --out ./restored",
          ],
        },
        {
          text: "Rotate: replace the compromised priv_validator_key.json in ./restored with a new key (keep node_key.json and the signer config), announce the rotation to the network (its own procedure), replace the key Secret; the next scheduled job seals the new key. Keep an offline custodial copy of the new files.",
          commands: [
            "cometbft gen-validator > ./restored/priv_validator_key.json   # new consensus key (reformat to the file layout your signer expects)",
            `kubectl -n <validators-namespace> create secret generic <key-secret> --from-file=./restored --dry-run=client -o yaml | kubectl apply -f -`,
            "drstack keys backup --dir ./restored --out ./offline-backup --shares-out ./shares-for-custodians",
            "shred -u ./restored/* ./sealed/*",
          ],
        },
        {
          text: "Redeploy the site and check the policies (voting power per region, party thresholds).",
          commands: ["pulumi up -s <stack>", "drstack policy --all"],
        },
      ],
    },
    restore: {
      summary:
        "Recreate the sites from the stacks and restore PostgreSQL, Redis and the keys from the buckets replicated to another region.",
      steps: [
        {
          text: "Deploy the stacks on the replacement clusters (primary first: standbys read its outputs).",
          commands: [`pulumi up -s ${p.stack}`, ...(d ? [`pulumi up -s ${d.stack}`] : [])],
        },
        {
          text: "Restore PostgreSQL on the new primary from the replicated repository, then let Patroni start it.",
          commands: [
            `${kc(p)} -n ${p.namespace} exec ${p.scope}-0 -c patroni -- pgbackrest --config=/etc/patroni/pgbackrest.conf --stanza=${p.scope} info`,
            `drstack restore --target postgres --site ${p.site} --dry-run`,
            `drstack restore --target postgres --site ${p.site}`,
            `${kc(p)} -n ${p.namespace} exec ${p.scope}-0 -c patroni -- pgbackrest --config=/etc/patroni/pgbackrest.conf --stanza=${p.scope} verify`,
          ],
        },
        {
          text: "Restore the validator keys from the newest sealed key backup (K custodians' shares); Redis from its latest RDB backup (redis/<site>/*.rdb in the bucket: by hand, docs/restore.md); check the key fingerprints.",
          commands: [
            `drstack restore --target keys --site ${p.site} --dry-run   # the custodians run the printed steps`,
          ],
        },
        {
          text: "Rehearse it: the drill restores a full + incremental backup and compares with pg_dump.",
          commands: ["drstack drill --scenario backup-restore"],
        },
      ],
    },
  };

  return RUNBOOK_SCENARIOS.filter((s) => !only || only.includes(s)).map((scenario) => {
    const key = OBJECTIVE_OF[scenario];
    const o: Objective | undefined = network.objectives[key];
    return {
      scenario,
      title: TITLES[scenario],
      objectiveKey: key,
      ...(o
        ? { objective: { rto: formatDuration(o.rtoSeconds), rpo: formatDuration(o.rpoSeconds) } }
        : {}),
      ...books[scenario],
    };
  });
}

function fallbackSite(site: string): RunbookSite {
  return {
    site,
    stack: site,
    namespace: "drstack-data",
    validatorsNamespace: "drstack-validators",
    scope: "<scope>",
  };
}

function objectiveText(r: Runbook): string {
  return r.objective
    ? `RTO ${r.objective.rto}, RPO ${r.objective.rpo}`
    : `no objective declared (objectives.${r.objectiveKey} in stacks/network.yaml)`;
}

export function formatRunbooksText(network: Network, books: readonly Runbook[]): string {
  const out = [
    `Runbooks for ${network.name} (primary: ${network.sites.find((s) => s.role === "primary")!.name})`,
  ];
  for (const b of books) {
    out.push("", `== ${b.scenario}: ${b.title}  [${objectiveText(b)}]`, `   ${b.summary}`);
    b.steps.forEach((s, i) => {
      out.push(`   ${i + 1}. ${s.text}`);
      for (const c of s.commands) out.push(`        $ ${c}`);
    });
  }
  return out.join("\n");
}

export function formatRunbooksMarkdown(network: Network, books: readonly Runbook[]): string {
  const out = [
    `# Runbooks: ${network.name}`,
    "",
    `Primary site: **${network.sites.find((s) => s.role === "primary")!.name}**. Generated by \`drstack runbook\` from \`stacks/network.yaml\`.`,
    "",
    "| scenario | RTO | RPO |",
    "| --- | --- | --- |",
    ...books.map(
      (b) =>
        `| ${b.title} | ${b.objective?.rto ?? "not declared"} | ${b.objective?.rpo ?? "not declared"} |`,
    ),
  ];
  for (const b of books) {
    out.push("", `## ${b.title}`, "", `Objective: ${objectiveText(b)}.`, "", b.summary, "");
    b.steps.forEach((s, i) => {
      out.push(`${i + 1}. ${s.text}`);
      if (s.commands.length) {
        out.push("", "   ```sh", ...s.commands.map((c) => `   ${c}`), "   ```", "");
      }
    });
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n") + "\n";
}
