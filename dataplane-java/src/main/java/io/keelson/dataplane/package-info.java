/** Keelson's data plane: the socket path (Netty), the packet path (DPDK via FFM) and the routing pipeline. */
package io.keelson.dataplane;
