export * from "./DrSite";
export * from "./labels";
