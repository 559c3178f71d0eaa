import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoEnv, demoStateDir } from './demo-data-dir.js';

const cwd = '/srv/plant';
const home = { HOME: '/home/anna' };
const dataDir = (env: NodeJS.ProcessEnv) => Object.entries(env).filter(([k]) => /^YIELDWATCH_AGENT__DATA_?DIR$/i.test(k)).map(([, v]) => v);

describe('where `yieldwatch demo` writes', () => {
  it('the shipped demo config: the user\'s state folder, XDG_STATE_HOME when it is absolute, else ~/.local/state', () => {
    expect(dataDir(demoEnv({ dataDir: undefined, config: undefined, cwd }, home))).toEqual(['/home/anna/.local/state/yieldwatch/demo']);
    expect(dataDir(demoEnv({ dataDir: undefined, config: undefined, cwd }, { ...home, XDG_STATE_HOME: '/var/state' }))).toEqual(['/var/state/yieldwatch/demo']);
    // The XDG specification has a relative value ignored.
    expect(demoStateDir({ ...home, XDG_STATE_HOME: 'state' })).toBe(join('/home/anna', '.local', 'state', 'yieldwatch', 'demo'));
  });

  it('--data-dir wins over the environment, however it spells the key, and is resolved against the working folder', () => {
    const env = demoEnv({ dataDir: 'mine', config: 'demo.yaml', cwd }, { ...home, YIELDWATCH_AGENT__DATADIR: '/elsewhere' });
    expect(dataDir(env)).toEqual(['/srv/plant/mine']);
  });

  it('an agent.dataDir from the environment or from a config named with --config is kept, as for any config', () => {
    expect(dataDir(demoEnv({ dataDir: undefined, config: undefined, cwd }, { ...home, YIELDWATCH_AGENT__DATA_DIR: '/var/lib/yieldwatch' }))).toEqual(['/var/lib/yieldwatch']);
    expect(dataDir(demoEnv({ dataDir: undefined, config: 'config/demo.yaml', cwd }, home))).toEqual([]);
  });
});
