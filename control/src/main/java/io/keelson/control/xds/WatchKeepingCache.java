package io.keelson.control.xds;

import io.envoyproxy.controlplane.cache.CacheStatusInfo;
import io.envoyproxy.controlplane.cache.DeltaCacheStatusInfo;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * java-control-plane's {@link SimpleCache} without its lost ADS watches. A SotW request over ADS naming a resource the
 * snapshot lacks (a gateway's SDS secret not applied yet, a warming cluster's new CA) is not answered, as Envoy expects,
 * and its watch stays open until a snapshot has every name. SimpleCache loses that watch two ways, and the proxy then
 * waits for ever, since a SotW client does not ask again:
 * <ul>
 *   <li>{@code setSnapshot} removes every watch it visits, answered or not, so a snapshot still lacking the name drops it;
 *   <li>{@code setSnapshot} answers the watches after releasing its lock, so a watch made meanwhile (the proxy asking
 *       for a secret the CDS or LDS response just sent names) is visited against that same snapshot and dropped.
 * </ul>
 * A third way: {@code createWatch} answers at once a request naming a name not asked for before that the snapshot has
 * (or an EDS request after a cluster change) and then opens no watch, even when that answer was refused because another
 * name is missing (a gateway's first SDS request naming two secrets, one applied, one not).
 * Here a watch a snapshot cannot answer is put back or opened, and watches are made only between two
 * {@code setSnapshot}s (both hold this object's monitor). Thread-safe, as SimpleCache.
 */
final class WatchKeepingCache<T> extends SimpleCache<T> {
  private final NodeGroup<T> groups;

  WatchKeepingCache(NodeGroup<T> groups) {
    super(groups);
    this.groups = groups;
  }

  @Override
  public synchronized Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
      Consumer<Response> responseConsumer, boolean hasClusterChanged, boolean allowDefaultEmptyEdsUpdate) {
    Snapshot snapshot = getSnapshot(groups.hash(request.v3Request().getNode()));
    if (snapshot != null && !answers(snapshot, request.getResourceType(), ads, request.getResourceNamesList(),
        allowDefaultEmptyEdsUpdate)) {
      // SimpleCache answers a request naming a new name the snapshot has (or an EDS request after a cluster change) at
      // once and returns without opening the watch, even when that answer is refused for a missing name; told the names
      // are all known and no cluster changed, it takes its version path, which opens the watch when it cannot answer.
      return super.createWatch(ads, request, Set.copyOf(request.getResourceNamesList()), responseConsumer, false,
          allowDefaultEmptyEdsUpdate);
    }
    return super.createWatch(ads, request, knownResourceNames, responseConsumer, hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
  }

  @Override
  protected void respondWithSpecificOrder(T group, Snapshot previous, Snapshot snapshot,
      Map<ResourceType, CacheStatusInfo<T>> statuses, Map<ResourceType, DeltaCacheStatusInfo<T>> deltaStatuses) {
    List<Runnable> putBack = new ArrayList<>();
    statuses.forEach((type, status) -> status.watchesRemoveIf((id, watch) -> {
      if (!answers(snapshot, type, watch)) {
        putBack.add(() -> {
          if (!watch.isCancelled()) {
            status.setWatch(id, watch);
            if (watch.isCancelled()) { // cancelled (on the stream's thread) between the check and setWatch
              status.removeWatch(id);
            }
          }
        });
      }
      return false; // only looking
    }));
    super.respondWithSpecificOrder(group, previous, snapshot, statuses, deltaStatuses);
    putBack.forEach(Runnable::run);
  }

  /** Whether SimpleCache answers {@code watch} from {@code snapshot}: over ADS only when it has every name asked for. */
  static boolean answers(Snapshot snapshot, ResourceType type, Watch watch) {
    return answers(snapshot, type, watch.ads(), watch.request().getResourceNamesList(),
        watch.allowDefaultEmptyEdsUpdate());
  }

  private static boolean answers(Snapshot snapshot, ResourceType type, boolean ads, List<String> names,
      boolean allowDefaultEmptyEdsUpdate) {
    return !ads || names.isEmpty() || snapshot.resources(type).keySet().containsAll(names)
        || (type == ResourceType.ENDPOINT && allowDefaultEmptyEdsUpdate);
  }
}
