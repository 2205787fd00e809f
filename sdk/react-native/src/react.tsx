/**
 * react.tsx - withHotPatch(App, options) and useHotPatch().
 *
 * withHotPatch wraps the root component: after the first render it tells the
 * native side the launch worked (notifyAppReady: the boot protocol's "ready",
 * which also stops the app-ready watchdog), then syncs on launch and each
 * time the app returns to the foreground.
 */
import React, {useEffect, useState} from 'react';
import {AppState} from 'react-native';
import type {AppStateStatus} from 'react-native';

import {notifyAppReady, observeSync, onBoot, sync} from './api';
import type {BootEvent, DownloadProgress, SyncOptions, SyncResult} from './api';
import type {HotPatchError} from './errors';

export interface WithHotPatchOptions extends SyncOptions {
  /** sync after the first render (default true) */
  checkOnLaunch?: boolean;
  /** sync when the app returns to the foreground (default true) */
  checkOnResume?: boolean;
  /** called with each sync's result or error (errors are otherwise swallowed: the app keeps running) */
  onSyncResult?: (r: SyncResult | null, e: HotPatchError | null) => void;
  /** called once when the native boot of this launch left the installed release ('crash_loop' or 'binary_changed') */
  onBoot?: (e: BootEvent) => void;
}

export function withHotPatch<P extends object>(
  App: React.ComponentType<P>,
  options: WithHotPatchOptions = {},
): React.ComponentType<P> {
  function HotPatchRoot(props: P): React.ReactElement {
    useEffect(() => {
      let alive = true;
      const stopBoot = options.onBoot ? onBoot(options.onBoot) : null;
      const run = (): void => {
        sync(options).then(
          r => alive && options.onSyncResult?.(r, null),
          (e: HotPatchError) => alive && options.onSyncResult?.(null, e),
        );
      };
      notifyAppReady().then(
        () => {
          if (alive && options.checkOnLaunch !== false) {
            run();
          }
        },
        (e: HotPatchError) => alive && options.onSyncResult?.(null, e),
      );
      let last: AppStateStatus = AppState.currentState;
      const sub =
        options.checkOnResume === false
          ? null
          : AppState.addEventListener('change', s => {
              if (s === 'active' && last !== 'active') {
                run();
              }
              last = s;
            });
      return () => {
        alive = false;
        stopBoot?.();
        sub?.remove();
      };
    }, []);
    return <App {...props} />;
  }
  HotPatchRoot.displayName = `withHotPatch(${App.displayName ?? App.name ?? 'App'})`;
  return HotPatchRoot;
}

export interface HotPatchState {
  status: 'idle' | 'checking' | 'downloading' | 'installing' | 'done' | 'error';
  progress: DownloadProgress | null;
}

/** Status of the current (or last) sync, for a progress bar or a banner. */
export function useHotPatch(): HotPatchState {
  const [state, setState] = useState<HotPatchState>({status: 'idle', progress: null});
  useEffect(
    () =>
      observeSync((phase, p) =>
        setState(prev => ({status: phase, progress: p ?? (phase === 'downloading' ? prev.progress : null)})),
      ),
    [],
  );
  return state;
}
