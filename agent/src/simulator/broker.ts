import type { EventEmitter } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';

/** Where the embedded broker listens. */
export interface BrokerOptions {
  /** Address to listen on; the demo keeps it on 127.0.0.1 so the unauthenticated broker is not reachable from the network. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Receives broker-level errors; client errors are normal churn and not logged. */
  logger?: Logger;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** URL clients connect to, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** The port actually listened on (the free one picked when 0 was asked for). */
  port: number;
  /** Disconnects every client, stops listening and closes the broker; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts an in-memory aedes MQTT broker on host:port, so `yieldwatch demo` needs no external
 * service. It has no authentication and no persistence: for demos and tests only.
 * Rejects when the address cannot be listened on (e.g. the port is taken).
 */
export async function startBroker(opts: BrokerOptions): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  // aedes emits 'error' on rare internal failures; an unheard 'error' event would end the process.
  (broker as EventEmitter).on('error', (err: unknown) => opts.logger?.warn({ err }, 'The embedded MQTT broker reported an error.'));
  // Sockets that never sent CONNECT are not aedes clients, so broker.close() would not end them.
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new Error(`The demo MQTT broker cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}. Free the port or set demo.broker.port.`, {
      cause: err,
    });
  }
  server.on('error', (err) => opts.logger?.warn({ err }, 'The embedded MQTT broker server reported an error.'));

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing ??= Promise.all([
      new Promise<void>((resolve) => server.close(() => resolve())),
      new Promise<void>((resolve) => broker.close(() => resolve())).then(() => {
        for (const s of sockets) s.destroy();
      }),
    ]).then(() => undefined);
    await closing;
  }

  return { url: `mqtt://${host}:${port}`, port, close };
}
