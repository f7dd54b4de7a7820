// Pure parts only (no Pulumi resource imports), so the drill can load them cheaply.
// The component is in ./RedisSentinel.
export * from "./parse";
export * from "./render";
export * from "./settings";
