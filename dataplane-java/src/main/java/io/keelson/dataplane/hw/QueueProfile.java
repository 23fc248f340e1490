package io.keelson.dataplane.hw;

/** RX/TX queues per port and their ring sizes (descriptors). Immutable. */
public record QueueProfile(int rx, int tx, int rxRing, int txRing) {}
