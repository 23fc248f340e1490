package io.keelson.control.xds;

import com.google.common.collect.MapMaker;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import java.util.concurrent.ConcurrentMap;

/**
 * Serializes each resource instance once, however many proxies it is sent to: every proxy of a kind
 * shares one translation, so the 1,000 proxies given a 10,000-endpoint ClusterLoadAssignment are
 * sent the same packed {@link Any} (java-control-plane's default serializer packs it again for each
 * of them). Keyed by identity, never by content (comparing two 10,000-endpoint lists is itself the
 * cost to avoid), with weak keys: a packed resource lives exactly as long as its instance, which
 * translators keep across changes while its content is unchanged (see {@link AssignmentCache}). So
 * an unchanged list keeps its one packed {@code Any} across any number of changes, which is how
 * {@link PartialEndpoints} knows a proxy already holds it. Thread-safe.
 */
final class PackedResources implements ProtoResourcesSerializer {
  // Weak keys compare by identity (MapMaker); values do not reference their keys.
  private final ConcurrentMap<Message, Any> packed = new MapMaker().weakKeys().makeMap();

  @Override
  public Any serialize(Message message, Resources.ApiVersion apiVersion) {
    Any any = packed.get(message);
    if (any == null) {
      any = Any.pack(message);
      Any raced = packed.putIfAbsent(message, any);
      any = raced != null ? raced : any;
    }
    return any;
  }

  int size() {
    return packed.size();
  }
}
