/**
 * NativeHotPatch.ts - the TurboModule spec of the HotPatch native module
 * (New Architecture, bridgeless, RN 0.76+). `@react-native/codegen` turns it
 * into the Java/ObjC++ base classes that HotPatchModule implements; the test
 * suite runs codegen on it (tests/integration/rn/).
 *
 * Every security decision happens in the C core behind this module; these
 * methods only ask it to act and report what it decided.
 */
import type {TurboModule} from 'react-native';
import {TurboModuleRegistry} from 'react-native';

/** What the device runs now, from the core's state (hp_installed_* getters). */
export type NativeRelease = {
  /** release id, or null when the embedded bundle runs */
  id: string | null;
  /** version label, or null for the embedded bundle */
  version: string | null;
  /** highest manifest sequence this device accepted (0 = none yet) */
  sequence: number;
  /** true when the embedded (store) bundle runs */
  embedded: boolean;
  /** the release before it (the rollback target), or null */
  previous: string | null;
  /** launches begun but not yet confirmed by notifyAppReady */
  launches: number;
  /** true once the running release reached notifyAppReady */
  confirmed: boolean;
  /** release ids this device rolled back and will not take again */
  blocklist: string[];
  /** channel used by the next check */
  channel: string;
  /** true when the boot of this launch rolled a crash-looping release back (HP_BOOT_ROLLED_BACK) */
  rolledBack: boolean;
  /**
   * why this launch's boot left the installed release: 'crash_loop' (rolled
   * back after failed launches), 'binary_changed' (an app-store update changed
   * the native binary and the release's target_binary does not admit it: the
   * embedded bundle runs; not a failed launch), or null
   */
  bootReason: string | null;
  /** the core's sentence for bootReason 'binary_changed', else null */
  bootDetail: string | null;
};

/** An update the core accepted from a verified manifest (hp_offer_*). */
export type NativeOffer = {
  /** 'update' installs a release; 'revert' goes back to the embedded bundle */
  kind: string;
  id: string;
  version: string;
  size: number;
  mandatory: boolean;
  sequence: number;
};

/** A download in the data directory's pending/ (hp_pending_release). */
export type NativePending = {
  id: string;
  /** true when downloaded, verified and installed, waiting for the next launch */
  installed: boolean;
};

/**
 * The root of trust the core verifies manifests with (hp_root_version,
 * hp_root_expires_at), when the app ships one (native configuration).
 */
export type NativeRootStatus = {
  /** the newest root version this device accepted (the embedded one, or one walked to from storage) */
  version: number;
  /** that root's expires_at, unix seconds */
  expiresAt: number;
};

export interface Spec extends TurboModule {
  /** hp_check(): null when nothing applies. Rejects with code = hp_status name. */
  checkForUpdate(): Promise<NativeOffer | null>;
  /** hp_download() of the last offer with this id; emits HotPatchDownloadProgress. */
  download(releaseId: string): Promise<void>;
  /** hp_install() of the last offer with this id (used from the next launch, or after reload()). */
  install(releaseId: string): Promise<void>;
  /** hp_boot_ok(): this launch succeeded; also stops the app-ready watchdog. */
  notifyAppReady(): Promise<void>;
  /** Restart the JS runtime on hp_bundle_path() (ReactHost.reload / RCTReloadCommand). */
  reload(): void;
  getCurrentRelease(): Promise<NativeRelease>;
  getPendingRelease(): Promise<NativePending | null>;
  /** null when no root of trust is configured (the app trusts fixed manifest keys). */
  getRootStatus(): Promise<NativeRootStatus | null>;
  /** Remove installed releases and return to the embedded bundle at the next launch. */
  clearUpdates(): Promise<void>;
  /** Persist a channel for the next check (overrides the native configuration). */
  setChannel(channel: string): Promise<void>;
  /** hp_report_flush(): send queued install/rollback events to the publisher. */
  flushReports(): Promise<void>;
  /** NativeEventEmitter plumbing. */
  addListener(eventName: string): void;
  removeListeners(count: number): void;
}

export default TurboModuleRegistry.getEnforcing<Spec>('HotPatch');
