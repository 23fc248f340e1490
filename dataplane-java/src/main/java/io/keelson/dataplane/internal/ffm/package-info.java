/**
 * The one door to native code: the only package that imports {@code java.lang.foreign}. It binds the
 * DPDK shim ({@code libkeelson_dp.so}) and libc, checks struct layouts against the shim at start-up,
 * reports {@code isAvailable()} / {@code unavailabilityCause()}, and exposes packets to the rest of the
 * data plane only through {@link io.keelson.dataplane.internal.ffm.PacketBuffer} flyweights.
 */
package io.keelson.dataplane.internal.ffm;
