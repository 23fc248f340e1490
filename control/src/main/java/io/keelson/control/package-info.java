/** Keelson's control plane and command-line interface. */
package io.keelson.control;
