/**
 * What every drstack policy rule is: a plain `@pulumi/policy` policy object (so the pack can
 * register it unchanged) with the metadata our convention requires filled in. One rule per file
 * under `policies/rules/<area>/<rule-name>.ts`, exporting `rule`.
 */
import type { Policy, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

type Required2<T, K extends keyof T> = T & { [P in K]-?: NonNullable<T[P]> };

type WithMeta<T extends Policy> = Required2<
  T,
  "name" | "description" | "severity" | "remediationSteps" | "enforcementLevel" | "configSchema"
> & {
  /** Folder under policies/rules, e.g. "validators", "postgres". */
  readonly area: string;
};

export type DrResourceRule = WithMeta<ResourceValidationPolicy> & { readonly kind: "resource" };
export type DrStackRule = WithMeta<StackValidationPolicy> & {
  readonly kind: "stack";
  /**
   * `"network"`: the rule checks facts every stack carries (the topology), or needs every site's
   * resources; the offline checker runs it once over the union of all planned stacks instead of
   * once per stack. Under `pulumi preview` it runs per stack like any stack rule. Default `"stack"`.
   */
  readonly scope?: "stack" | "network";
};
export type DrRule = DrResourceRule | DrStackRule;
