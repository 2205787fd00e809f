// HotPatchCore.h - the process-wide libhotpatch handle shared by +[HotPatch bundleURL] and the TurboModule.
// NOT compiled in the HotPatch repository (no Xcode there): unverified.
#import <Foundation/Foundation.h>
#include "hotpatch.h"

NS_ASSUME_NONNULL_BEGIN

@interface HotPatchCore : NSObject
+ (instancetype)shared;
@property(nonatomic, readonly, nullable) hp_client *client;
@property(nonatomic, readonly) BOOL rolledBack;
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
