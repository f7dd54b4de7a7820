/** The clouds a site can run on (a leaf: the model and the managed-cluster settings read it). */
export const CLOUDS = ["aws", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];
