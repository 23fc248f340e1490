package io.keelson.dataplane.http2;

import io.netty.handler.codec.http.HttpObject;

/** The exchange an upstream channel currently serves. Called on that channel's event loop. */
interface UpstreamOwner {
  /** A response part: HttpResponse (maybe full), HttpContent, LastHttpContent (maybe with trailers). */
  void onUpstreamRead(HttpObject msg);

  void onUpstreamReadComplete();

  void onUpstreamWritabilityChanged(boolean writable);

  /**
   * The upstream channel closed or the upstream reset the stream before the exchange ended.
   *
   * @param resetCode the RST_STREAM error code, or -1 when the connection closed
   */
  void onUpstreamClosed(long resetCode);
}
