"""Reads of the cachemgmt app: the statistics ``GET /api/v1/cache/stats`` and the admin show."""

from __future__ import annotations

from typing import Any

from cachemgmt.namespaces import NAMESPACES
from cachemgmt.redis_link import RedisUnavailable
from cachemgmt.runtime import get_store


def cache_stats() -> dict[str, Any]:
    """Hits and misses (all processes with Redis; this process without), sizes, generations."""
    store = get_store()
    l2_available = store.redis is not None
    try:
        counters, l2_sizes, generations, listener_position = store.stats_snapshot()
    except RedisUnavailable:
        l2_available = False
        counters, l2_sizes, generations, listener_position = {}, {}, {}, None
    l1 = store.l1.stats(store.keys.namespace_of)
    hits, misses = counters.get("hits", 0), counters.get("misses", 0)
    requests = hits + misses
    namespaces = {
        name: {
            "ttl": ttl,
            "generation": generations.get(name),
            "hits": counters.get(f"ns:{name}:hits", 0),
            "misses": counters.get(f"ns:{name}:misses", 0),
            "entries": l2_sizes.get(name, 0)
            if store.redis is not None
            else l1["per_namespace"].get(name, 0),
        }
        for name, ttl in NAMESPACES.items()
    }
    return {
        "hit_rate": round(100.0 * hits / requests, 2) if requests else 0.0,
        "hits": hits,
        "misses": misses,
        "requests": requests,
        "size": sum(l2_sizes.values()) if store.redis is not None else l1["entries"],
        "mode": store.mode,
        "scope": "all processes" if store.redis is not None else "this process",
        "bypassed": store.bypassed,
        "layers": {
            "l1": {
                "scope": "this process",
                "hits": counters.get("hits_l1", 0),
                **{k: v for k, v in l1.items() if k != "per_namespace"},
            },
            "l2": {
                "backend": "redis" if store.redis is not None else "none",
                "available": l2_available,
                "hits": counters.get("hits_l2", 0),
                "entries": sum(l2_sizes.values()),
            },
        },
        "namespaces": namespaces,
        "last_event_id": listener_position,
    }
