import type { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { freePort } from './free-port.js';

/** Options of the test broker. */
export interface AedesBrokerOptions {
  /** Serve `mqtts://` with this PEM key and certificate instead of plain `mqtt://`. */
  tls?: { key: Buffer | string; cert: Buffer | string };
  /** Accept only this user name and password. */
  credentials?: { username: string; password: string };
  /** Refuse subscriptions to the topic filters for which this returns true (SUBACK 0x80). */
  denySubscribe?: (filter: string) => boolean;
  /** Listen on this port (e.g. one a client already retries against); default: a free one. */
  port?: number;
}

/** An in-process aedes broker on 127.0.0.1. */
export interface AedesBroker {
  url: string;
  port: number;
  broker: Aedes;
  /** Closes every connection, the listener and the broker; safe to call twice. */
  close(): Promise<void>;
}

/** Starts an aedes 1.x broker (MQTT 3.1.1, in-memory persistence) on a free 127.0.0.1 port. */
export async function startAedesBroker(opts: AedesBrokerOptions = {}): Promise<AedesBroker> {
  const broker = await Aedes.createBroker();
  // An unheard 'error' event would end the test process.
  (broker as EventEmitter).on('error', () => undefined);
  if (opts.credentials) {
    const { username, password } = opts.credentials;
    broker.authenticate = (_client, user, pass, done) => {
      const ok = user === username && pass !== undefined && Buffer.from(pass).toString('utf8') === password;
      done(null, ok);
    };
  }
  const deny = opts.denySubscribe;
  if (deny) {
    broker.authorizeSubscribe = (_client, sub, done) => done(null, deny(sub.topic) ? null : sub);
  }
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    broker.handle(socket);
  };
  const server: Server = opts.tls ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, onSocket) : createServer(onSocket);
  server.on('error', () => undefined);
  const port = opts.port ?? (await freePort());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    broker,
    close: () =>
      (closing ??= Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => broker.close(() => resolve())).then(() => {
          for (const s of sockets) s.destroy();
        }),
      ]).then(() => undefined)),
  };
}
