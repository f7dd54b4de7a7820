/**
 * Patroni's REST API demands basic auth and serves HTTPS: without `restapi.authentication`, any
 * pod that reaches port 8008 can POST `/failover`, `/switchover`, `/reinitialize` or PATCH
 * `/config` (turn synchronous mode off); without `restapi.certfile`/`keyfile` the password and
 * the calls cross the network in clear.
 */
import { parsePatroni, patroniText } from "../../../components/postgres/inspect";
import { CONFIGMAP_TYPE, namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "patroni-restapi-auth",
  area: "postgres",
  kind: "resource",
  description:
    "Every patroni.yaml in a ConfigMap sets restapi.authentication.username (the password from PATRONI_RESTAPI_PASSWORD, never in the ConfigMap) and serves HTTPS (restapi.certfile and restapi.keyfile).",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use drstack's PatroniCluster: it renders restapi.authentication (user drstack, the generated password from the credentials Secret as PATRONI_RESTAPI_PASSWORD) and restapi.certfile/keyfile from the site CA's server certificate mounted at /etc/patroni-tls.",
  configSchema: { properties: {} },
  validateResource: (args, reportViolation) => {
    if (args.type !== CONFIGMAP_TYPE) args.notApplicable("not a ConfigMap");
    const text = patroniText(args.props);
    if (text === undefined) args.notApplicable("no Patroni config");
    const where = `ConfigMap ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    let config: Record<string, unknown>;
    try {
      config = parsePatroni(text!) as Record<string, unknown>;
    } catch (e) {
      reportViolation(`${where}: patroni.yaml does not parse: ${(e as Error).message}`);
      return;
    }
    const rest = (config.restapi ?? {}) as Record<string, unknown>;
    const auth = rest.authentication as Record<string, unknown> | undefined;
    if (!auth || typeof auth.username !== "string" || auth.username === "")
      reportViolation(
        `${where}: patroni.yaml has no restapi.authentication: any client reaching the REST API can fail over, switch over, reinitialize or change the configuration`,
      );
    else if (auth.password !== undefined)
      reportViolation(
        `${where}: patroni.yaml writes restapi.authentication.password into a ConfigMap; pass it from a Secret as PATRONI_RESTAPI_PASSWORD`,
      );
    if (typeof rest.certfile !== "string" || typeof rest.keyfile !== "string")
      reportViolation(
        `${where}: patroni.yaml serves the REST API over plain HTTP (no restapi.certfile/keyfile): its credentials and calls cross the network in clear`,
      );
  },
};
