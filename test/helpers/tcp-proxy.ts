import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1 between a client and a server, that can stop passing the client's bytes on (a write lost on the way). */
export interface TcpProxy {
  /** `mqtt://127.0.0.1:<port>` of the proxy. */
  url: string;
  /** While true, what clients send is dropped; what the server sends still reaches them. */
  dropUpstream: boolean;
  /** Bytes from clients dropped so far. */
  dropped: number;
  /** Closes every proxied connection at once. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const proxy: TcpProxy = {
    url: '',
    dropUpstream: false,
    dropped: 0,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    track(client);
    track(upstream);
    client.on('data', (d: Buffer) => {
      if (proxy.dropUpstream) proxy.dropped += d.length;
      else upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  proxy.url = `mqtt://127.0.0.1:${address.port}`;
  return proxy;
}
