/**
 * Every pod template meets Pod Security "restricted" (the level drstack's namespaces enforce):
 * non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no host
 * namespaces, hostPath volumes or host ports. Checked at preview, so a workload the admission
 * controller would reject fails the pull request instead of the rollout.
 */
import { ruleConfig } from "../../lib/config";
import { isWorkload, namespaceOf, podTemplate, POD_TYPE, type Props } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

const ALLOWED_ADD = ["NET_BIND_SERVICE"];
const SECCOMP_OK = ["RuntimeDefault", "Localhost"];
/** Volume types Pod Security "restricted" allows. */
const VOLUME_TYPES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];

/** Problems of one pod spec against Pod Security "restricted" (empty when it complies). Pure. */
export function restrictedProblems(spec: Props): string[] {
  const out: string[] = [];
  const pod: Props = spec.securityContext ?? {};
  for (const f of ["hostNetwork", "hostPID", "hostIPC"])
    if (spec[f] === true) out.push(`${f} is true`);
  for (const v of spec.volumes ?? []) {
    const kinds = Object.keys(v).filter((k) => k !== "name");
    for (const k of kinds)
      if (!VOLUME_TYPES.includes(k))
        out.push(
          `volume ${v.name} is a ${k}${k === "hostPath" ? "" : " (restricted allows only " + VOLUME_TYPES.join(", ") + ")"}`,
        );
  }
  if (pod.runAsUser === 0) out.push("pod securityContext.runAsUser is 0 (root)");
  const containers: Props[] = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  if (containers.length === 0) out.push("no containers");
  for (const c of containers) {
    const sc: Props = c.securityContext ?? {};
    const who = `container ${c.name}`;
    if (sc.privileged === true) out.push(`${who}: privileged`);
    if (sc.allowPrivilegeEscalation !== false)
      out.push(`${who}: securityContext.allowPrivilegeEscalation must be false`);
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true)
      out.push(`${who}: runAsNonRoot must be true (pod or container securityContext)`);
    if (sc.runAsUser === 0) out.push(`${who}: runAsUser is 0 (root)`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (!SECCOMP_OK.includes(seccomp))
      out.push(
        `${who}: seccompProfile.type must be RuntimeDefault or Localhost, got ${seccomp ?? "unset"}`,
      );
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) out.push(`${who}: capabilities.drop must include ALL`);
    for (const a of sc.capabilities?.add ?? [])
      if (!ALLOWED_ADD.includes(a)) out.push(`${who}: adds capability ${a}`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${who}: hostPort ${p.hostPort}`);
    if (sc.procMount !== undefined && sc.procMount !== "Default")
      out.push(`${who}: procMount ${sc.procMount}`);
  }
  return out;
}

export const rule: DrResourceRule = {
  name: "restricted-pods",
  area: "kubernetes",
  kind: "resource",
  description:
    'Pod templates of Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs meet Pod Security "restricted": runAsNonRoot, allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault, no privileged, hostPath, hostNetwork, hostPID, hostIPC or hostPort.',
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set pod securityContext { runAsNonRoot: true, runAsUser: <non-zero>, seccompProfile: { type: RuntimeDefault } } and on every container securityContext { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }; replace hostPath volumes with PersistentVolumeClaims or emptyDir.",
  configSchema: {
    properties: {
      exemptNamespaces: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Namespaces whose pods are not checked (e.g. a CNI's).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!isWorkload(args.type) && args.type !== POD_TYPE) return;
    const { exemptNamespaces } = ruleConfig<{ exemptNamespaces: string[] }>(rule, args.getConfig());
    if (exemptNamespaces.includes(namespaceOf(args.props))) return;
    const tpl = podTemplate(args.type, args.props);
    const problems = restrictedProblems(tpl?.spec ?? {});
    if (problems.length)
      reportViolation(
        `${args.props.metadata?.name ?? args.name} is not Pod Security "restricted": ${problems.join("; ")}`,
      );
  },
};
