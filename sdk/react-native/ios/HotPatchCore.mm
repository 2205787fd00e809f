// HotPatchCore.mm - configuration from Info.plist, the NSURLSession transport (Range resume, cancel), the boot
// protocol and the app-ready watchdog. NOT compiled in the HotPatch repository (no Xcode there): unverified.
//
// Info.plist keys: HotPatchApp, HotPatchEdgeURL or HotPatchManifestBaseURL, HotPatchBundleBaseURL,
// HotPatchPublisherURL, HotPatchChannel, HotPatchManifestKeys, HotPatchReleaseKeys, HotPatchRootFile (a bundle
// resource holding the app's signed root document), HotPatchMaxFailedLaunches, HotPatchReadyTimeoutMs. The binary
// version is CFBundleShortVersionString.
#import "HotPatchCore.h"
#import <React/RCTReloadCommand.h>

static NSString *const kChannelDefault = @"HotPatchChannel";

// ---- transport: NSURLSession, synchronous per request (the core calls it from the module's queue) ----
@interface HPTransport : NSObject <NSURLSessionDataDelegate>
@property(atomic, strong, nullable) NSURLSessionDataTask *task;
@end

struct hp_ns_ctx {
    hp_http_sink *sink;
    dispatch_semaphore_t done;
    int stop;
    NSError *error;
};

@implementation HPTransport {
    NSURLSession *_session;
    struct hp_ns_ctx *_cur;
}
- (instancetype)init
{
    if ((self = [super init])) {
        NSURLSessionConfiguration *cfg = [NSURLSessionConfiguration ephemeralSessionConfiguration];
        cfg.requestCachePolicy = NSURLRequestReloadIgnoringLocalCacheData;
        _session = [NSURLSession sessionWithConfiguration:cfg delegate:self delegateQueue:nil];
    }
    return self;
}
- (hp_status)perform:(const hp_http_request *)rq sink:(hp_http_sink *)sink err:(char *)errbuf len:(size_t)errlen
{
    NSMutableURLRequest *r = [NSMutableURLRequest requestWithURL:[NSURL URLWithString:@(rq->url)]];
    r.HTTPMethod = @(rq->method);
    r.timeoutInterval = rq->timeout_ms / 1000.0; // idle timeout between packets
    if (!rq->decompress)
        [r setValue:@"identity" forHTTPHeaderField:@"Accept-Encoding"];
    if (rq->range_start > 0)
        [r setValue:[NSString stringWithFormat:@"bytes=%lld-", rq->range_start] forHTTPHeaderField:@"Range"];
    for (const char *const *h = rq->headers; h && *h; h++) {
        NSString *line = @(*h);
        NSRange c = [line rangeOfString:@":"];
        if (c.location != NSNotFound)
            [r setValue:[[line substringFromIndex:c.location + 1] stringByTrimmingCharactersInSet:NSCharacterSet.whitespaceCharacterSet]
                forHTTPHeaderField:[line substringToIndex:c.location]];
    }
    if (rq->body)
        r.HTTPBody = [NSData dataWithBytes:rq->body length:rq->body_len];
    struct hp_ns_ctx ctx = {sink, dispatch_semaphore_create(0), 0, nil};
    _cur = &ctx;
    self.task = [_session dataTaskWithRequest:r];
    [self.task resume];
    dispatch_semaphore_wait(ctx.done, DISPATCH_TIME_FOREVER);
    _cur = NULL;
    self.task = nil;
    if (ctx.stop)
        return HP_E_CANCELLED;
    if (ctx.error) {
        snprintf(errbuf, errlen, "%s", ctx.error.localizedDescription.UTF8String ?: "transfer failed");
        return ctx.error.code == NSURLErrorCancelled ? HP_E_CANCELLED : HP_E_NET;
    }
    return HP_OK;
}
- (void)URLSession:(NSURLSession *)s dataTask:(NSURLSessionDataTask *)t didReceiveResponse:(NSURLResponse *)resp
    completionHandler:(void (^)(NSURLSessionResponseDisposition))done
{
    NSHTTPURLResponse *h = (NSHTTPURLResponse *)resp;
    struct hp_ns_ctx *c = _cur;
    if (hp_sink_status(c->sink, (int)h.statusCode)) {
        c->stop = 1;
        done(NSURLSessionResponseCancel);
        return;
    }
    for (NSString *k in h.allHeaderFields)
        if (hp_sink_header(c->sink, k.UTF8String, [h.allHeaderFields[k] description].UTF8String)) {
            c->stop = 1;
            done(NSURLSessionResponseCancel);
            return;
        }
    done(NSURLSessionResponseAllow);
}
- (void)URLSession:(NSURLSession *)s dataTask:(NSURLSessionDataTask *)t didReceiveData:(NSData *)data
{
    struct hp_ns_ctx *c = _cur;
    [data enumerateByteRangesUsingBlock:^(const void *bytes, NSRange range, BOOL *stop) {
        if (!c->stop && hp_sink_body(c->sink, bytes, range.length)) {
            c->stop = 1;
            *stop = YES;
            [t cancel];
        }
    }];
}
- (void)URLSession:(NSURLSession *)s task:(NSURLSessionTask *)t didCompleteWithError:(NSError *)error
{
    struct hp_ns_ctx *c = _cur;
    c->error = error;
    dispatch_semaphore_signal(c->done);
}
@end

static hp_status ns_perform(void *ctx, const hp_http_request *rq, hp_http_sink *sink, char *e, size_t n)
{
    return [(__bridge HPTransport *)ctx perform:rq sink:sink err:e len:n];
}
static void ns_cancel(void *ctx)
{
    [((__bridge HPTransport *)ctx).task cancel];
}

@implementation HotPatchCore {
    HPTransport *_transport;
    hp_client *_client;
    dispatch_source_t _watchdog;
}
+ (instancetype)shared
{
    static HotPatchCore *s;
    static dispatch_once_t once;
    dispatch_once(&once, ^{ s = [HotPatchCore new]; });
    return s;
}
+ (NSString *)statusName:(hp_status)s
{
    return @(hp_status_name(s));
}
- (hp_client *)client
{
    return _client;
}
- (NSString *)channel
{
    return [NSUserDefaults.standardUserDefaults stringForKey:@"HotPatchChannelOverride"]
               ?: ([NSBundle.mainBundle objectForInfoDictionaryKey:kChannelDefault] ?: @"production");
}
- (hp_client *)openClient
{
    NSDictionary *info = NSBundle.mainBundle.infoDictionary;
    NSString *support = NSSearchPathForDirectoriesInDomains(NSApplicationSupportDirectory, NSUserDomainMask, YES).firstObject;
    [NSFileManager.defaultManager createDirectoryAtPath:support withIntermediateDirectories:YES attributes:nil error:nil];
    NSString *deviceId = [NSUserDefaults.standardUserDefaults stringForKey:@"HotPatchDeviceId"];
    if (!deviceId) {
        deviceId = NSUUID.UUID.UUIDString;
        [NSUserDefaults.standardUserDefaults setObject:deviceId forKey:@"HotPatchDeviceId"];
    }
    NSString *rootFile = info[@"HotPatchRootFile"], *root = nil;
    if (rootFile.length) {
        // A named root that cannot be read must not quietly turn the root of trust off: no client, no updates.
        NSString *path = [NSBundle.mainBundle pathForResource:rootFile ofType:nil];
        root = path ? [NSString stringWithContentsOfFile:path encoding:NSUTF8StringEncoding error:nil] : nil;
        if (!root.length) {
            NSLog(@"HotPatch: HP_E_INVAL: cannot read the root document '%@' (HotPatchRootFile)", rootFile);
            return NULL;
        }
    }
    if (!_transport)
        _transport = [HPTransport new];
    hp_client *c = NULL;
    if (hp_client_new(&c) != HP_OK)
        return NULL;
    hp_transport t = {ns_perform, ns_cancel, (__bridge void *)_transport};
    struct {
        hp_option opt;
        NSString *v;
    } opts[] = {{HP_OPT_DATA_DIR, [support stringByAppendingPathComponent:@"hotpatch"]},
                {HP_OPT_APP, info[@"HotPatchApp"]},
                {HP_OPT_PLATFORM, @"ios"},
                {HP_OPT_CHANNEL, self.channel},
                {HP_OPT_BINARY_VERSION, info[@"CFBundleShortVersionString"]},
                {HP_OPT_DEVICE_ID, deviceId},
                {HP_OPT_EDGE_URL, info[@"HotPatchEdgeURL"]},
                {HP_OPT_MANIFEST_BASE_URL, info[@"HotPatchManifestBaseURL"]},
                {HP_OPT_BUNDLE_BASE_URL, info[@"HotPatchBundleBaseURL"]},
                {HP_OPT_PUBLISHER_URL, info[@"HotPatchPublisherURL"]},
                {HP_OPT_MANIFEST_KEY, info[@"HotPatchManifestKeys"]},
                {HP_OPT_RELEASE_KEY, info[@"HotPatchReleaseKeys"]},
                {HP_OPT_ROOT, root}};
    hp_status s = hp_set_transport(c, &t);
    for (size_t i = 0; !s && i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].v.length)
            s = hp_setopt_str(c, opts[i].opt, opts[i].v.UTF8String);
    NSNumber *maxFailed = info[@"HotPatchMaxFailedLaunches"];
    if (!s && maxFailed)
        s = hp_setopt_int(c, HP_OPT_MAX_FAILED_LAUNCHES, maxFailed.longLongValue);
    if (!s)
        s = hp_open(c);
    if (s) {
        NSLog(@"HotPatch: %@: %s", [HotPatchCore statusName:s], hp_errmsg(c));
        hp_client_free(c);
        return NULL;
    }
    return c;
}
- (nullable NSString *)boot
{
    @synchronized(self) {
        if (!_client && !(_client = [self openClient]))
            return nil;
        int rb = 0;
        if (hp_boot_begin(_client, &rb) != HP_OK)
            return nil; // the counter could not be persisted: run the embedded bundle
        _rolledBack = _rolledBack || rb == HP_BOOT_ROLLED_BACK;
        if (rb == HP_BOOT_ROLLED_BACK) {
            _bootReason = @"crash_loop";
            _bootDetail = nil;
        } else if (rb == HP_BOOT_BINARY_CHANGED) {
            _bootReason = @"binary_changed";
            _bootDetail = @(hp_errmsg(_client));
            NSLog(@"HotPatch: app binary changed: %s", hp_errmsg(_client)); // not a failed launch
        }
        const char *id = hp_installed_release(_client);
        _runningId = id ? @(id) : nil;
        const char *dir = hp_bundle_path(_client);
        NSString *file = id && dir ? [@(dir) stringByAppendingPathComponent:@"index.ios.bundle"] : nil;
        if (id && !hp_boot_confirmed(_client))
            [self startWatchdog];
        return file && [NSFileManager.defaultManager fileExistsAtPath:file] ? file : nil;
    }
}
// App-ready watchdog: a launch that has not called notifyAppReady() in time counts as failed even without a
// crash; the boot protocol runs again (rolling back at the limit) and the JS runtime reloads.
- (void)startWatchdog
{
    NSNumber *ms = NSBundle.mainBundle.infoDictionary[@"HotPatchReadyTimeoutMs"] ?: @10000;
    if (ms.longLongValue <= 0)
        return;
    if (_watchdog)
        dispatch_source_cancel(_watchdog);
    _watchdog = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
    dispatch_source_set_timer(_watchdog, dispatch_time(DISPATCH_TIME_NOW, ms.longLongValue * NSEC_PER_MSEC),
                              DISPATCH_TIME_FOREVER, 0);
    __weak HotPatchCore *weak = self;
    dispatch_source_set_event_handler(_watchdog, ^{
        HotPatchCore *me = weak;
        dispatch_source_cancel(me->_watchdog);
        me->_watchdog = nil;
        NSLog(@"HotPatch: launch not ready in time: counted as failed");
        [me boot];
        RCTTriggerReloadCommandListeners(@"hotpatch: app-ready watchdog");
    });
    dispatch_resume(_watchdog);
}
- (hp_status)appReady
{
    @synchronized(self) {
        if (_watchdog) {
            dispatch_source_cancel(_watchdog);
            _watchdog = nil;
        }
        return _client ? hp_boot_ok(_client) : HP_E_STATE;
    }
}
- (void)setChannel:(NSString *)channel
{
    @synchronized(self) {
        [NSUserDefaults.standardUserDefaults setObject:channel forKey:@"HotPatchChannelOverride"];
        hp_client *next = [self openClient];
        if (next) {
            hp_client_free(_client);
            _client = next;
        }
    }
}
@end
