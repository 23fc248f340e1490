/*
 * keelson_dp.h - the one public header of libkeelson_dp.so, Keelson's C shim over DPDK 22.11.
 *
 * Conventions (the Java FFM bindings in io.keelson.dataplane.internal.ffm rely on them):
 *  - every function is named dp_<object>_<verb>;
 *  - functions that can fail return 0 (or a non-negative count) on success and -errno on failure;
 *  - DPDK's inline fast-path functions (rte_eth_rx_burst, rte_eth_tx_burst) get non-inline wrappers;
 *  - Java reads struct fields in place: every struct it touches has dp_sizeof_* and dp_offsetof_*
 *    functions, and dp_abi_version() changes whenever a signature or a struct here changes.
 *
 * Threading: the dp_eal_* functions are called once per process from one thread. Burst and mbuf
 * functions are called by the thread owning the queue, which must be an EAL lcore or have called
 * dp_thread_register().
 */
#ifndef KEELSON_DP_H
#define KEELSON_DP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DP_ABI_VERSION 2

#define DP_API __attribute__((visibility("default")))

struct rte_mbuf;
struct rte_mempool;

/* Port counters, copied from struct rte_eth_stats (the fields Keelson exports). */
struct dp_port_stats {
    uint64_t ipackets;  /* received packets */
    uint64_t opackets;  /* transmitted packets */
    uint64_t ibytes;
    uint64_t obytes;
    uint64_t imissed;   /* dropped by the NIC: RX ring full */
    uint64_t ierrors;
    uint64_t oerrors;
    uint64_t rx_nombuf; /* RX mbuf allocation failures */
};

/* Link state, from struct rte_eth_link. */
struct dp_port_link {
    uint32_t speed_mbps;
    uint16_t up;       /* 1 when the link is up */
    uint16_t full_duplex;
};

/* Identity and version. */
DP_API int dp_abi_version(void);
DP_API const char *dp_strerror(int err); /* err: a positive errno or the negative return of a dp_ function */

/* EAL. dp_eal_init keeps the calling thread's CPU affinity (DPDK would pin it to the main lcore). */
DP_API int dp_eal_init(int argc, char **argv);
DP_API int dp_eal_cleanup(void);
DP_API int dp_thread_register(void);
DP_API int dp_thread_unregister(void);
DP_API int dp_lcore_id(void); /* the caller's lcore id, or -1 when it is not registered */
DP_API int dp_socket_id(void);

/* Virtual devices created after EAL init (net_null, net_ring, net_pcap, net_af_packet, net_tap). */
DP_API int dp_vdev_create(const char *name, const char *args);
DP_API int dp_vdev_remove(const char *name);

/* Mempools of packet mbufs. */
DP_API int dp_mempool_create(const char *name, uint32_t n, uint32_t cache, uint16_t data_room,
                             int socket, struct rte_mempool **out);
DP_API int dp_mempool_free(struct rte_mempool *pool);
DP_API int dp_mempool_avail(struct rte_mempool *pool); /* mbufs free in the pool (and caches) */
/* The virtual address span of the pool's memory chunks (its mbufs and their data rooms): *start is the
 * lowest chunk's first byte, *end one past the highest chunk's last byte. -EINVAL for a NULL argument,
 * -ENOENT when the pool has no memory yet. */
DP_API int dp_mempool_range(struct rte_mempool *pool, uint64_t *start, uint64_t *end);

/* Ports. */
DP_API int dp_port_count(void);
DP_API int dp_port_by_name(const char *name, uint16_t *out);
DP_API int dp_port_name(uint16_t port, char *buf, uint32_t size);
DP_API int dp_port_driver(uint16_t port, char *buf, uint32_t size);
DP_API const char *dp_rx_offload_name(int bit); /* DPDK's name of RX offload bit `bit`, e.g. "IPV4_CKSUM" */
DP_API const char *dp_tx_offload_name(int bit);
DP_API int dp_port_offload_capa(uint16_t port, uint64_t *rx, uint64_t *tx);
DP_API int dp_port_configure(uint16_t port, uint16_t rxq, uint16_t txq, uint16_t nb_rxd,
                             uint16_t nb_txd, uint64_t rx_offloads, uint64_t tx_offloads,
                             uint64_t rss_hf, struct rte_mempool *pool);
DP_API int dp_port_start(uint16_t port);
DP_API int dp_port_stop(uint16_t port);
DP_API int dp_port_close(uint16_t port);
DP_API int dp_port_promiscuous(uint16_t port, int enable);
DP_API int dp_port_mac(uint16_t port, uint8_t out[6]);
DP_API int dp_port_link(uint16_t port, struct dp_port_link *out);
DP_API int dp_port_stats(uint16_t port, struct dp_port_stats *out);
DP_API int dp_port_stats_reset(uint16_t port);

/* Fast path: non-inline wrappers. Return the number of mbufs received / taken (never negative). */
DP_API int dp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
DP_API int dp_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
DP_API int dp_mbuf_free_bulk(struct rte_mbuf **pkts, uint32_t n);
DP_API int dp_mbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **pkts, uint32_t n);

/* Layouts Java reads in place. */
DP_API int dp_sizeof_mbuf(void);
DP_API int dp_offsetof_mbuf_buf_addr(void);
DP_API int dp_offsetof_mbuf_data_off(void);
DP_API int dp_offsetof_mbuf_data_len(void);
DP_API int dp_offsetof_mbuf_pkt_len(void);
DP_API int dp_offsetof_mbuf_buf_len(void);
DP_API int dp_offsetof_mbuf_nb_segs(void);
DP_API int dp_offsetof_mbuf_port(void);
DP_API int dp_offsetof_mbuf_ol_flags(void);
DP_API int dp_offsetof_mbuf_packet_type(void);
DP_API int dp_offsetof_mbuf_rss_hash(void);
DP_API int dp_offsetof_mbuf_next(void);
DP_API int dp_sizeof_port_stats(void);
DP_API int dp_offsetof_port_stats_ipackets(void);
DP_API int dp_offsetof_port_stats_opackets(void);
DP_API int dp_offsetof_port_stats_ibytes(void);
DP_API int dp_offsetof_port_stats_obytes(void);
DP_API int dp_offsetof_port_stats_imissed(void);
DP_API int dp_offsetof_port_stats_ierrors(void);
DP_API int dp_offsetof_port_stats_oerrors(void);
DP_API int dp_offsetof_port_stats_rx_nombuf(void);
DP_API int dp_sizeof_port_link(void);
DP_API int dp_offsetof_port_link_speed_mbps(void);
DP_API int dp_offsetof_port_link_up(void);
DP_API int dp_offsetof_port_link_full_duplex(void);

#ifdef __cplusplus
}
#endif
#endif /* KEELSON_DP_H */
