package io.keelson.dataplane.filter.basicauth;

/**
 * Envoy's BasicAuth as Keelson runs it, with a route's BasicAuthPerRoute users in place of the listener's. Immutable.
 *
 * @param users                 the htpasswd users
 * @param forwardUsernameHeader forward_username_header, lower case, or null: set to the verified user's name
 * @param credentialHeader      authentication_header, lower case, or {@code authorization} when unset
 */
record BasicAuthConfig(Htpasswd users, String forwardUsernameHeader, String credentialHeader) {
  static final String AUTHORIZATION = "authorization";

  BasicAuthConfig withUsers(Htpasswd routeUsers) {
    return new BasicAuthConfig(routeUsers, forwardUsernameHeader, credentialHeader);
  }
}
