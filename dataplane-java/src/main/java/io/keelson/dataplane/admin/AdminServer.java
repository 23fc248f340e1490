package io.keelson.dataplane.admin;

import io.keelson.dataplane.server.ProxyServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The admin listener on its own single event loop, so a slow scrape never delays proxied traffic.
 * Bound to loopback by default. Thread-safe.
 */
public final class AdminServer implements AutoCloseable {
  private final ProxyServer proxy;
  private EventLoopGroup group;
  private Channel channel;

  public AdminServer(ProxyServer proxy) {
    this.proxy = proxy;
  }

  public void start(String host, int port) throws InterruptedException {
    group = proxy.options().transport().newGroup(1, "keelson-admin");
    channel =
        new ServerBootstrap()
            .group(group)
            .channel(proxy.options().transport().serverChannel())
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(64 * 1024))
                        .addLast(new AdminHandler(proxy));
                  }
                })
            .bind(host, port)
            .sync()
            .channel();
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }
}
