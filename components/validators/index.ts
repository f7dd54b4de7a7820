export * from "./labels";
export * from "./render";
export * from "./settings";
export * from "./ValidatorSet";
