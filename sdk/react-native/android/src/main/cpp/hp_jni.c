#include "common/compat.h"

/*
 * hp_jni.c - the JNI bridge between dev.hotpatch.core.NativeCore (Java) and
 * libhotpatch-core (C). The C core makes every decision; Java supplies the
 * HTTP (dev.hotpatch.core.HttpTransport, e.g. HttpURLConnection) through the
 * hp_transport table, and receives offers, state and errors.
 *
 * A handle (jlong) is a struct jh: the hp_client, the last offer, and a
 * global reference to the Java transport. Transport calls happen on the
 * thread that called into native (check/download/flush), so the JNIEnv of
 * that call is kept in the handle for their duration; cancel() may come from
 * any thread and attaches through the JavaVM. Failures throw
 * dev.hotpatch.core.HotPatchException(code name, hp_errmsg()).
 */

#include <jni.h>

#include "hotpatch.h"

struct jh {
    hp_client *c;
    hp_offer *offer;
    JavaVM *vm;
    JNIEnv *env; /* of the call in progress (check / download / flush) */
    jobject transport;
};

static void throw_hp(JNIEnv *env, hp_status s, const char *msg)
{
    jclass cls = (*env)->FindClass(env, "dev/hotpatch/core/HotPatchException");
    if (!cls)
        return;
    jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>", "(Ljava/lang/String;Ljava/lang/String;)V");
    jstring code = (*env)->NewStringUTF(env, hp_status_name(s));
    jstring m = (*env)->NewStringUTF(env, msg && msg[0] ? msg : hp_strerror(s));
    jobject ex = (*env)->NewObject(env, cls, ctor, code, m);
    if (ex)
        (*env)->Throw(env, (jthrowable)ex);
}

static struct jh *H(jlong p)
{
    return (struct jh *)(intptr_t)p;
}

/* ---- transport: C -> Java ---- */

static hp_status j_perform(void *ctx, const hp_http_request *rq, hp_http_sink *sink, char *errbuf, size_t errlen)
{
    struct jh *h = ctx;
    JNIEnv *env = h->env;
    if (!env) {
        snprintf(errbuf, errlen, "no Java thread for the transport");
        return HP_E_NET;
    }
    jclass cls = (*env)->GetObjectClass(env, h->transport);
    jmethodID mid =
        (*env)->GetMethodID(env, cls, "perform", "(Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;J[BIZZJ)I");
    if (!mid) {
        (*env)->ExceptionClear(env);
        snprintf(errbuf, errlen, "transport has no perform method");
        return HP_E_NET;
    }
    size_t nh = 0;
    while (rq->headers && rq->headers[nh])
        nh++;
    jobjectArray hdrs = (*env)->NewObjectArray(env, (jsize)nh, (*env)->FindClass(env, "java/lang/String"), NULL);
    for (size_t i = 0; hdrs && i < nh; i++)
        (*env)->SetObjectArrayElement(env, hdrs, (jsize)i, (*env)->NewStringUTF(env, rq->headers[i]));
    jbyteArray body = NULL;
    if (rq->body) {
        body = (*env)->NewByteArray(env, (jsize)rq->body_len);
        if (body)
            (*env)->SetByteArrayRegion(env, body, 0, (jsize)rq->body_len, (const jbyte *)rq->body);
    }
    jstring method = (*env)->NewStringUTF(env, rq->method);
    jstring url = (*env)->NewStringUTF(env, rq->url);
    if (!hdrs || !method || !url || (rq->body && !body)) {
        (*env)->ExceptionClear(env);
        snprintf(errbuf, errlen, "out of memory");
        return HP_E_NOMEM;
    }
    jint r = (*env)->CallIntMethod(env, h->transport, mid, method, url, hdrs, (jlong)rq->range_start, body,
                                   (jint)rq->timeout_ms, (jboolean)(rq->follow_redirects != 0),
                                   (jboolean)(rq->decompress != 0), (jlong)(intptr_t)sink);
    if ((*env)->ExceptionCheck(env)) {
        /* An IOException from the transport: connection refused, reset, timeout, short body. */
        jthrowable ex = (*env)->ExceptionOccurred(env);
        (*env)->ExceptionClear(env);
        jclass ec = (*env)->GetObjectClass(env, ex);
        jmethodID ts = (*env)->GetMethodID(env, ec, "toString", "()Ljava/lang/String;");
        jstring js = ts ? (jstring)(*env)->CallObjectMethod(env, ex, ts) : NULL;
        const char *s = js ? (*env)->GetStringUTFChars(env, js, NULL) : NULL;
        snprintf(errbuf, errlen, "%s", s ? s : "transport failed");
        if (s)
            (*env)->ReleaseStringUTFChars(env, js, s);
        (*env)->ExceptionClear(env);
        return HP_E_NET;
    }
    (*env)->DeleteLocalRef(env, hdrs);
    (*env)->DeleteLocalRef(env, method);
    (*env)->DeleteLocalRef(env, url);
    if (body)
        (*env)->DeleteLocalRef(env, body);
    if (r == HP_E_CANCELLED)
        snprintf(errbuf, errlen, "cancelled");
    return r == HP_OK || r == HP_E_CANCELLED ? (hp_status)r : HP_E_NET;
}

static void j_cancel(void *ctx)
{
    struct jh *h = ctx;
    JNIEnv *env = NULL;
    if ((*h->vm)->GetEnv(h->vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK || !env)
        return; /* hp_cancel from a thread the JVM does not know: the sink stops the transfer anyway */
    jclass cls = (*env)->GetObjectClass(env, h->transport);
    jmethodID mid = (*env)->GetMethodID(env, cls, "cancel", "()V");
    if (mid)
        (*env)->CallVoidMethod(env, h->transport, mid);
    (*env)->ExceptionClear(env);
}

JNIEXPORT jboolean JNICALL Java_dev_hotpatch_core_NativeCore_sinkStatus(JNIEnv *env, jclass cls, jlong sink,
                                                                        jint status)
{
    return hp_sink_status((hp_http_sink *)(intptr_t)sink, status) != 0;
}

JNIEXPORT jboolean JNICALL Java_dev_hotpatch_core_NativeCore_sinkHeader(JNIEnv *env, jclass cls, jlong sink,
                                                                        jstring name, jstring value)
{
    const char *n = (*env)->GetStringUTFChars(env, name, NULL);
    const char *v = (*env)->GetStringUTFChars(env, value, NULL);
    int stop = n && v ? hp_sink_header((hp_http_sink *)(intptr_t)sink, n, v) : 1;
    if (n)
        (*env)->ReleaseStringUTFChars(env, name, n);
    if (v)
        (*env)->ReleaseStringUTFChars(env, value, v);
    return stop != 0;
}

JNIEXPORT jboolean JNICALL Java_dev_hotpatch_core_NativeCore_sinkBody(JNIEnv *env, jclass cls, jlong sink,
                                                                      jbyteArray buf, jint off, jint len)
{
    char chunk[65536];
    while (len > 0) {
        jint n = len < (jint)sizeof chunk ? len : (jint)sizeof chunk;
        (*env)->GetByteArrayRegion(env, buf, off, n, (jbyte *)chunk);
        if ((*env)->ExceptionCheck(env))
            return JNI_TRUE;
        if (hp_sink_body((hp_http_sink *)(intptr_t)sink, chunk, (size_t)n))
            return JNI_TRUE;
        off += n;
        len -= n;
    }
    return JNI_FALSE;
}

/* ---- handle ---- */

JNIEXPORT jlong JNICALL Java_dev_hotpatch_core_NativeCore_open(JNIEnv *env, jclass cls, jintArray opts,
                                                               jobjectArray values, jint max_failed, jobject transport)
{
    struct jh *h = calloc(1, sizeof *h);
    hp_status s = HP_E_NOMEM;
    const char *msg = "out of memory";
    if (!h || hp_client_new(&h->c) != HP_OK)
        goto fail;
    (*env)->GetJavaVM(env, &h->vm);
    h->transport = (*env)->NewGlobalRef(env, transport);
    hp_transport t = {j_perform, j_cancel, h};
    if ((s = hp_set_transport(h->c, &t)) != HP_OK)
        goto fail_msg;
    jsize n = (*env)->GetArrayLength(env, opts);
    jint *o = (*env)->GetIntArrayElements(env, opts, NULL);
    for (jsize i = 0; o && i < n && !s; i++) {
        jstring js = (jstring)(*env)->GetObjectArrayElement(env, values, i);
        const char *v = js ? (*env)->GetStringUTFChars(env, js, NULL) : NULL;
        s = hp_setopt_str(h->c, (hp_option)o[i], v);
        if (v)
            (*env)->ReleaseStringUTFChars(env, js, v);
    }
    if (o)
        (*env)->ReleaseIntArrayElements(env, opts, o, JNI_ABORT);
    if (!s && max_failed > 0)
        s = hp_setopt_int(h->c, HP_OPT_MAX_FAILED_LAUNCHES, max_failed);
    if (!s)
        s = hp_open(h->c);
    if (s)
        goto fail_msg;
    return (jlong)(intptr_t)h;
fail_msg:
    msg = hp_errmsg(h->c);
fail:
    throw_hp(env, s, msg);
    if (h) {
        if (h->transport)
            (*env)->DeleteGlobalRef(env, h->transport);
        hp_client_free(h->c);
        free(h);
    }
    return 0;
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_close(JNIEnv *env, jclass cls, jlong p)
{
    struct jh *h = H(p);
    if (!h)
        return;
    hp_offer_free(h->offer);
    hp_client_free(h->c);
    (*env)->DeleteGlobalRef(env, h->transport);
    free(h);
}

/* bootBegin: {HP_BOOT_* code, the core's sentence for HP_BOOT_BINARY_CHANGED or null} (BootResult.of). */
JNIEXPORT jobjectArray JNICALL Java_dev_hotpatch_core_NativeCore_bootBegin(JNIEnv *env, jclass cls, jlong p)
{
    int rb = 0;
    hp_status s = hp_boot_begin(H(p)->c, &rb);
    if (s) {
        throw_hp(env, s, hp_errmsg(H(p)->c));
        return NULL;
    }
    char code[16];
    snprintf(code, sizeof code, "%d", rb);
    jobjectArray a = (*env)->NewObjectArray(env, 2, (*env)->FindClass(env, "java/lang/String"), NULL);
    if (!a)
        return NULL;
    (*env)->SetObjectArrayElement(env, a, 0, (*env)->NewStringUTF(env, code));
    if (rb == HP_BOOT_BINARY_CHANGED)
        (*env)->SetObjectArrayElement(env, a, 1, (*env)->NewStringUTF(env, hp_errmsg(H(p)->c)));
    return a;
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_bootOk(JNIEnv *env, jclass cls, jlong p)
{
    hp_status s = hp_boot_ok(H(p)->c);
    if (s)
        throw_hp(env, s, hp_errmsg(H(p)->c));
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_clearUpdates(JNIEnv *env, jclass cls, jlong p)
{
    hp_status s = hp_clear_updates(H(p)->c);
    if (s)
        throw_hp(env, s, hp_errmsg(H(p)->c));
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_cancel(JNIEnv *env, jclass cls, jlong p)
{
    hp_cancel(H(p)->c);
}

static jstring jstr(JNIEnv *env, const char *s)
{
    return s ? (*env)->NewStringUTF(env, s) : NULL;
}

/* state: {id, version, previous, pending, bundlePath, sequence, launches, confirmed, reportsQueued, blocklist...} */
JNIEXPORT jobjectArray JNICALL Java_dev_hotpatch_core_NativeCore_state(JNIEnv *env, jclass cls, jlong p)
{
    hp_client *c = H(p)->c;
    size_t nb = hp_blocklist_count(c);
    jobjectArray a = (*env)->NewObjectArray(env, (jsize)(9 + nb), (*env)->FindClass(env, "java/lang/String"), NULL);
    if (!a)
        return NULL;
    char num[4][32];
    snprintf(num[0], sizeof num[0], "%llu", hp_manifest_sequence(c));
    snprintf(num[1], sizeof num[1], "%d", hp_launch_count(c));
    snprintf(num[2], sizeof num[2], "%d", hp_boot_confirmed(c));
    snprintf(num[3], sizeof num[3], "%zu", hp_reports_queued(c));
    const char *v[9] = {hp_installed_release(c),
                        hp_installed_version(c),
                        hp_previous_release(c),
                        hp_pending_release(c),
                        hp_bundle_path(c),
                        num[0],
                        num[1],
                        num[2],
                        num[3]};
    for (jsize i = 0; i < 9; i++)
        (*env)->SetObjectArrayElement(env, a, i, jstr(env, v[i]));
    for (size_t i = 0; i < nb; i++)
        (*env)->SetObjectArrayElement(env, a, (jsize)(9 + i), jstr(env, hp_blocklist_at(c, i)));
    return a;
}

/* rootStatus: {hp_root_version, hp_root_expires_at}, or null without a root of trust (RootStatus). */
JNIEXPORT jlongArray JNICALL Java_dev_hotpatch_core_NativeCore_rootStatus(JNIEnv *env, jclass cls, jlong p)
{
    hp_client *c = H(p)->c;
    unsigned long long v = hp_root_version(c);
    if (!v)
        return NULL;
    jlong a[2] = {(jlong)v, (jlong)hp_root_expires_at(c)};
    jlongArray r = (*env)->NewLongArray(env, 2);
    if (r)
        (*env)->SetLongArrayRegion(env, r, 0, 2, a);
    return r;
}

/* check: null, or {kind, id, version, size, mandatory, sequence}; the offer stays in the handle. */
JNIEXPORT jobjectArray JNICALL Java_dev_hotpatch_core_NativeCore_check(JNIEnv *env, jclass cls, jlong p)
{
    struct jh *h = H(p);
    hp_offer *o = NULL;
    h->env = env;
    hp_status s = hp_check(h->c, &o);
    h->env = NULL;
    if (s) {
        throw_hp(env, s, hp_errmsg(h->c));
        return NULL;
    }
    hp_offer_free(h->offer);
    h->offer = o;
    if (!o)
        return NULL;
    char size[32], seq[32];
    snprintf(size, sizeof size, "%lld", hp_offer_size(o));
    snprintf(seq, sizeof seq, "%llu", hp_offer_sequence(o));
    const char *v[6] = {hp_offer_kind(o) == HP_OFFER_REVERT ? "revert" : "update",
                        hp_offer_release_id(o),
                        hp_offer_version(o),
                        size,
                        hp_offer_mandatory(o) ? "1" : "0",
                        seq};
    jobjectArray a = (*env)->NewObjectArray(env, 6, (*env)->FindClass(env, "java/lang/String"), NULL);
    for (jsize i = 0; a && i < 6; i++)
        (*env)->SetObjectArrayElement(env, a, i, jstr(env, v[i]));
    return a;
}

struct jprog {
    JNIEnv *env;
    jobject listener;
    jmethodID mid;
};

static int j_progress(void *ctx, long long done, long long total)
{
    struct jprog *p = ctx;
    jboolean stop = (*p->env)->CallBooleanMethod(p->env, p->listener, p->mid, (jlong)done, (jlong)total);
    if ((*p->env)->ExceptionCheck(p->env)) {
        (*p->env)->ExceptionClear(p->env);
        return 1;
    }
    return stop ? 1 : 0;
}

static struct jh *with_offer(JNIEnv *env, jlong p, jstring id)
{
    struct jh *h = H(p);
    const char *want = (*env)->GetStringUTFChars(env, id, NULL);
    int same = want && h->offer && strcmp(want, hp_offer_release_id(h->offer)) == 0;
    if (want)
        (*env)->ReleaseStringUTFChars(env, id, want);
    if (!same) {
        throw_hp(env, HP_E_STATE, "release is not the last offer: call check() first");
        return NULL;
    }
    return h;
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_download(JNIEnv *env, jclass cls, jlong p, jstring id,
                                                                  jobject listener)
{
    struct jh *h = with_offer(env, p, id);
    if (!h)
        return;
    struct jprog pr = {env, listener, NULL};
    if (listener)
        pr.mid = (*env)->GetMethodID(env, (*env)->GetObjectClass(env, listener), "onProgress", "(JJ)Z");
    h->env = env;
    hp_status s = hp_download(h->c, h->offer, pr.mid ? j_progress : NULL, &pr);
    h->env = NULL;
    if (s)
        throw_hp(env, s, hp_errmsg(h->c));
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_install(JNIEnv *env, jclass cls, jlong p, jstring id)
{
    struct jh *h = with_offer(env, p, id);
    if (!h)
        return;
    hp_status s = hp_install(h->c, h->offer);
    if (s)
        throw_hp(env, s, hp_errmsg(h->c));
}

JNIEXPORT void JNICALL Java_dev_hotpatch_core_NativeCore_flushReports(JNIEnv *env, jclass cls, jlong p)
{
    struct jh *h = H(p);
    h->env = env;
    hp_status s = hp_report_flush(h->c);
    h->env = NULL;
    if (s)
        throw_hp(env, s, hp_errmsg(h->c));
}

JNIEXPORT jstring JNICALL Java_dev_hotpatch_core_NativeCore_version(JNIEnv *env, jclass cls)
{
    return (*env)->NewStringUTF(env, hp_version());
}
