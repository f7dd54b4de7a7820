/**
 * Split-brain guard: a master cut off from its replicas (and from the sentinels that promote a
 * new one) must stop accepting writes after a bounded lag, or the writes it takes are lost when it
 * rejoins as a replica.
 */
import { confValue } from "../../../components/redis/parse";
import { ruleConfig } from "../../lib/config";
import { CONFIGMAP_TYPE, namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "redis-min-replicas-to-write",
  area: "redis",
  kind: "resource",
  description:
    "Every redis.conf (in a ConfigMap) sets min-replicas-to-write >= minReplicas and min-replicas-max-lag <= maxLagSeconds, so an isolated master stops taking writes.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set `min-replicas-to-write 1` and `min-replicas-max-lag 10` in redis.conf (drstack:redis minReplicasToWrite / minReplicasMaxLag; the defaults are 1 and 10).",
  configSchema: {
    properties: {
      minReplicas: {
        type: "integer",
        minimum: 1,
        default: 1,
        description: "Smallest min-replicas-to-write allowed.",
      },
      maxLagSeconds: {
        type: "integer",
        minimum: 1,
        default: 30,
        description:
          "Largest min-replicas-max-lag allowed (seconds an isolated master keeps taking writes).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== CONFIGMAP_TYPE) args.notApplicable("not a ConfigMap");
    const text = args.props.data?.["redis.conf"];
    if (typeof text !== "string") args.notApplicable("no redis.conf");
    const { minReplicas, maxLagSeconds } = ruleConfig<{
      minReplicas: number;
      maxLagSeconds: number;
    }>(rule, args.getConfig());
    const where = `ConfigMap ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    const raw = confValue(text, "min-replicas-to-write");
    const n = raw === undefined ? 0 : Number(raw);
    if (!(n >= minReplicas))
      reportViolation(
        `${where}: min-replicas-to-write is ${raw ?? "not set (0)"}, below ${minReplicas}: a master isolated from its replicas keeps taking writes that the failover then discards`,
      );
    const lagRaw = confValue(text, "min-replicas-max-lag");
    const lag = lagRaw === undefined ? 10 : Number(lagRaw);
    if (!(lag >= 1 && lag <= maxLagSeconds))
      reportViolation(
        `${where}: min-replicas-max-lag is ${lagRaw}, outside 1..${maxLagSeconds} seconds`,
      );
  },
};
