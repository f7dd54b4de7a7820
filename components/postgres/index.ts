/** Patroni PostgreSQL: settings, pure renderers (Kubernetes and the local drill), the component. */
export * from "./settings";
export * from "./patroni";
export * from "./pgbackrest";
export * from "./kubernetes";
export * from "./workload";
export * from "./facts";
export * from "./tls";
export * from "./PatroniCluster";
export * from "./PgBackRestTls";
