/**
 * `drstack:postgres:PgBackRestTls`: the certificates of a cluster's pgBackRest TLS server, from
 * `pgBackRestTlsPlan` (pure): a per-site CA (ECDSA P-256), the server certificate the Patroni
 * pods present, and the client certificate the backup jobs present. Private keys stay Pulumi
 * secrets and land only in Kubernetes Secrets: the server's here (data namespace), the client's in
 * the backup namespace (written by the backup wiring from `client`).
 */
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import * as pulumi from "@pulumi/pulumi";
import { CertRequest } from "@pulumi/tls/certRequest";
import { LocallySignedCert } from "@pulumi/tls/locallySignedCert";
import { PrivateKey } from "@pulumi/tls/privateKey";
import { SelfSignedCert } from "@pulumi/tls/selfSignedCert";
import { type PgBackRestTlsPlan, TLS_FILES, type TlsFiles } from "./tls";

export interface PgBackRestTlsArgs {
  /** What to issue (`pgBackRestTlsPlan`; an Output because the namespace may be one). */
  readonly plan: pulumi.Input<PgBackRestTlsPlan>;
  /** Namespace of the server Secret (the cluster's). */
  readonly namespace: pulumi.Input<string>;
  /** Labels of the server Secret. */
  readonly labels: Readonly<Record<string, string>>;
}

const SECRET_OUTPUTS = ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"];

export class PgBackRestTls extends pulumi.ComponentResource {
  /** The server Secret's name (mounted into the Patroni pods). */
  readonly serverSecretName: pulumi.Output<string>;
  /** The backup jobs' files; a Pulumi secret. */
  readonly client: pulumi.Output<TlsFiles>;

  constructor(name: string, args: PgBackRestTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:postgres:PgBackRestTls", name, {}, opts);
    const child = { parent: this };
    const plan = pulumi.output(args.plan);
    const key = (role: string) =>
      new PrivateKey(
        `${name}-${role}-key`,
        { algorithm: "ECDSA", ecdsaCurve: "P256" },
        { ...child, additionalSecretOutputs: SECRET_OUTPUTS },
      );

    const caKey = key("ca");
    const ca = new SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: pulumi.secret(caKey.privateKeyPem),
        subject: plan.ca.subject,
        isCaCertificate: true,
        validityPeriodHours: plan.ca.validityHours,
        earlyRenewalHours: plan.ca.earlyRenewalHours,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      child,
    );

    const leaf = (
      role: "server" | "client",
      dnsNames: pulumi.Input<readonly string[]> | undefined,
      usage: string,
    ) => {
      const k = key(role);
      const csr = new CertRequest(
        `${name}-${role}-csr`,
        {
          privateKeyPem: pulumi.secret(k.privateKeyPem),
          subject: plan[role].subject,
          ...(dnsNames ? { dnsNames: pulumi.output(dnsNames).apply((d) => [...d]) } : {}),
        },
        child,
      );
      const cert = new LocallySignedCert(
        `${name}-${role}-cert`,
        {
          certRequestPem: csr.certRequestPem,
          caPrivateKeyPem: pulumi.secret(caKey.privateKeyPem),
          caCertPem: ca.certPem,
          validityPeriodHours: plan[role].validityHours,
          earlyRenewalHours: plan[role].earlyRenewalHours,
          allowedUses: ["digital_signature", "key_encipherment", usage],
        },
        child,
      );
      return pulumi.secret(
        pulumi
          .all([ca.certPem, cert.certPem, k.privateKeyPem])
          .apply(([c, crt, pem]): TlsFiles => ({ ca: c, cert: crt, key: pem })),
      );
    };

    const server = leaf("server", plan.server.dnsNames, "server_auth");
    this.client = leaf("client", undefined, "client_auth");

    const secret = new Secret(
      `${name}-server`,
      {
        metadata: { name: plan.server.secretName, namespace: args.namespace, labels: args.labels },
        type: "kubernetes.io/tls",
        stringData: server.apply((f) => ({
          [TLS_FILES.ca]: f.ca,
          [TLS_FILES.cert]: f.cert,
          [TLS_FILES.key]: f.key,
        })),
      },
      { ...child, additionalSecretOutputs: ["data", "stringData"] },
    );
    this.serverSecretName = secret.metadata.name;
    this.registerOutputs({ serverSecretName: this.serverSecretName });
  }
}
