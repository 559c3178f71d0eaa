import type { MessageSecurityMode, OPCUAClient, SecurityPolicy } from 'node-opcua';
import type { OpcuaSourceConfig } from './config.js';

type NodeOpcua = typeof import('node-opcua');

/** Certificates of the client and of the servers it trusts, in `pkiDir`; a stop disposes of it. */
export interface CertificateStore {
  dispose(): Promise<void>;
}

/**
 * The node-opcua client of one source, with its certificate store. Unknown server certificates land
 * in `rejected/` and are refused until moved to `trusted/` (the library's default accepts them).
 * The client retries the connection itself, for ever, from `reconnectMin` up to `reconnectMax`.
 */
export function createClient(ua: NodeOpcua, config: OpcuaSourceConfig, pkiDir: string, clientName: string): { client: OPCUAClient; certificates: CertificateStore } {
  const certificates = new ua.OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: false });
  // A mode of None only works with the policy None.
  const policy = config.securityMode === 'None' ? 'None' : config.securityPolicy;
  const client = ua.OPCUAClient.create({
    applicationName: 'yieldwatch',
    clientName,
    securityMode: ua.MessageSecurityMode[config.securityMode] as MessageSecurityMode,
    securityPolicy: ua.SecurityPolicy[policy] as SecurityPolicy,
    endpointMustExist: false,
    keepSessionAlive: true,
    clientCertificateManager: certificates,
    requestedSessionTimeout: 60_000,
    connectionStrategy: { initialDelay: config.reconnectMin, maxDelay: config.reconnectMax, maxRetry: -1 },
  });
  return { client, certificates };
}
