/**
 * L7 routing on the pipeline: the pre-allocated {@link io.keelson.dataplane.routing.RoutingEvent}, the
 * route and balance stages, the compiled {@link io.keelson.dataplane.routing.ServingSnapshot} they read,
 * and {@link io.keelson.dataplane.routing.RoutingPipelines}, which gives each event loop its pipeline.
 */
package io.keelson.dataplane.routing;
