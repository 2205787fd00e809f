// HotPatchModule.mm - the 'HotPatch' TurboModule on the codegen spec (RNHotPatchSpec). Work runs on one serial
// queue (the core's handle is used from one thread at a time); promises reject with the hp_status name and
// hp_errmsg(). NOT compiled in the HotPatch repository (no Xcode there): unverified.
#import <RNHotPatchSpec/RNHotPatchSpec.h>
#import <React/RCTEventEmitter.h>
#import <React/RCTReloadCommand.h>
#import "HotPatchCore.h"

@interface HotPatchModule : RCTEventEmitter <NativeHotPatchSpec>
@end

@implementation HotPatchModule {
    dispatch_queue_t _q;
    hp_offer *_offer;
}
RCT_EXPORT_MODULE(HotPatch)

- (instancetype)init
{
    if ((self = [super init]))
        _q = dispatch_queue_create("dev.hotpatch.module", DISPATCH_QUEUE_SERIAL);
    return self;
}
- (void)dealloc
{
    hp_offer_free(_offer);
}
- (NSArray<NSString *> *)supportedEvents
{
    return @[ @"HotPatchDownloadProgress" ];
}
- (std::shared_ptr<facebook::react::TurboModule>)getTurboModule:(const facebook::react::ObjCTurboModule::InitParams &)p
{
    return std::make_shared<facebook::react::NativeHotPatchSpecJSI>(p);
}

static void reject(RCTPromiseRejectBlock r, hp_status s, hp_client *c)
{
    r([HotPatchCore statusName:s], c ? @(hp_errmsg(c)) : @"HotPatch is not configured", nil);
}

- (void)run:(RCTPromiseRejectBlock)rej block:(void (^)(hp_client *c))block
{
    dispatch_async(_q, ^{
        hp_client *c = HotPatchCore.shared.client;
        if (!c) {
            reject(rej, HP_E_STATE, NULL);
            return;
        }
        block(c);
    });
}

- (void)checkForUpdate:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        hp_offer *o = NULL;
        hp_status s = hp_check(c, &o);
        if (s)
            return reject(rej, s, c);
        hp_offer_free(self->_offer);
        self->_offer = o;
        if (!o)
            return resolve([NSNull null]);
        resolve(@{
            @"kind" : hp_offer_kind(o) == HP_OFFER_REVERT ? @"revert" : @"update",
            @"id" : @(hp_offer_release_id(o)),
            @"version" : @(hp_offer_version(o)),
            @"size" : @(hp_offer_size(o)),
            @"mandatory" : @(hp_offer_mandatory(o) != 0),
            @"sequence" : @(hp_offer_sequence(o))
        });
    }];
}

struct hp_ios_prog {
    __unsafe_unretained HotPatchModule *m;
    __unsafe_unretained NSString *rid;
};
static int on_progress(void *ctx, long long done, long long total)
{
    struct hp_ios_prog *p = (struct hp_ios_prog *)ctx;
    [p->m sendEventWithName:@"HotPatchDownloadProgress"
                       body:@{@"releaseId" : p->rid, @"receivedBytes" : @(done), @"totalBytes" : @(total)}];
    return 0;
}

- (BOOL)isOffer:(NSString *)rid
{
    return _offer && [rid isEqualToString:@(hp_offer_release_id(_offer))];
}

- (void)download:(NSString *)rid resolve:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        if (![self isOffer:rid])
            return rej(@"HP_E_STATE", @"release is not the last offer: call checkForUpdate() first", nil);
        struct hp_ios_prog p = {self, rid};
        hp_status s = hp_download(c, self->_offer, on_progress, &p);
        s ? reject(rej, s, c) : resolve(nil);
    }];
}

- (void)install:(NSString *)rid resolve:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        if (![self isOffer:rid])
            return rej(@"HP_E_STATE", @"release is not the last offer: call checkForUpdate() first", nil);
        hp_status s = hp_install(c, self->_offer);
        s ? reject(rej, s, c) : resolve(nil);
    }];
}

- (void)notifyAppReady:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        hp_status s = [HotPatchCore.shared appReady];
        s ? reject(rej, s, c) : resolve(nil);
    }];
}

- (void)reload
{
    dispatch_async(_q, ^{
        [HotPatchCore.shared boot]; // a new launch for the boot protocol
        dispatch_async(dispatch_get_main_queue(), ^{ RCTTriggerReloadCommandListeners(@"hotpatch: reload()"); });
    });
}

- (void)getCurrentRelease:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        NSMutableArray *bl = [NSMutableArray array];
        for (size_t i = 0; i < hp_blocklist_count(c); i++)
            [bl addObject:@(hp_blocklist_at(c, i))];
        const char *id = hp_installed_release(c), *ver = hp_installed_version(c), *prev = hp_previous_release(c);
        resolve(@{
            @"id" : id ? @(id) : [NSNull null],
            @"version" : ver ? @(ver) : [NSNull null],
            @"sequence" : @(hp_manifest_sequence(c)),
            @"embedded" : @(id == NULL),
            @"previous" : prev ? @(prev) : [NSNull null],
            @"launches" : @(hp_launch_count(c)),
            @"confirmed" : @(hp_boot_confirmed(c) != 0),
            @"blocklist" : bl,
            @"channel" : HotPatchCore.shared.channel,
            @"rolledBack" : @(HotPatchCore.shared.rolledBack),
            @"bootReason" : (NSObject *)HotPatchCore.shared.bootReason ?: (NSObject *)[NSNull null],
            @"bootDetail" : (NSObject *)HotPatchCore.shared.bootDetail ?: (NSObject *)[NSNull null]
        });
    }];
}

- (void)getPendingRelease:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        const char *id = hp_installed_release(c), *pend = hp_pending_release(c);
        NSString *running = HotPatchCore.shared.runningId;
        if (id && ![@(id) isEqualToString:running ?: @""])
            return resolve(@{@"id" : @(id), @"installed" : @YES});
        resolve(pend ? @{@"id" : @(pend), @"installed" : @NO} : [NSNull null]);
    }];
}

- (void)getRootStatus:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        unsigned long long v = hp_root_version(c); // 0: no HotPatchRootFile
        resolve(v ? @{@"version" : @(v), @"expiresAt" : @(hp_root_expires_at(c))} : [NSNull null]);
    }];
}

- (void)clearUpdates:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        hp_status s = hp_clear_updates(c);
        s ? reject(rej, s, c) : resolve(nil);
    }];
}

- (void)setChannel:(NSString *)channel resolve:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    dispatch_async(_q, ^{
        [HotPatchCore.shared setChannel:channel];
        resolve(nil);
    });
}

- (void)flushReports:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)rej
{
    [self run:rej block:^(hp_client *c) {
        hp_status s = hp_report_flush(c);
        s ? reject(rej, s, c) : resolve(nil);
    }];
}
@end
