/**
 * api.ts - the JavaScript API over the HotPatch native module.
 *
 * The native side (Android/iOS, over libhotpatch's C core) has already run the
 * boot protocol before this code loads: it picked the bundle, counted the
 * launch and rolled back a crash-looping release. JS only reports that the
 * app is ready and asks for updates:
 *
 *     import HotPatch, {withHotPatch} from '@hotpatch/react-native';
 *     export default withHotPatch(App, {installMode: 'onResume'});
 *
 * Every method returns a promise that rejects with a HotPatchError carrying
 * the core's hp_status name and message.
 */
import {AppState, NativeEventEmitter} from 'react-native';
import type {AppStateStatus, EmitterSubscription} from 'react-native';

import NativeHotPatch from './NativeHotPatch';
import type {NativeOffer, NativePending, NativeRelease, NativeRootStatus} from './NativeHotPatch';
import {HotPatchError, toHotPatchError} from './errors';


/** When an installed update starts running. */
export type InstallMode = 'nextLaunch' | 'immediate' | 'onResume';

/**
 * Why the native boot of this launch left the installed release:
 * 'crash_loop': it failed maxFailedLaunches launches and was rolled back (and reported);
 * 'binary_changed': an app-store update changed the native binary and the
 * release's target_binary does not admit it, so the embedded bundle runs
 * (not a failed launch, not blocklisted, not reported as a rollback).
 */
export type BootReason = 'crash_loop' | 'binary_changed';

/** The release the device runs (getCurrentRelease). */
export type Release = Omit<NativeRelease, 'bootReason'> & {bootReason: BootReason | null};
/** A pending download (getPendingRelease). */
export type PendingRelease = NativePending;
/**
 * The root of trust manifests are verified with (getRootStatus): its version
 * (the embedded root, or a newer one the core walked to from storage) and its
 * expires_at in unix seconds. Checks fail with HP_E_EXPIRED once it expires
 * and no successor is published.
 */
export type RootStatus = Readonly<NativeRootStatus>;

/** An update offered by a verified manifest (checkForUpdate). */
export interface UpdateOffer {
  /** 'update' installs a release; 'revert' returns to the embedded bundle */
  readonly kind: 'update' | 'revert';
  readonly id: string;
  readonly version: string;
  /** signed size in bytes */
  readonly size: number;
  /** true when this release, or one it skips, is mandatory */
  readonly mandatory: boolean;
  /** sequence of the manifest it came from */
  readonly sequence: number;
}

/** Payload of the downloadProgress event and of sync's onProgress. */
export interface DownloadProgress {
  releaseId: string;
  receivedBytes: number;
  totalBytes: number;
}

export interface SyncOptions {
  /** when a non-mandatory update starts running (default 'nextLaunch') */
  installMode?: InstallMode;
  /** when a mandatory update starts running (default 'immediate') */
  mandatoryInstallMode?: InstallMode;
  /** download progress of this sync */
  onProgress?: (p: DownloadProgress) => void;
}

export type SyncStatus = 'upToDate' | 'updateInstalled' | 'reverted';

export interface SyncResult {
  status: SyncStatus;
  /** the offer that was installed, or null when up to date */
  offer: UpdateOffer | null;
  /** the mode that applies to this install */
  installMode: InstallMode | null;
}

/** Events of the HotPatch module. */
export type HotPatchEvent = 'downloadProgress';

const NATIVE_PROGRESS_EVENT = 'HotPatchDownloadProgress';

let emitter: NativeEventEmitter | null = null;
function events(): NativeEventEmitter {
  if (!emitter) {
    emitter = new NativeEventEmitter(NativeHotPatch);
  }
  return emitter;
}

async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw toHotPatchError(e);
  }
}

function offerOf(o: NativeOffer): UpdateOffer {
  if (o.kind !== 'update' && o.kind !== 'revert') {
    throw new HotPatchError('HP_E_STATE', `unknown offer kind '${o.kind}'`);
  }
  return {kind: o.kind, id: o.id, version: o.version, size: o.size, mandatory: o.mandatory, sequence: o.sequence};
}

/** Ask the edge or CDN (through the native core) whether an update applies. */
export async function checkForUpdate(): Promise<UpdateOffer | null> {
  const o = await call(() => NativeHotPatch.checkForUpdate());
  return o ? offerOf(o) : null;
}

/**
 * Download an offer (resumable; verified by the core when complete). Progress
 * arrives as downloadProgress events and, when given, through onProgress.
 */
export async function download(offer: UpdateOffer, onProgress?: (p: DownloadProgress) => void): Promise<void> {
  const sub = onProgress ? addListener('downloadProgress', p => p.releaseId === offer.id && onProgress(p)) : null;
  try {
    await call(() => NativeHotPatch.download(offer.id));
  } finally {
    sub?.remove();
  }
}

let resumeSub: {remove(): void} | null = null;

/**
 * Install a downloaded offer. The core re-verifies and swaps it in atomically;
 * it runs from the next launch ('nextLaunch'), right away ('immediate': the
 * JS runtime reloads), or when the app next returns to the foreground ('onResume').
 */
export async function install(offer: UpdateOffer, mode: InstallMode = 'nextLaunch'): Promise<void> {
  await call(() => NativeHotPatch.install(offer.id));
  applyMode(mode);
}

function applyMode(mode: InstallMode): void {
  if (mode === 'immediate') {
    reload();
  } else if (mode === 'onResume' && !resumeSub) {
    let wasBackground = false;
    resumeSub = AppState.addEventListener('change', (s: AppStateStatus) => {
      if (s === 'background') {
        wasBackground = true;
      } else if (s === 'active' && wasBackground) {
        resumeSub?.remove();
        resumeSub = null;
        reload();
      }
    });
  }
}

/** Confirm that this launch works: the release will no longer be rolled back. */
export function notifyAppReady(): Promise<void> {
  return call(() => NativeHotPatch.notifyAppReady());
}

/** Restart the JS runtime on the installed bundle. */
export function reload(): void {
  NativeHotPatch.reload();
}

function bootReasonOf(v: string | null | undefined): BootReason | null {
  if (v === null || v === undefined) {
    return null;
  }
  if (v === 'crash_loop' || v === 'binary_changed') {
    return v;
  }
  throw new HotPatchError('HP_E_STATE', `unknown boot reason '${v}'`);
}

export async function getCurrentRelease(): Promise<Release> {
  const r = await call(() => NativeHotPatch.getCurrentRelease());
  return {...r, bootReason: bootReasonOf(r.bootReason), bootDetail: r.bootDetail ?? null};
}

export function getPendingRelease(): Promise<PendingRelease | null> {
  return call(() => NativeHotPatch.getPendingRelease());
}

/** The trusted root's version and expiry, or null when the app configures no root of trust. */
export async function getRootStatus(): Promise<RootStatus | null> {
  const r = await call(() => NativeHotPatch.getRootStatus());
  return r ? {version: r.version, expiresAt: r.expiresAt} : null;
}

/** Return to the embedded bundle from the next launch. */
export function clearUpdates(): Promise<void> {
  return call(() => NativeHotPatch.clearUpdates());
}

/** Use another channel from the next check (persisted natively). */
export function setChannel(channel: string): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(channel)) {
    return Promise.reject(new HotPatchError('HP_E_INVAL', `'${channel}' is not a channel name`));
  }
  return call(() => NativeHotPatch.setChannel(channel));
}

/** Send queued install / rollback events to the publisher now. */
export function flushReports(): Promise<void> {
  return call(() => NativeHotPatch.flushReports());
}

/** Subscribe to an event; call .remove() on the result to unsubscribe. */
export function addListener(event: HotPatchEvent, fn: (p: DownloadProgress) => void): EmitterSubscription {
  if (event !== 'downloadProgress') {
    throw new HotPatchError('HP_E_INVAL', `unknown event '${String(event)}'`);
  }
  return events().addListener(NATIVE_PROGRESS_EVENT, (p: DownloadProgress) => fn(p));
}

/** What onBoot reports: the boot of this launch left the installed release. */
export interface BootEvent {
  reason: BootReason;
  /** the core's sentence for 'binary_changed' (which release, which binary), else null */
  detail: string | null;
  /** the release running now (the embedded bundle or the previous release) */
  release: Release;
}

/**
 * Call fn once if the native boot of this launch left the installed release
 * (a crash-loop rollback or a binary change). The boot ran before any
 * JavaScript, so this asks the native side what it decided instead of waiting
 * for an event that has already happened. Returns a function that cancels the
 * call if it has not happened yet.
 */
export function onBoot(fn: (e: BootEvent) => void): () => void {
  let live = true;
  getCurrentRelease().then(
    r => {
      if (live && r.bootReason) {
        fn({reason: r.bootReason, detail: r.bootDetail, release: r});
      }
    },
    () => {},
  );
  return () => {
    live = false;
  };
}

type SyncObserver = (phase: 'checking' | 'downloading' | 'installing' | 'done' | 'error', p?: DownloadProgress) => void;
const observers = new Set<SyncObserver>();
/** @internal used by useHotPatch() */
export function observeSync(fn: SyncObserver): () => void {
  observers.add(fn);
  return () => observers.delete(fn);
}
function tell(phase: Parameters<SyncObserver>[0], p?: DownloadProgress): void {
  observers.forEach(o => o(phase, p));
}

let inFlight: Promise<SyncResult> | null = null;

/**
 * Check, download and install in one call; one sync runs at a time (a second
 * call while one runs gets the same promise). A mandatory offer uses
 * mandatoryInstallMode (default 'immediate').
 */
export function sync(options: SyncOptions = {}): Promise<SyncResult> {
  if (!inFlight) {
    inFlight = runSync(options).finally(() => {
      inFlight = null;
    });
  }
  return inFlight;
}

async function runSync(options: SyncOptions): Promise<SyncResult> {
  try {
    tell('checking');
    const offer = await checkForUpdate();
    if (!offer) {
      tell('done');
      return {status: 'upToDate', offer: null, installMode: null};
    }
    const mode: InstallMode = offer.mandatory
      ? options.mandatoryInstallMode ?? 'immediate'
      : options.installMode ?? 'nextLaunch';
    tell('downloading');
    await download(offer, p => {
      tell('downloading', p);
      options.onProgress?.(p);
    });
    tell('installing');
    await call(() => NativeHotPatch.install(offer.id));
    tell('done');
    applyMode(mode);
    return {status: offer.kind === 'revert' ? 'reverted' : 'updateInstalled', offer, installMode: mode};
  } catch (e) {
    tell('error');
    throw toHotPatchError(e);
  }
}

const HotPatch = {
  sync,
  checkForUpdate,
  download,
  install,
  notifyAppReady,
  reload,
  getCurrentRelease,
  getPendingRelease,
  getRootStatus,
  clearUpdates,
  setChannel,
  flushReports,
  addListener,
  onBoot,
};
export default HotPatch;
