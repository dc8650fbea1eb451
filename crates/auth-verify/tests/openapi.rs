//! The served OpenAPI document is 3.1, generated from the code, and names every route the
//! service answers (checked against the live routers: every documented path answers something
//! other than 404, and the document is what `/openapi.json` serves).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_openapi_3_1_and_every_path_exists() {
    let svc = service::Service::start();
    let resp = reqwest::get(svc.url("/openapi.json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/admin/partners",
        "/admin/partners/{partner}/api-keys",
        "/admin/credentials/{reference}/regenerate",
        "/admin/authorized-users",
        "/admin/app-trust/authority",
        "/v1/verify",
        "/forward-auth/nginx",
        "/api/auth/sessions",
        "/api/v2/auth",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    let http = reqwest::Client::new();
    for (path, item) in paths {
        let concrete = path
            .replace("{partner}", "acme")
            .replace("{reference}", "api_key:x")
            .replace("{key}", "k")
            .replace("{path}", "orders");
        for method in item.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = http
                .request(m, svc.url(&concrete))
                .send()
                .await
                .unwrap()
                .status();
            assert_ne!(status, 404, "{method} {path} is documented but not served");
            assert_ne!(status, 405, "{method} {path} is documented but not served");
        }
    }
    // The binary prints the same document.
    let out = std::process::Command::new(service::binary())
        .arg("openapi")
        .output()
        .unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, doc);
}
