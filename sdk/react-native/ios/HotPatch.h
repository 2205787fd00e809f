// HotPatch.h - iOS boot path of @hotpatch/react-native.
// NOT compiled in the HotPatch repository (no Xcode there): unverified. See docs/react-native.md.
#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

// Default visibility: the pod compiles with hidden symbols (GCC_SYMBOLS_PRIVATE_EXTERN) and prelinks into one
// object, and the app's AppDelegate links against this class.
__attribute__((visibility("default")))
@interface HotPatch : NSObject
/**
 * Runs hp_boot_begin (launch counter persisted, crash-loop rollback) once per process and returns the installed
 * bundle's URL, or `embedded` when none is installed or anything fails. Call it from
 * RCTReactNativeFactoryDelegate's -bundleURL (release builds).
 */
+ (NSURL *)bundleURLWithEmbedded:(NSURL *)embedded;
/** The same with the default embedded bundle, main.jsbundle in the app bundle. */
+ (nullable NSURL *)bundleURL;
@end

NS_ASSUME_NONNULL_END
