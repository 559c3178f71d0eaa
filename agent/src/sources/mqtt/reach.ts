import { parseMachinePath } from '../../core/sample.js';
import type { SignalName } from '../../core/signals.js';
import type { MqttTopicConfig } from './config.js';

const PLACEHOLDER_RE = /\{(site|area|line|machine)\}/g;

/**
 * Whether a message on topic template `t` can be mapped to machine `path`: each ISA-95 level is
 * captured by the template or fixed by it (`site`, `area`, `line`), and a fixed level must be the
 * path's own. The same levels `MqttMapper` builds a machine path from; checked once, at start.
 */
export function topicCanName(t: Pick<MqttTopicConfig, 'topic' | 'site' | 'area' | 'line'>, path: string): boolean {
  const ref = parseMachinePath(path);
  if (ref === undefined) return false;
  const captured = new Set([...t.topic.matchAll(PLACEHOLDER_RE)].map((m) => m[1]));
  const level = (name: 'site' | 'area' | 'line', value: string | undefined): boolean => (captured.has(name) ? value !== undefined : t[name] === value);
  return level('site', ref.site) && level('area', ref.area) && level('line', ref.line);
}

/** The canonical signals a topic maps: its fields, and `parts_scrap` when scrap comes per reason. */
export function topicSignals(t: Pick<MqttTopicConfig, 'fields' | 'scrapByReason'>): SignalName[] {
  const out = Object.keys(t.fields) as SignalName[];
  if (t.scrapByReason !== undefined && !out.includes('parts_scrap')) out.push('parts_scrap');
  return out;
}
