// HotPatchCore.h - the process-wide libhotpatch handle shared by +[HotPatch bundleURL] and the TurboModule.
// NOT compiled in the HotPatch repository (no Xcode there): unverified.
#import <Foundation/Foundation.h>
#include "hotpatch.h"

NS_ASSUME_NONNULL_BEGIN

@interface HotPatchCore : NSObject
+ (instancetype)shared;
@property(nonatomic, readonly, nullable) hp_client *client;
/** A boot of this process rolled a crash-looping release back (HP_BOOT_ROLLED_BACK). */
@property(nonatomic, readonly) BOOL rolledBack;
/** Why a boot of this process left the installed release: nil, @"crash_loop" or @"binary_changed"
 *  (HP_BOOT_BINARY_CHANGED: the app-store binary changed and the release does not target it; not a failed launch). */
@property(nonatomic, readonly, copy, nullable) NSString *bootReason;
/** The core's sentence for @"binary_changed", else nil. */
@property(nonatomic, readonly, copy, nullable) NSString *bootDetail;
@property(nonatomic, readonly, copy, nullable) NSString *runningId;
@property(nonatomic, readonly, copy) NSString *channel;
/** hp_open + hp_boot_begin; returns the bundle file to run or nil (embedded). */
- (nullable NSString *)boot;
/** hp_boot_ok and stop the app-ready watchdog. */
- (hp_status)appReady;
- (void)setChannel:(NSString *)channel;
/** Name of an hp_status, e.g. @"HP_E_VERIFY". */
+ (NSString *)statusName:(hp_status)s;
@end

NS_ASSUME_NONNULL_END
