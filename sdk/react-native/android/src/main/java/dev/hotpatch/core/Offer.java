package dev.hotpatch.core;

/** An update the core accepted from a verified manifest (hp_offer_*). */
public final class Offer {
    /** "update" installs a release; "revert" returns to the embedded bundle */
    public final String kind, id, version;
    public final long size, sequence;
    public final boolean mandatory;

    Offer(String[] a) {
        kind = a[0];
        id = a[1];
        version = a[2];
        size = Long.parseLong(a[3]);
        mandatory = "1".equals(a[4]);
        sequence = Long.parseLong(a[5]);
    }
}
