import type { UserIdentityInfo } from 'node-opcua';
import { readConfigFile } from '../../core/config-file.js';
import type { PluginContext } from '../../core/plugin.js';
import type { OpcuaSourceConfig } from './config.js';

type NodeOpcua = typeof import('node-opcua');

function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  return Buffer.from((m ? m[1]! : pem).replace(/\s+/g, ''), 'base64');
}

/** The user the session activates as: anonymous, user name and password, or an X.509 certificate read from its files (PEM or DER). */
export async function userIdentity(ua: NodeOpcua, config: OpcuaSourceConfig, ctx: Pick<PluginContext, 'baseDir'>): Promise<UserIdentityInfo> {
  const { UserTokenType } = ua;
  const u = config.userIdentity;
  if (u.type === 'anonymous') return { type: UserTokenType.Anonymous };
  if (u.type === 'userName') return { type: UserTokenType.UserName, userName: u.userName, password: u.password };
  const owner = `OPC UA source "${config.id}"`;
  const cert = await readConfigFile(ctx, owner, 'user certificate', u.certificateFile);
  const key = await readConfigFile(ctx, owner, 'user private key', u.privateKeyFile);
  const text = cert.toString('latin1');
  return {
    type: UserTokenType.Certificate,
    certificateData: text.includes('-----BEGIN') ? pemToDer(text) : cert,
    privateKey: key.toString('utf8'),
  };
}

/** The user name for logs, never the password. */
export function userNameOf(config: OpcuaSourceConfig): string | undefined {
  const u = config.userIdentity;
  return u.type === 'userName' ? u.userName : undefined;
}
