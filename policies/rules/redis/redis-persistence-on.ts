/**
 * Redis must keep its data: AOF on with an fsync policy that bounds the loss, on a persistent
 * volume (an emptyDir loses everything with the pod, and a replica restarting empty can wipe a
 * master it is promoted over).
 */
import { confValue, runsRedisServer } from "../../../components/redis/parse";
import {
  CONFIGMAP_TYPE,
  isWorkload,
  namespaceOf,
  podTemplate,
  WORKLOAD_TYPES,
} from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "redis-persistence-on",
  area: "redis",
  kind: "resource",
  description:
    "Every redis.conf (in a ConfigMap) turns AOF on (appendonly yes) with appendfsync everysec or always, and every Redis server workload keeps its data on PersistentVolumeClaims.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set `appendonly yes` and `appendfsync everysec` in redis.conf, and give the Redis StatefulSet volumeClaimTemplates for its data directory (drstack's RedisSentinel does both; drstack:redis appendfsync may be everysec or always).",
  configSchema: { properties: {} },
  validateResource: (args, reportViolation) => {
    if (args.type === CONFIGMAP_TYPE) {
      const text = args.props.data?.["redis.conf"];
      if (typeof text !== "string") args.notApplicable("no redis.conf");
      const where = `ConfigMap ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
      const aof = confValue(text, "appendonly");
      if (aof?.toLowerCase() !== "yes")
        reportViolation(
          `${where}: appendonly is ${aof ?? "not set (Redis default: no)"}; a restart loses every write since the last snapshot`,
        );
      const fsync = confValue(text, "appendfsync")?.toLowerCase();
      if (fsync !== undefined && fsync !== "everysec" && fsync !== "always")
        reportViolation(
          `${where}: appendfsync ${fsync} leaves flushing to the OS (tens of seconds of writes at risk); use everysec`,
        );
      return;
    }
    if (!isWorkload(args.type)) args.notApplicable("neither a ConfigMap nor a workload");
    const tpl = podTemplate(args.type, args.props);
    if (!runsRedisServer(tpl)) args.notApplicable("does not run redis-server");
    const kind = WORKLOAD_TYPES[args.type];
    const where = `${kind} ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    const claims = (args.props.spec?.volumeClaimTemplates ?? []).length > 0;
    const pvcVolumes = (tpl?.spec?.volumes ?? []).some(
      (v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim,
    );
    if (!claims && !pvcVolumes)
      reportViolation(
        `${where} keeps Redis data on no PersistentVolumeClaim (emptyDir or the container's filesystem): data is lost with the pod`,
      );
  },
};
