/* libkeelson_dp.so: see include/keelson_dp.h for the conventions. */
#define _GNU_SOURCE
#include "keelson_dp.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_bus_vdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/* A negative DPDK return is already -errno; a zero-or-positive error code becomes -code. */
static inline int neg(int code) { return code < 0 ? code : -code; }

int dp_abi_version(void) { return DP_ABI_VERSION; }

const char *dp_strerror(int err) { return rte_strerror(err < 0 ? -err : err); }

int dp_eal_init(int argc, char **argv) {
    /* rte_eal_init pins the calling thread (and so every thread it creates later) to the main
     * lcore. Keelson pins its pollers itself, so the caller's affinity is put back. */
    cpu_set_t saved;
    int have_saved = sched_getaffinity(0, sizeof(saved), &saved) == 0;
    int rc = rte_eal_init(argc, argv);
    if (rc < 0) {
        return neg(rte_errno ? rte_errno : EINVAL);
    }
    if (have_saved) {
        sched_setaffinity(0, sizeof(saved), &saved);
    }
    return 0;
}

int dp_eal_cleanup(void) { return neg(-rte_eal_cleanup()); }

int dp_thread_register(void) {
    if (rte_lcore_id() != LCORE_ID_ANY) {
        return 0; /* already an lcore */
    }
    return rte_thread_register() == 0 ? 0 : neg(rte_errno);
}

int dp_thread_unregister(void) {
    rte_thread_unregister();
    return 0;
}

int dp_lcore_id(void) {
    unsigned id = rte_lcore_id();
    return id == LCORE_ID_ANY ? -1 : (int)id;
}

int dp_socket_id(void) { return (int)rte_socket_id(); }

int dp_vdev_create(const char *name, const char *args) {
    return neg(rte_vdev_init(name, args));
}

int dp_vdev_remove(const char *name) { return neg(rte_vdev_uninit(name)); }

int dp_mempool_create(const char *name, uint32_t n, uint32_t cache, uint16_t data_room, int socket,
                      struct rte_mempool **out) {
    if (name == NULL || out == NULL) {
        return -EINVAL;
    }
    struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
    if (mp == NULL) {
        return neg(rte_errno ? rte_errno : ENOMEM);
    }
    *out = mp;
    return 0;
}

int dp_mempool_free(struct rte_mempool *pool) {
    rte_mempool_free(pool);
    return 0;
}

int dp_mempool_avail(struct rte_mempool *pool) {
    return pool == NULL ? -EINVAL : (int)rte_mempool_avail_count(pool);
}

struct span {
    uint64_t start;
    uint64_t end;
};

static void widen(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *memhdr, unsigned idx) {
    struct span *s = opaque;
    uint64_t first = (uint64_t)(uintptr_t)memhdr->addr;
    uint64_t last = first + memhdr->len;
    if (first < s->start) {
        s->start = first;
    }
    if (last > s->end) {
        s->end = last;
    }
}

int dp_mempool_range(struct rte_mempool *pool, uint64_t *start, uint64_t *end) {
    if (pool == NULL || start == NULL || end == NULL) {
        return -EINVAL;
    }
    struct span s = {UINT64_MAX, 0};
    if (rte_mempool_mem_iter(pool, widen, &s) == 0) {
        return -ENOENT;
    }
    *start = s.start;
    *end = s.end;
    return 0;
}

int dp_port_count(void) { return (int)rte_eth_dev_count_avail(); }

int dp_port_by_name(const char *name, uint16_t *out) {
    return neg(-rte_eth_dev_get_port_by_name(name, out));
}

int dp_port_name(uint16_t port, char *buf, uint32_t size) {
    char name[RTE_ETH_NAME_MAX_LEN];
    int rc = rte_eth_dev_get_name_by_port(port, name);
    if (rc != 0) {
        return neg(rc);
    }
    snprintf(buf, size, "%s", name);
    return 0;
}

int dp_port_driver(uint16_t port, char *buf, uint32_t size) {
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        return neg(rc);
    }
    snprintf(buf, size, "%s", info.driver_name ? info.driver_name : "");
    return 0;
}

const char *dp_rx_offload_name(int bit) { return rte_eth_dev_rx_offload_name(1ULL << bit); }
const char *dp_tx_offload_name(int bit) { return rte_eth_dev_tx_offload_name(1ULL << bit); }

int dp_port_offload_capa(uint16_t port, uint64_t *rx, uint64_t *tx) {
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        return neg(rc);
    }
    *rx = info.rx_offload_capa;
    *tx = info.tx_offload_capa;
    return 0;
}

int dp_port_configure(uint16_t port, uint16_t rxq, uint16_t txq, uint16_t nb_rxd, uint16_t nb_txd,
                      uint64_t rx_offloads, uint64_t tx_offloads, uint64_t rss_hf,
                      struct rte_mempool *pool) {
    if (pool == NULL || rxq == 0 || txq == 0) {
        return -EINVAL;
    }
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        return neg(rc);
    }
    /* Asking for an offload the device lacks is a configuration error, not something to hide. */
    if ((rx_offloads & ~info.rx_offload_capa) != 0 || (tx_offloads & ~info.tx_offload_capa) != 0) {
        return -ENOTSUP;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.rxmode.offloads = rx_offloads;
    conf.txmode.offloads = tx_offloads;
    uint64_t rss = rss_hf & info.flow_type_rss_offloads;
    if (rxq > 1 && rss != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss;
    }
    rc = rte_eth_dev_configure(port, rxq, txq, &conf);
    if (rc != 0) {
        return neg(rc);
    }
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
    if (rc != 0) {
        return neg(rc);
    }
    int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < rxq; q++) {
        struct rte_eth_rxconf rxconf = info.default_rxconf;
        rxconf.offloads = rx_offloads;
        rc = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, &rxconf, pool);
        if (rc != 0) {
            return neg(rc);
        }
    }
    for (uint16_t q = 0; q < txq; q++) {
        struct rte_eth_txconf txconf = info.default_txconf;
        txconf.offloads = tx_offloads;
        rc = rte_eth_tx_queue_setup(port, q, nb_txd, socket, &txconf);
        if (rc != 0) {
            return neg(rc);
        }
    }
    return 0;
}

int dp_port_start(uint16_t port) { return neg(rte_eth_dev_start(port)); }
int dp_port_stop(uint16_t port) { return neg(rte_eth_dev_stop(port)); }
int dp_port_close(uint16_t port) { return neg(rte_eth_dev_close(port)); }

int dp_port_promiscuous(uint16_t port, int enable) {
    int rc = enable ? rte_eth_promiscuous_enable(port) : rte_eth_promiscuous_disable(port);
    return neg(rc);
}

int dp_port_mac(uint16_t port, uint8_t out[6]) {
    struct rte_ether_addr addr;
    int rc = rte_eth_macaddr_get(port, &addr);
    if (rc != 0) {
        return neg(rc);
    }
    memcpy(out, addr.addr_bytes, 6);
    return 0;
}

int dp_port_link(uint16_t port, struct dp_port_link *out) {
    struct rte_eth_link link;
    memset(&link, 0, sizeof(link));
    int rc = rte_eth_link_get_nowait(port, &link);
    if (rc != 0) {
        return neg(rc);
    }
    out->speed_mbps = link.link_speed;
    out->up = link.link_status;
    out->full_duplex = link.link_duplex;
    return 0;
}

int dp_port_stats(uint16_t port, struct dp_port_stats *out) {
    struct rte_eth_stats s;
    int rc = rte_eth_stats_get(port, &s);
    if (rc != 0) {
        return neg(rc);
    }
    out->ipackets = s.ipackets;
    out->opackets = s.opackets;
    out->ibytes = s.ibytes;
    out->obytes = s.obytes;
    out->imissed = s.imissed;
    out->ierrors = s.ierrors;
    out->oerrors = s.oerrors;
    out->rx_nombuf = s.rx_nombuf;
    return 0;
}

int dp_port_stats_reset(uint16_t port) { return neg(rte_eth_stats_reset(port)); }

int dp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
    return rte_eth_rx_burst(port, queue, pkts, n);
}

int dp_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
    return rte_eth_tx_burst(port, queue, pkts, n);
}

int dp_mbuf_free_bulk(struct rte_mbuf **pkts, uint32_t n) {
    rte_pktmbuf_free_bulk(pkts, n);
    return 0;
}

int dp_mbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **pkts, uint32_t n) {
    return neg(rte_pktmbuf_alloc_bulk(pool, pkts, n));
}

int dp_sizeof_mbuf(void) { return (int)sizeof(struct rte_mbuf); }
int dp_offsetof_mbuf_buf_addr(void) { return (int)offsetof(struct rte_mbuf, buf_addr); }
int dp_offsetof_mbuf_data_off(void) { return (int)offsetof(struct rte_mbuf, data_off); }
int dp_offsetof_mbuf_data_len(void) { return (int)offsetof(struct rte_mbuf, data_len); }
int dp_offsetof_mbuf_pkt_len(void) { return (int)offsetof(struct rte_mbuf, pkt_len); }
int dp_offsetof_mbuf_buf_len(void) { return (int)offsetof(struct rte_mbuf, buf_len); }
int dp_offsetof_mbuf_nb_segs(void) { return (int)offsetof(struct rte_mbuf, nb_segs); }
int dp_offsetof_mbuf_port(void) { return (int)offsetof(struct rte_mbuf, port); }
int dp_offsetof_mbuf_ol_flags(void) { return (int)offsetof(struct rte_mbuf, ol_flags); }
int dp_offsetof_mbuf_packet_type(void) { return (int)offsetof(struct rte_mbuf, packet_type); }
int dp_offsetof_mbuf_rss_hash(void) { return (int)offsetof(struct rte_mbuf, hash.rss); }
int dp_offsetof_mbuf_next(void) { return (int)offsetof(struct rte_mbuf, next); }

int dp_sizeof_port_stats(void) { return (int)sizeof(struct dp_port_stats); }
int dp_offsetof_port_stats_ipackets(void) { return (int)offsetof(struct dp_port_stats, ipackets); }
int dp_offsetof_port_stats_opackets(void) { return (int)offsetof(struct dp_port_stats, opackets); }
int dp_offsetof_port_stats_ibytes(void) { return (int)offsetof(struct dp_port_stats, ibytes); }
int dp_offsetof_port_stats_obytes(void) { return (int)offsetof(struct dp_port_stats, obytes); }
int dp_offsetof_port_stats_imissed(void) { return (int)offsetof(struct dp_port_stats, imissed); }
int dp_offsetof_port_stats_ierrors(void) { return (int)offsetof(struct dp_port_stats, ierrors); }
int dp_offsetof_port_stats_oerrors(void) { return (int)offsetof(struct dp_port_stats, oerrors); }
int dp_offsetof_port_stats_rx_nombuf(void) { return (int)offsetof(struct dp_port_stats, rx_nombuf); }

int dp_sizeof_port_link(void) { return (int)sizeof(struct dp_port_link); }
int dp_offsetof_port_link_speed_mbps(void) { return (int)offsetof(struct dp_port_link, speed_mbps); }
int dp_offsetof_port_link_up(void) { return (int)offsetof(struct dp_port_link, up); }
int dp_offsetof_port_link_full_duplex(void) { return (int)offsetof(struct dp_port_link, full_duplex); }
