package io.keelson.dataplane.config.envoy;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.keelson.dataplane.config.AdminConfig;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an Envoy v3 bootstrap (YAML or JSON) into Envoy's own protos and translates its
 * static_resources into a {@link ProxySnapshot}. Fields Keelson does not run are reported by name:
 * an error ({@link ConfigException}) when ignoring them would change behaviour, a warning in
 * {@link ProxySnapshot#warnings()} when it would not. Stateless and thread-safe.
 */
public final class BootstrapLoader {
  /** The snapshot version label of a static bootstrap. */
  public static final String STATIC_VERSION = "static";

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private BootstrapLoader() {}

  /** Reads and translates a bootstrap file; the file name prefixes every message. */
  public static ProxySnapshot load(Path file) throws ConfigException {
    return loadBootstrap(file).snapshot();
  }

  /** Translates bootstrap text (YAML, or JSON); {@code sourceName} prefixes every message. */
  public static ProxySnapshot fromYaml(String yaml, String sourceName) throws ConfigException {
    return parseBootstrap(yaml, sourceName).snapshot();
  }

  /** As {@link #load}, with the admin address. */
  public static StaticBootstrap loadBootstrap(Path file) throws ConfigException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read the config file: " + e, e);
    }
    Path name = file.getFileName();
    return parseBootstrap(text, name == null ? file.toString() : name.toString());
  }

  /** As {@link #fromYaml}, with the admin address. */
  public static StaticBootstrap parseBootstrap(String text, String sourceName) throws ConfigException {
    return parseAll(text, sourceName).staticBootstrap();
  }

  private record Parsed(StaticBootstrap staticBootstrap, AdsSource ads) {}

  private static Parsed parseAll(String text, String sourceName) throws ConfigException {
    Problems problems = new Problems(sourceName);
    io.envoyproxy.envoy.config.cluster.v3.Cluster[] adsCluster = new io.envoyproxy.envoy.config.cluster.v3.Cluster[1];
    Bootstrap bootstrap = parse(text, problems, adsCluster);
    AdsSource ads = bootstrap.hasDynamicResources() ? AdsBootstrap.adsSource(bootstrap, adsCluster[0], problems) : null;
    // node is used either way: sent to the xDS server, and the workload identity of the istio_* metrics.
    SupportedFields.check(bootstrap, problems);
    SnapshotTranslator translator = new SnapshotTranslator(problems);
    translator.runtime(bootstrap);
    Bootstrap.StaticResources resources = bootstrap.getStaticResources();
    List<ListenerConfig> listeners = translator.listeners(resources);
    Map<String, String> clusterPaths = new LinkedHashMap<>();
    io.keelson.dataplane.config.DnsResolverConfig dnsResolver = DnsResolverTranslator.bootstrapDefault(bootstrap, problems);
    Map<String, ClusterConfig> clusters = new ClusterTranslator(problems)
        .defaultDnsResolver(dnsResolver).clusters(resources, clusterPaths);
    translator.checkReferences(clusters, clusterPaths);
    AdminConfig admin = translator.admin(bootstrap);
    problems.throwIfErrors();
    return new Parsed(new StaticBootstrap(
        new ProxySnapshot(STATIC_VERSION, listeners, clusters, configDump(bootstrap), problems.warnings(),
            io.keelson.dataplane.dns.NameTable.EMPTY, translator.udpListeners(), translator.quicListeners()), admin),
        ads == null ? null : ads.withHttp2Defaults(translator.http2Defaults()).withDnsResolver(dnsResolver));
  }

  /**
   * The bootstrap's xDS source ({@code dynamic_resources.ads_config} and the static cluster it names),
   * or null when the file has no dynamic_resources. The whole file is checked as {@link #parseBootstrap} does.
   */
  public static AdsSource loadAdsSource(Path file) throws ConfigException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read the config file: " + e, e);
    }
    Path name = file.getFileName();
    return parseAdsSource(text, name == null ? file.toString() : name.toString());
  }

  /** As {@link #loadAdsSource}, from bootstrap text; {@code sourceName} prefixes every message. */
  public static AdsSource parseAdsSource(String text, String sourceName) throws ConfigException {
    return parseAll(text, sourceName).ads();
  }

  /** Envoy's JSON form of the bootstrap, typed_config expanded, for the admin {@code /config_dump}. */
  static String configDump(Bootstrap bootstrap) {
    try {
      return JsonFormat.printer().usingTypeRegistry(SupportedTypes.REGISTRY).preservingProtoFieldNames().print(bootstrap);
    } catch (InvalidProtocolBufferException e) {
      // Every Any in the bootstrap was parsed through the same registry, so this cannot happen.
      throw new IllegalStateException(e);
    }
  }

  /** @param adsCluster when non-null, receives the cluster ads_config names (removed from static_resources) */
  static Bootstrap parse(String text, Problems problems, io.envoyproxy.envoy.config.cluster.v3.Cluster[] adsCluster)
      throws ConfigException {
    String sourceName = problems.source();
    boolean json = text.stripLeading().startsWith("{");
    JsonNode tree;
    try {
      tree = (json ? JSON : YAML).readTree(text);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? sourceName : sourceName + ":" + at.getLineNr() + ":" + at.getColumnNr();
      throw new ConfigException(where + ": invalid " + (json ? "JSON" : "YAML") + ": " + e.getOriginalMessage(), e);
    }
    if (tree == null || tree.isMissingNode() || tree.isNull()) {
      throw new ConfigException(sourceName + ": the config is empty; expected an Envoy v3 bootstrap");
    }
    if (!tree.isObject()) {
      throw new ConfigException(sourceName + ": expected an Envoy v3 bootstrap (a mapping at the top level)");
    }
    // The ADS cluster carries gRPC's HTTP/2 options; it is a connection to the control plane, not a proxy cluster.
    io.envoyproxy.envoy.config.cluster.v3.Cluster ads = AdsBootstrap.removeAdsCluster((ObjectNode) tree, problems);
    if (adsCluster != null) {
      adsCluster[0] = ads;
    }
    JsonConfigScan.scan((ObjectNode) tree, Bootstrap.getDescriptor(), problems);
    Bootstrap.Builder builder = Bootstrap.newBuilder();
    try {
      JsonFormat.parser().usingTypeRegistry(SupportedTypes.REGISTRY).merge(tree.toString(), builder);
    } catch (InvalidProtocolBufferException e) {
      problems.error("", "not a valid Envoy v3 bootstrap: " + e.getMessage());
      problems.throwIfErrors();
    }
    return builder.build();
  }

}
