package io.kvmesh.prefix.events;

/** The pod dropped every block on every tier (for example after a cache reset). */
public record AllBlocksCleared() implements KvEvent {
}
