/**
 * True for a host name or address only this machine reaches (`localhost`, `127.x`, `::1`), with or
 * without a port: an API without logins listens and answers there alone.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':').length > 2 ? host : host.split(':')[0]!;
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}
