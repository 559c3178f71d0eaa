import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { split_der } from 'node-opcua-crypto';
import { YieldwatchError } from '../../core/errors.js';

/**
 * `yieldwatch opcua trust <endpoint>`: the one supported way to trust an OPC UA server's certificate.
 * The source never accepts an unknown server certificate on its own (it lands in `<pki>/rejected/`);
 * a person compares the fingerprint shown here with the one the server displays, and only then the
 * certificate moves to `<pki>/trusted/`.
 */

/** The server certificate an endpoint presents, as a person checks it. */
export interface ServerCertificate {
  /** DER of the server's own certificate (the first of its chain). */
  der: Buffer;
  subject: string;
  issuer: string;
  /** Subject alternative names (the application URI, DNS names, IP addresses). */
  subjectAltName: string | undefined;
  validFrom: Date;
  validTo: Date;
  /** SHA-1 fingerprint, the "thumbprint" OPC UA tools display (colon-separated hex). */
  sha1: string;
  /** SHA-256 fingerprint (colon-separated hex). */
  sha256: string;
  /** Where it is in the PKI folder now. */
  state: 'trusted' | 'rejected' | 'unknown';
}

const FETCH_TIMEOUT_MS = 15_000;

function describe(der: Buffer, state: ServerCertificate['state']): ServerCertificate {
  const x = new X509Certificate(der);
  return {
    der,
    subject: x.subject.replaceAll('\n', ', '),
    issuer: x.issuer.replaceAll('\n', ', '),
    subjectAltName: x.subjectAltName,
    validFrom: new Date(x.validFrom),
    validTo: new Date(x.validTo),
    sha1: x.fingerprint,
    sha256: x.fingerprint256,
    state,
  };
}

/** True when some certificate file in `folder` (PEM or DER) is `der`. */
async function holds(folder: string, der: Buffer): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return false;
  }
  for (const name of names) {
    try {
      if (new X509Certificate(await readFile(join(folder, name))).raw.equals(der)) return true;
    } catch {
      // Not a certificate (a CRL, a lock file): not what we look for.
    }
  }
  return false;
}

/**
 * Asks the endpoint for its certificate with GetEndpoints over an unsecured channel, which every
 * OPC UA server offers for discovery even when its sessions need SignAndEncrypt. Nothing is trusted here.
 */
export async function fetchServerCertificate(endpointUrl: string, pkiDir: string, timeoutMs = FETCH_TIMEOUT_MS): Promise<ServerCertificate> {
  const ua = await import('node-opcua');
  const certificateManager = new ua.OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: false });
  const client = ua.OPCUAClient.create({
    applicationName: 'yieldwatch',
    endpointMustExist: false,
    clientCertificateManager: certificateManager,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 100 },
    transportTimeout: timeoutMs,
  });
  try {
    let chain: Buffer | undefined;
    try {
      await client.connect(endpointUrl);
      const endpoints = await client.getEndpoints();
      chain = endpoints.find((e) => e.serverCertificate && e.serverCertificate.length > 0)?.serverCertificate ?? undefined;
    } catch (err) {
      throw new YieldwatchError('YW_ERR_OPCUA_TRUST', `Cannot read the server certificate of ${endpointUrl}: ${(err as Error).message}`, { cause: err });
    } finally {
      await client.disconnect().catch(() => undefined);
    }
    if (chain === undefined) throw new YieldwatchError('YW_ERR_OPCUA_TRUST', `The OPC UA server at ${endpointUrl} presents no certificate: there is nothing to trust (its endpoints only offer security None).`);
    const der = split_der(chain)[0]!;
    await certificateManager.initialize();
    const state = (await certificateManager.isCertificateTrusted(der)) === 'Good' ? 'trusted' : (await holds(certificateManager.rejectedFolder, der)) ? 'rejected' : 'unknown';
    return describe(der, state);
  } finally {
    await certificateManager.dispose().catch(() => undefined);
  }
}

/** A fingerprint as people write it: hex with or without colons or spaces, any case. */
function normalize(fingerprint: string): string {
  return fingerprint.replace(/[\s:]/g, '').toUpperCase();
}

/** True when `given` is the certificate's SHA-256 or SHA-1 fingerprint. */
export function fingerprintMatches(cert: ServerCertificate, given: string): boolean {
  const g = normalize(given);
  return g.length > 0 && (g === normalize(cert.sha256) || g === normalize(cert.sha1));
}

/** Moves the certificate from `<pki>/rejected/` (or nowhere yet) to `<pki>/trusted/`, with node-opcua's own PKI code. */
export async function trustCertificate(cert: ServerCertificate, pkiDir: string): Promise<void> {
  const ua = await import('node-opcua');
  const certificateManager = new ua.OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: false });
  try {
    await certificateManager.initialize();
    await certificateManager.trustCertificate(cert.der);
  } finally {
    await certificateManager.dispose().catch(() => undefined);
  }
}

/** The lines shown to the person deciding. */
export function formatCertificate(endpointUrl: string, cert: ServerCertificate): string {
  return [
    `Server certificate of ${endpointUrl}`,
    `  subject:      ${cert.subject}`,
    `  issuer:       ${cert.issuer}${cert.issuer === cert.subject ? ' (self-signed)' : ''}`,
    `  alt. names:   ${cert.subjectAltName ?? '-'}`,
    `  valid:        ${cert.validFrom.toISOString()} to ${cert.validTo.toISOString()}`,
    `  SHA-256:      ${cert.sha256}`,
    `  SHA-1:        ${cert.sha1}   (the thumbprint OPC UA tools show)`,
    `  in the PKI:   ${cert.state === 'unknown' ? 'not yet (the agent has not been refused by it)' : cert.state}`,
  ].join('\n');
}

export interface TrustOptions {
  endpointUrl: string;
  pkiDir: string;
  /** Expected SHA-256 (or SHA-1) fingerprint: trust without asking when it matches, refuse when not. */
  fingerprint?: string | undefined;
  /** Trust without asking (for scripts that checked the fingerprint another way). */
  yes?: boolean | undefined;
}

export interface TrustIo {
  out(text: string): void;
  /** Asks a person and returns the answer; undefined when nobody can answer (no terminal). */
  ask?: ((question: string) => Promise<string>) | undefined;
}

/**
 * Shows the endpoint's certificate and trusts it once it is confirmed: by a matching `--fingerprint`,
 * by `--yes`, or by a person at the terminal. Returns the exit code: 0 trusted (or already),
 * 1 declined, 2 nobody could confirm.
 */
export async function runTrust(opts: TrustOptions, io: TrustIo): Promise<number> {
  const cert = await fetchServerCertificate(opts.endpointUrl, opts.pkiDir);
  io.out(`${formatCertificate(opts.endpointUrl, cert)}\n`);
  if (cert.state === 'trusted') {
    io.out(`Already trusted in ${opts.pkiDir}; nothing to do.\n`);
    return 0;
  }
  if (opts.fingerprint !== undefined) {
    if (!fingerprintMatches(cert, opts.fingerprint)) {
      throw new YieldwatchError(
        'YW_ERR_OPCUA_TRUST',
        `The certificate ${opts.endpointUrl} presents does not have the fingerprint ${opts.fingerprint} (it has SHA-256 ${cert.sha256}); nothing was trusted. Trust it only once you know why it differs.`,
      );
    }
  } else if (opts.yes !== true) {
    if (io.ask === undefined) {
      io.out('Not trusted: no terminal to confirm on. Compare the fingerprint with the one the server shows, then run again with --fingerprint <SHA-256> (or --yes).\n');
      return 2;
    }
    const answer = (await io.ask('Trust this certificate? Compare the fingerprint with the one the server shows first. [y/N] ')).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      io.out('Not trusted.\n');
      return 1;
    }
  }
  await trustCertificate(cert, opts.pkiDir);
  io.out(`Trusted: the certificate moved to the trusted certificates of ${opts.pkiDir}. A running agent uses it at its next connection attempt.\n`);
  return 0;
}
