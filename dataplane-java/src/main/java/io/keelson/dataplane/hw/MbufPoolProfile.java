package io.keelson.dataplane.hw;

/**
 * The packet mbuf pool.
 *
 * @param size     mbufs (2^n - 1 is the most memory-efficient)
 * @param cache    per-lcore cache
 * @param dataRoom bytes per mbuf data buffer, headroom included
 */
public record MbufPoolProfile(int size, int cache, int dataRoom) {}
