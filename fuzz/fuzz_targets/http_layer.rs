//! Fuzzes the verifying layer's parsing entry point: arbitrary method, target, header fields and
//! body go through `AuthLayer::authenticate` with every scheme enabled. Nothing may panic, and
//! with no credentials registered nothing may be accepted.
#![no_main]
use auth_core::apikey::{Environment, KeyPrefix};
use auth_http::server::{AuthConfig, AuthLayer, MemoryReplayStore, MemoryResolver};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

struct Fixture {
    rt: tokio::runtime::Runtime,
    layer: AuthLayer,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let config = AuthConfig::new(KeyPrefix::new("pa").expect("prefix"), Environment::Live);
        Fixture {
            rt: tokio::runtime::Builder::new_current_thread().build().expect("runtime"),
            layer: AuthLayer::new(config, Arc::new(MemoryResolver::new()), Arc::new(MemoryReplayStore::default())),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // Layout: lines "name: value" for headers until an empty line, then the body. The first line
    // is "METHOD TARGET".
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let Some((method, target)) = lines.next().and_then(|l| l.split_once(' ')) else { return };
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(req) = builder.body(()) else { return };
    let (parts, ()) = req.into_parts();
    let f = fixture();
    let result = f.rt.block_on(f.layer.authenticate(&parts, body.as_bytes()));
    assert!(result.is_err(), "nothing is registered, so nothing may be accepted");
});
