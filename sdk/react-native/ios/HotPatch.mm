// HotPatch.mm - +[HotPatch bundleURL]. NOT compiled in the HotPatch repository (no Xcode there): unverified.
#import "HotPatch.h"
#import "HotPatchCore.h"

@implementation HotPatch
+ (NSURL *)bundleURLWithEmbedded:(NSURL *)embedded
{
    NSString *file = [[HotPatchCore shared] boot];
    return file ? [NSURL fileURLWithPath:file] : embedded;
}
+ (nullable NSURL *)bundleURL
{
    NSURL *embedded = [NSBundle.mainBundle URLForResource:@"main" withExtension:@"jsbundle"];
    NSString *file = [[HotPatchCore shared] boot];
    return file ? [NSURL fileURLWithPath:file] : embedded;
}
@end
