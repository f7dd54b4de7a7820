export * from "./errors";
export * from "./model";
export * from "./names";
export * from "./voting";
export * from "./validate";
export * from "./load";
export * from "./siteConfig";
