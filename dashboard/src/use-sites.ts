import { useEffect, useState } from 'preact/hooks';
import type { SiteJson } from '../../agent/src/api/contract.js';
import { getJson } from './api.js';

let cached: Promise<SiteJson[]> | undefined;

/** The sites (time zones, reason labels), read once per page load: they change only with the config. */
export function useSites(): { sites: SiteJson[]; zoneOf: (machine: string) => string } {
  const [sites, setSites] = useState<SiteJson[]>([]);
  useEffect(() => {
    cached ??= getJson<{ items: SiteJson[] }>('/api/v1/sites').then((r) => r.items);
    cached.then(setSites, () => {
      cached = undefined;
    });
  }, []);
  return { sites, zoneOf: (machine) => sites.find((s) => s.site === machine.split('/')[0])?.time_zone ?? 'UTC' };
}
