package dev.hotpatch.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.util.List;
import java.util.Map;

/**
 * {@link HttpTransport} over java.net.HttpURLConnection (Android and the JVM): Range resume, timeouts, redirects,
 * and cancel() by disconnecting the connection in flight. The system's proxy, TLS and certificate pinning settings
 * apply, which is the point of letting the platform do HTTP.
 */
public final class UrlConnectionTransport implements HttpTransport {
    private volatile HttpURLConnection current;
    private volatile boolean cancelled;
    /** For tests and diagnostics: the Range start of the last request (0 = none). */
    public volatile long lastRangeStart;
    /** For tests: how many times cancel() was called. */
    public volatile int cancels;

    @Override
    public int perform(String method, String url, String[] headers, long rangeStart, byte[] body, int timeoutMs,
                       boolean followRedirects, boolean decompress, long sink) throws IOException {
        cancelled = false;
        lastRangeStart = rangeStart;
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        current = c;
        try {
            c.setRequestMethod(method);
            c.setInstanceFollowRedirects(followRedirects);
            c.setConnectTimeout(timeoutMs);
            c.setReadTimeout(timeoutMs); /* the longest stall allowed mid-transfer */
            c.setUseCaches(false);
            c.setRequestProperty("User-Agent", "libhotpatch-android/" + NativeCore.version());
            if (!decompress) c.setRequestProperty("Accept-Encoding", "identity");
            if (rangeStart > 0) c.setRequestProperty("Range", "bytes=" + rangeStart + "-");
            for (String h : headers) {
                int i = h.indexOf(':');
                if (i > 0) c.setRequestProperty(h.substring(0, i).trim(), h.substring(i + 1).trim());
            }
            if (body != null) {
                c.setDoOutput(true);
                c.setFixedLengthStreamingMode(body.length);
                try (OutputStream os = c.getOutputStream()) {
                    os.write(body);
                }
            }
            int status = c.getResponseCode();
            if (NativeCore.sinkStatus(sink, status)) return 10;
            for (Map.Entry<String, List<String>> e : c.getHeaderFields().entrySet()) {
                if (e.getKey() == null) continue; /* the status line */
                for (String v : e.getValue())
                    if (NativeCore.sinkHeader(sink, e.getKey(), v)) return 10;
            }
            long want = c.getContentLengthLong();
            long got = 0;
            InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
            if (in != null) {
                try (InputStream is = in) {
                    byte[] buf = new byte[65536];
                    for (int n; (n = is.read(buf)) > 0;) {
                        got += n;
                        if (NativeCore.sinkBody(sink, buf, 0, n)) return 10;
                    }
                }
            }
            if (want >= 0 && got < want)
                throw new IOException("connection closed after " + got + " of " + want + " bytes");
            return 0;
        } catch (IOException e) {
            if (cancelled) return 10;
            throw e;
        } finally {
            current = null;
            c.disconnect();
        }
    }

    @Override
    public void cancel() {
        cancels++;
        cancelled = true;
        HttpURLConnection c = current;
        if (c != null) c.disconnect();
    }
}
