package dev.hotpatch.core;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** The device's state as the core reports it (hp_installed_release and friends). */
public final class ReleaseState {
    /** installed release id / version, or null for the embedded bundle */
    public final String id, version, previous, pending, bundlePath;
    public final long sequence;
    public final int launches, reportsQueued;
    public final boolean confirmed;
    public final List<String> blocklist;

    ReleaseState(String[] a) {
        id = a[0];
        version = a[1];
        previous = a[2];
        pending = a[3];
        bundlePath = a[4];
        sequence = Long.parseLong(a[5]);
        launches = Integer.parseInt(a[6]);
        confirmed = "1".equals(a[7]);
        reportsQueued = Integer.parseInt(a[8]);
        blocklist = Collections.unmodifiableList(Arrays.asList(Arrays.copyOfRange(a, 9, a.length)));
    }

    public boolean embedded() {
        return id == null;
    }
}
