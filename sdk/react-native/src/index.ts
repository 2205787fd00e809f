/**
 * @hotpatch/react-native - over-the-air updates for React Native over
 * libhotpatch's C core. See api.ts (HotPatch.*) and react.tsx (withHotPatch,
 * useHotPatch); docs/react-native.md in the HotPatch repository.
 */
import HotPatch from './api';

export * from './api';
export {HotPatchError} from './errors';
export type {HotPatchStatus} from './errors';
export {withHotPatch, useHotPatch} from './react';
export type {WithHotPatchOptions, HotPatchState} from './react';
export default HotPatch;
