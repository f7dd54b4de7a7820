export * from "./DrSite";
export * from "../shared/labels";
