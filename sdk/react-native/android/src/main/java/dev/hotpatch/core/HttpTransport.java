package dev.hotpatch.core;

import java.io.IOException;

/**
 * The platform's HTTP, plugged into the C core (hotpatch.h hp_transport). An implementation only moves bytes:
 * it reports the final response's status and headers and streams its body to the sink; the core checks statuses,
 * ranges, sizes, hashes and signatures. Called on the thread that called into the core.
 */
public interface HttpTransport {
    /**
     * Perform one request; deliver status, headers, then body through {@link NativeCore#sinkStatus},
     * {@link NativeCore#sinkHeader} and {@link NativeCore#sinkBody} with {@code sink}; stop as soon as one of them
     * returns true.
     *
     * @param rangeStart > 0: send "Range: bytes=rangeStart-" (resume)
     * @param decompress false: ask for the bytes as stored (Accept-Encoding: identity)
     * @return 0 (HP_OK) when a complete response arrived, whatever its status; 10 (HP_E_CANCELLED) when a sink
     *     call asked to stop or {@link #cancel} was called
     * @throws IOException when no response arrived or it was cut short (the core reports HP_E_NET with its text)
     */
    int perform(String method, String url, String[] headers, long rangeStart, byte[] body, int timeoutMs,
                boolean followRedirects, boolean decompress, long sink) throws IOException;

    /** Abort a perform() blocked in I/O; may be called from any thread. */
    void cancel();
}
