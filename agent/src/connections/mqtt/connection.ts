import type { IClientOptions } from 'mqtt';
import { readConfigFile } from '../../core/config-file.js';
import type { PluginContext } from '../../core/plugin.js';

/** The connection keys every MQTT plugin has (its config composes them from connections/mqtt/config.ts). */
export interface MqttConnectionKeys {
  id: string;
  url: string;
  clientId?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; rejectUnauthorized: boolean } | undefined;
}

/**
 * The mqtt.js options of one of the agent's MQTT clients: the plugin's own `session` options
 * (clean or persistent, protocol, reconnect) with what every client shares on top — the client
 * id default, credentials, TLS files read relative to the config file, and mqtt.js's logger
 * silenced. `owner` names the plugin in errors, e.g. `MQTT sink "uns"`.
 */
export async function mqttClientOptions(c: MqttConnectionKeys, ctx: Pick<PluginContext, 'agentId' | 'baseDir'>, owner: string, session: IClientOptions): Promise<IClientOptions> {
  const options: IClientOptions = {
    clientId: c.clientId ?? `yieldwatch-${ctx.agentId}-${c.id}`,
    ...session,
    // mqtt.js calls its `debug` logger about six times per message even when disabled: 17% of our CPU per
    // message in the benchmark (test/bench/README.md). DEBUG=mqttjs* still turns it on for troubleshooting.
    ...(process.env.DEBUG?.includes('mqttjs') ? {} : { log: () => undefined }),
  };
  if (c.username !== undefined) options.username = c.username;
  if (c.password !== undefined) options.password = c.password;
  if (c.tls) {
    options.rejectUnauthorized = c.tls.rejectUnauthorized;
    if (c.tls.ca !== undefined) options.ca = await readConfigFile(ctx, owner, 'TLS CA', c.tls.ca);
    if (c.tls.cert !== undefined) options.cert = await readConfigFile(ctx, owner, 'TLS certificate', c.tls.cert);
    if (c.tls.key !== undefined) options.key = await readConfigFile(ctx, owner, 'TLS key', c.tls.key);
  }
  return options;
}

/** The broker URL without credentials, for logs and health. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
