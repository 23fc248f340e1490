package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serializes each resource instance once, however many proxies it is sent to: every proxy of a kind
 * shares one translation, so the 1,000 proxies given a 10,000-endpoint ClusterLoadAssignment are
 * sent the same packed {@link Any} (java-control-plane's default serializer packs it again for each
 * of them). Keyed by identity, never by content (comparing two 10,000-endpoint lists is itself the
 * cost to avoid). Entries live for two generations: {@link #nextGeneration} is called after each
 * translation, so a resource still being sent from the previous one is found, and anything older is
 * dropped (and packed again if it is ever sent). Thread-safe.
 */
final class PackedResources implements ProtoResourcesSerializer {
  private volatile ConcurrentHashMap<Key, Any> current = new ConcurrentHashMap<>();
  private volatile ConcurrentHashMap<Key, Any> previous = new ConcurrentHashMap<>();

  /** Identity of a message (its content is never compared). */
  private record Key(Message message) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.message == message;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(message);
    }
  }

  @Override
  public Any serialize(Message message, Resources.ApiVersion apiVersion) {
    Key key = new Key(message);
    ConcurrentHashMap<Key, Any> now = current;
    Any any = now.get(key);
    if (any == null) {
      any = previous.get(key);
      if (any == null) {
        any = Any.pack(message);
      }
      Any raced = now.putIfAbsent(key, any);
      any = raced != null ? raced : any;
    }
    return any;
  }

  /** Starts a new generation: entries not used since the last call are dropped at the next. */
  synchronized void nextGeneration() {
    previous = current;
    current = new ConcurrentHashMap<>();
  }

  int size() {
    return current.size() + previous.size();
  }
}
