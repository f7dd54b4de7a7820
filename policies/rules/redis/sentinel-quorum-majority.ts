/**
 * The quorum in `sentinel monitor` is how many sentinels must agree the master is down. Below a
 * majority, a partitioned minority can start a failover on its side of the split (Sentinel
 * still needs a majority to authorize it, but the ODOWN flapping and client confusion remain);
 * above the sentinel count, no failover can ever happen.
 */
import { majority } from "../../../components/redis/settings";
import { mountedConfigMaps, runsSentinel, sentinelMonitors } from "../../../components/redis/parse";
import { CONFIGMAP_TYPE, isWorkload, namespaceOf, podTemplate } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "sentinel-quorum-majority",
  area: "redis",
  kind: "stack",
  description:
    "Every master a sentinel.conf (in a ConfigMap) monitors has a quorum that is a majority of the sentinels mounting it, and no more than their count.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set the quorum in `sentinel monitor <name> <host> <port> <quorum>` to floor(sentinels/2)+1 (2 of 3, 3 of 5); with drstack leave drstack:redis quorum unset (default: the majority).",
  configSchema: { properties: {} },
  validateStack: (args, reportViolation) => {
    let checked = 0;
    const sentinels = args.resources.filter(
      (r) => isWorkload(r.type) && runsSentinel(podTemplate(r.type, r.props)),
    );
    for (const cm of args.resources) {
      if (cm.type !== CONFIGMAP_TYPE) continue;
      const text = cm.props.data?.["sentinel.conf"];
      if (typeof text !== "string") continue;
      const ns = namespaceOf(cm.props);
      const cmName = cm.props.metadata?.name;
      const users = sentinels.filter(
        (w) =>
          namespaceOf(w.props) === ns &&
          mountedConfigMaps(podTemplate(w.type, w.props)).includes(cmName),
      );
      const counts = users
        .map((w) => w.props.spec?.replicas ?? 1)
        .filter((n): n is number => typeof n === "number");
      // Without a workload mounting it, judge against the smallest safe deployment (3 sentinels).
      const count = counts.length > 0 ? counts.reduce((a, b) => a + b, 0) : 3;
      const of = counts.length > 0 ? `the ${count} sentinels mounting it` : "at least 3 sentinels";
      for (const m of sentinelMonitors(text)) {
        checked++;
        const need = majority(count);
        if (!Number.isInteger(m.quorum) || m.quorum < need) {
          reportViolation(
            `ConfigMap ${ns}/${cmName}: master ${m.masterName} has quorum ${m.quorum}, not a majority of ${of} (needs ${need})`,
            cm.urn,
          );
        } else if (m.quorum > count) {
          reportViolation(
            `ConfigMap ${ns}/${cmName}: master ${m.masterName} has quorum ${m.quorum}, more than ${of}: no failover can ever be agreed`,
            cm.urn,
          );
        }
      }
    }
    if (checked === 0) args.notApplicable("no sentinel.conf monitors a master in this stack");
  },
};
