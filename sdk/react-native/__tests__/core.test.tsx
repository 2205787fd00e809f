/**
 * core.test.tsx - @hotpatch/react-native's JS API against the real C core
 * (the hp_node Node-API addon behind the 'HotPatch' native module) and real
 * servers: hotpatch-edge synced from file:// storage written by
 * `hotpatch release`, and a static CDN on loopback. Started by
 * tests/integration/rn/jest_core.sh, which passes their addresses in HP_RN_ENV.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import React from 'react';
import {DeviceEventEmitter, NativeModules} from 'react-native';
import renderer, {act} from 'react-test-renderer';

type Env = {
  addon: string;
  bin: string;
  storage: string;
  edge: string;
  cdn: string;
  publisher: string;
  tmp: string;
  bundles: string;
  manifestPub: string;
  releasePub: string;
  signingKey: string;
  manifestKey: string;
};
const E: Env = JSON.parse(process.env.HP_RN_ENV ?? '{}');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const addon = require(E.addon);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const {NodeHotPatch} = require('../node/NodeHotPatch');

let native: any;
function launch(device: string, binaryVersion = '1.2.0', extra: Record<string, unknown> = {}): any {
  native = new NodeHotPatch(
    addon,
    {
      dataDir: path.join(E.tmp, 'devices', device),
      app: 'demo',
      platform: 'android',
      channel: 'production',
      binaryVersion,
      deviceId: device,
      edgeUrl: E.edge,
      bundleBaseUrl: E.cdn,
      publisherUrl: E.publisher,
      manifestKeys: E.manifestPub,
      releaseKeys: E.releasePub,
      embeddedBundlePath: '/embedded',
      maxFailedLaunches: 2,
      ...extra,
    },
    (name: string, payload: unknown) => DeviceEventEmitter.emit(name, payload),
  );
  return native;
}
// NativeHotPatch.ts asks TurboModuleRegistry once, which falls back to NativeModules: register a
// stable forwarder to the current launch's module (each launch() is a new process in these tests).
(NativeModules as any).HotPatch = new Proxy(
  {},
  {
    get: (_t, k: string) => {
      const v = native[k];
      return typeof v === 'function' ? v.bind(native) : v;
    },
  },
);
const api = require('../src') as typeof import('../src');
const HotPatch = api.default;
const {HotPatchError, useHotPatch, withHotPatch} = api;
type HotPatchError = import('../src').HotPatchError;

let seq = 0;
function release(
  version: string,
  extra: string[] = [],
  target = '>=1.0.0 <2.0.0',
): {id: string; sha: string; url: string} {
  const dir = path.join(E.bundles, version);
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, 'index.android.bundle'), `/* ${version} */ ${'x'.repeat(200000)}`);
  const out = execFileSync(
    path.join(E.bin, 'hotpatch'),
    ['--json', 'release', '--app', 'demo', '--platform', 'android', '--version', version,
     '--target-binary', target, '--bundle-dir', dir, '--storage', 'file://' + E.storage, ...extra],
    {env: {...process.env, HOTPATCH_SIGNING_KEY: E.signingKey, HOTPATCH_MANIFEST_KEY: E.manifestKey}},
  ).toString();
  const j = JSON.parse(out);
  seq = j.manifest?.sequence ?? seq + 1;
  return {id: j.release.id, sha: j.sha256 ?? j.release.sha256, url: j.release.bundle_url};
}

async function waitEdge(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const out = execFileSync('curl', ['-s', `${E.edge}/v1/manifests/demo/android/production.json`]).toString();
      if (JSON.parse(JSON.parse(out).payload).sequence >= seq) {
        return;
      }
    } catch (e) {
      /* not yet */
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`edge did not reach sequence ${seq}`);
}

jest.setTimeout(60000);

test('sync installs through the core; progress events arrive; the next launch runs it', async () => {
  const r1 = release('1.0.0');
  await waitEdge();
  launch('dev-a');
  expect(await HotPatch.getCurrentRelease()).toMatchObject({id: null, embedded: true});
  const events: number[] = [];
  const sub = HotPatch.addListener('downloadProgress', p => events.push(p.receivedBytes));
  const seen: number[] = [];
  const res = await HotPatch.sync({onProgress: p => seen.push(p.receivedBytes)});
  sub.remove();
  expect(res.status).toBe('updateInstalled');
  expect(res.offer?.id).toBe(r1.id);
  expect(res.installMode).toBe('nextLaunch');
  expect(native.reloads).toBe(0);
  expect(events.length).toBeGreaterThan(0);
  expect(events[events.length - 1]).toBe(res.offer?.size);
  expect(seen).toEqual(events);
  expect(await HotPatch.getPendingRelease()).toEqual({id: r1.id, installed: true});

  launch('dev-a');
  const cur = await HotPatch.getCurrentRelease();
  expect(cur).toMatchObject({id: r1.id, version: '1.0.0', embedded: false, confirmed: false, launches: 1});
  await HotPatch.notifyAppReady();
  expect(await HotPatch.getCurrentRelease()).toMatchObject({confirmed: true, launches: 0});
  expect(await HotPatch.sync()).toMatchObject({status: 'upToDate', offer: null});
});

test('a release that never reaches notifyAppReady is rolled back and reported', async () => {
  const r2 = release('1.0.1');
  await waitEdge();
  launch('dev-a');
  expect((await HotPatch.sync()).offer?.id).toBe(r2.id);
  // maxFailedLaunches = 2: two launches that never call notifyAppReady...
  for (let i = 0; i < 2; i++) {
    launch('dev-a');
    expect(await HotPatch.getCurrentRelease()).toMatchObject({id: r2.id, rolledBack: false});
  }
  // ...and the third boot rolls back natively, before any JS runs.
  launch('dev-a');
  const cur = await HotPatch.getCurrentRelease();
  expect(cur.rolledBack).toBe(true);
  expect(cur.id).not.toBe(r2.id);
  expect(cur.blocklist).toContain(r2.id);
  await HotPatch.flushReports();
  const reports = fs.readFileSync(path.join(E.tmp, 'publisher', '.reports'), 'utf8');
  expect(reports).toMatch(new RegExp(`"release_id": ?"${r2.id}"[^\\n]*"rolled_back"|"rolled_back"[^\\n]*"${r2.id}"`));
  expect(await HotPatch.sync()).toMatchObject({status: 'upToDate'});
});

test('a mandatory update is installed and started immediately', async () => {
  const r3 = release('1.1.0', ['--mandatory']);
  await waitEdge();
  const dev = launch('dev-b');
  const res = await HotPatch.sync({installMode: 'nextLaunch'});
  expect(res.offer).toMatchObject({id: r3.id, mandatory: true});
  expect(res.installMode).toBe('immediate');
  expect(dev.reloads).toBe(1);
  expect(await HotPatch.getCurrentRelease()).toMatchObject({id: r3.id, running: r3.id, launches: 1});
});

test('a tampered bundle is refused with the core message', async () => {
  const r4 = release('1.2.0');
  await waitEdge();
  const zip = path.join(E.storage, r4.url);
  const b = fs.readFileSync(zip);
  b[Math.floor(b.length / 2)] ^= 0x5a;
  fs.writeFileSync(zip, b);
  launch('dev-c');
  let err: unknown = null;
  try {
    await HotPatch.sync();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HotPatchError);
  expect((err as HotPatchError).code).toBe('HP_E_VERIFY');
  expect((err as HotPatchError).message).toMatch(/does not match its signed SHA-256/);
  expect(await HotPatch.getCurrentRelease()).toMatchObject({id: null, embedded: true});
});

test('withHotPatch confirms the launch after the first render and syncs; useHotPatch reports status', async () => {
  launch('dev-d');
  const statuses: string[] = [];
  function App(): React.ReactElement {
    const s = useHotPatch();
    statuses.push(s.status);
    return React.createElement('View', null);
  }
  let done: (v: unknown) => void = () => {};
  const finished = new Promise(r => (done = r));
  const Wrapped = withHotPatch(App, {onSyncResult: (r, e) => done(r ?? e)});
  let tree: renderer.ReactTestRenderer | undefined;
  await act(async () => {
    tree = renderer.create(React.createElement(Wrapped));
  });
  const result: any = await finished;
  await act(async () => {});
  // r4 is tampered; dev-d gets the verify error (newest release), but the launch was confirmed first.
  expect(result).toBeInstanceOf(HotPatchError);
  expect(await HotPatch.getCurrentRelease()).toMatchObject({confirmed: true});
  expect(statuses).toContain('checking');
  expect(statuses[statuses.length - 1]).toBe('error');
  tree?.unmount();
});

test('clearUpdates returns to the embedded bundle; setChannel is persisted; bad input is refused', async () => {
  launch('dev-b');
  expect((await HotPatch.getCurrentRelease()).embedded).toBe(false);
  await HotPatch.clearUpdates();
  launch('dev-b');
  expect(await HotPatch.getCurrentRelease()).toMatchObject({id: null, embedded: true});
  await HotPatch.setChannel('beta');
  launch('dev-b');
  expect((await HotPatch.getCurrentRelease()).channel).toBe('beta');
  await expect(HotPatch.setChannel('../x')).rejects.toMatchObject({code: 'HP_E_INVAL'});
  // a channel with no manifest: the core's HTTP error, by name
  await expect(HotPatch.checkForUpdate()).rejects.toBeInstanceOf(HotPatchError);
});

test('a release that still admits the new native binary keeps running after an app-store update', async () => {
  const r5 = release('1.3.0', [], '>=1.0.0');
  await waitEdge();
  launch('dev-g', '1.0.0');
  expect((await HotPatch.sync()).offer?.id).toBe(r5.id);
  launch('dev-g', '1.0.0');
  await HotPatch.notifyAppReady();
  launch('dev-g', '2.0.0'); // the store updated the app: binary 1.0.0 -> 2.0.0
  const boots: unknown[] = [];
  HotPatch.onBoot(e => boots.push(e));
  const cur = await HotPatch.getCurrentRelease();
  expect(cur).toMatchObject({id: r5.id, running: r5.id, embedded: false, confirmed: true, rolledBack: false});
  expect(cur.bootReason).toBeNull();
  expect(cur.bootDetail).toBeNull();
  await act(async () => {});
  expect(boots).toEqual([]);
});

test('an app-store update the installed release does not target boots the embedded bundle: binary_changed', async () => {
  const r6 = release('1.4.0'); // --target-binary '>=1.0.0 <2.0.0'
  await waitEdge();
  launch('dev-h', '1.0.0');
  expect((await HotPatch.sync()).offer?.id).toBe(r6.id); // mandatory (it skips 1.1.0): started at once
  launch('dev-h', '1.0.0');
  expect(await HotPatch.getCurrentRelease()).toMatchObject({id: r6.id, confirmed: false, bootReason: null});
  expect((await HotPatch.getCurrentRelease()).launches).toBeGreaterThan(0);
  await HotPatch.flushReports();
  const reportsBefore = fs.readFileSync(path.join(E.tmp, 'publisher', '.reports'), 'utf8');

  launch('dev-h', '2.0.0');
  const cur = await HotPatch.getCurrentRelease();
  expect(cur).toMatchObject({id: null, embedded: true, running: null, rolledBack: false, launches: 0});
  expect(cur.bootReason).toBe('binary_changed');
  expect(cur.bootDetail).toMatch(new RegExp(`${r6.id}.*targets binary '>=1.0.0 <2.0.0', not 2.0.0 \\(was 1.0.0\\)`));
  // not a failed launch: not blocklisted, no rollback report
  expect(cur.blocklist).not.toContain(r6.id);
  await HotPatch.flushReports();
  const reports = fs.readFileSync(path.join(E.tmp, 'publisher', '.reports'), 'utf8');
  expect(reports.slice(reportsBefore.length)).not.toMatch(/rolled_back/);
  // the distinct event for the app, once
  const boots: any[] = [];
  const Wrapped = withHotPatch(() => React.createElement('View', null), {
    checkOnLaunch: false,
    checkOnResume: false,
    onBoot: e => boots.push(e),
  });
  let tree: renderer.ReactTestRenderer | undefined;
  await act(async () => {
    tree = renderer.create(React.createElement(Wrapped));
  });
  await act(async () => {});
  tree?.unmount();
  expect(boots).toHaveLength(1);
  expect(boots[0]).toMatchObject({reason: 'binary_changed', release: {id: null, embedded: true}});
  expect(boots[0].detail).toBe(cur.bootDetail);

  // told once: the next launch under 2.0.0 boots normally; a 2.0.0 check does not offer r6 again
  launch('dev-h', '2.0.0');
  expect(await HotPatch.getCurrentRelease()).toMatchObject({id: null, bootReason: null, rolledBack: false});
  expect((await HotPatch.checkForUpdate())?.id).not.toBe(r6.id);
});

// `hotpatch ARGS...` with the release signing keys in the environment; returns stdout.
function hp(...args: string[]): string {
  return execFileSync(path.join(E.bin, 'hotpatch'), args, {
    env: {...process.env, HOTPATCH_SIGNING_KEY: E.signingKey, HOTPATCH_MANIFEST_KEY: E.manifestKey},
  }).toString();
}
// version and expires_at from a root document's signed payload
function rootOf(file: string): {version: number; expiresAt: number} {
  const p = JSON.parse(JSON.parse(fs.readFileSync(file, 'utf8')).payload);
  return {version: p.version, expiresAt: p.expires_at};
}
// what the C library reports for the same data dir and root: `hotpatch-agent status --json`'s "root"
function agentRoot(device: string, rootFile: string): unknown {
  const out = execFileSync(path.join(E.bin, 'hotpatch-agent'), [
    '--json', '--data-dir', path.join(E.tmp, 'devices', device), '--app', 'demo', '--platform', 'android',
    '--channel', 'production', '--binary-version', '1.2.0', '--device-id', device, '--root', rootFile,
    '--release-key', E.releasePub, '--manifest-base', 'file://' + E.storage, 'status',
  ]).toString();
  return JSON.parse(out).root;
}

test('getRootStatus: the root of trust the core verifies with, as the C library reports it; null without one', async () => {
  launch('dev-r0');
  expect(await HotPatch.getRootStatus()).toBeNull(); // fixed manifest keys, no root

  // an app that ships only its signed root (version 1, trusting the edge's manifest key), no manifest key
  const dir = path.join(E.tmp, 'roots');
  fs.mkdirSync(dir, {recursive: true});
  hp('keygen', '--out', path.join(dir, 'root-a.key'));
  hp('root', 'init', '--app', 'demo', '--manifest-keys', E.manifestPub, '--sign', path.join(dir, 'root-a.key'),
     '--out', path.join(dir, '1.json'));
  hp('root', 'publish', path.join(dir, '1.json'), '--storage', 'file://' + E.storage);
  const root1 = fs.readFileSync(path.join(dir, '1.json'), 'utf8');
  const want1 = rootOf(path.join(dir, '1.json'));
  expect(want1.version).toBe(1);
  launch('dev-r', '1.2.0', {root: root1, manifestKeys: undefined});
  expect(await HotPatch.getRootStatus()).toEqual(want1);
  await expect(HotPatch.checkForUpdate()).resolves.not.toBeUndefined(); // verified with the root's manifest key
  expect(await HotPatch.getRootStatus()).toEqual(want1); // nothing newer in storage
  expect(agentRoot('dev-r', path.join(dir, '1.json'))).toEqual({version: 1, expires_at: want1.expiresAt});

  // root 2 (another expiry) published to storage: the next check walks to it, and later launches start from it
  hp('root', 'rotate', '--from', path.join(dir, '1.json'), '--expires', '30d', '--sign', path.join(dir, 'root-a.key'),
     '--out', path.join(dir, '2.json'));
  hp('root', 'publish', path.join(dir, '2.json'), '--storage', 'file://' + E.storage);
  const want2 = rootOf(path.join(dir, '2.json'));
  expect(want2.version).toBe(2);
  expect(want2.expiresAt).toBeLessThan(want1.expiresAt);
  expect(await HotPatch.getRootStatus()).toEqual(want1); // not before a check
  await HotPatch.checkForUpdate();
  expect(await HotPatch.getRootStatus()).toEqual(want2);
  launch('dev-r', '1.2.0', {root: root1, manifestKeys: undefined});
  expect(await HotPatch.getRootStatus()).toEqual(want2); // the cached root, newer than the embedded one
  expect(agentRoot('dev-r', path.join(dir, '1.json'))).toEqual({version: 2, expires_at: want2.expiresAt});

  // a damaged root document (its signed version changed) refuses the launch with the core's code
  const damaged = root1.replace('"version\\":1', '"version\\":7');
  expect(damaged).not.toBe(root1);
  let err: any = null;
  try {
    launch('dev-r1', '1.2.0', {root: damaged, manifestKeys: undefined});
  } catch (e) {
    err = e;
  }
  expect(err?.code).toBe('HP_E_INVAL');
  expect(err?.message).toMatch(/root/);
});
