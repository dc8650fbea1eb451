//! Replay policy: freshness windows, nonce cache keys, monotonic nonces, an in-memory cache.
