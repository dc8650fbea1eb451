//! Actyx-style app tokens on the app side: obtain a token from the node's auth endpoint with
//! the app manifest, send it as a bearer token, and obtain a new one when the node rejects it
//! (expired, or issued before the node restarted its epoch), retrying once.

use super::{AfterUnauthorized, ClientAuth, ClientError};
use crate::BoxFuture;
use tokio::sync::Mutex;

/// Sends an app token obtained from `POST <auth_url>` with the manifest JSON.
pub struct AppTokenAuth {
    http: reqwest::Client,
    auth_url: String,
    manifest_json: String,
    current: Mutex<Option<String>>,
}

impl AppTokenAuth {
    /// For the app described by `manifest_json` (`{"appId","displayName","version","signature"?}`),
    /// posted with `http` as it is configured (the manifest is no secret: it ships inside the
    /// app); the token is then sent only through the [`super::AuthClient`] this scheme serves.
    pub fn new(http: reqwest::Client, auth_url: &str, manifest_json: &str) -> Self {
        Self {
            http,
            auth_url: auth_url.to_owned(),
            manifest_json: manifest_json.to_owned(),
            current: Mutex::new(None),
        }
    }

    /// Asks the node for a token.
    pub async fn obtain(&self) -> Result<String, ClientError> {
        let resp = self
            .http
            .post(&self.auth_url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(self.manifest_json.clone())
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        #[derive(serde::Deserialize)]
        struct Issued {
            token: String,
        }
        match serde_json::from_str::<Issued>(&text) {
            Ok(issued) if status.is_success() => Ok(issued.token),
            _ => Err(ClientError::Auth(auth_core::Error::new(
                auth_core::ErrorCode::Unauthorized,
                format!("the node refused the manifest ({status}): {text}"),
            ))),
        }
    }
}

impl ClientAuth for AppTokenAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let mut current = self.current.lock().await;
            let token = match current.as_ref() {
                Some(t) => t.clone(),
                None => {
                    let t = self.obtain().await?;
                    *current = Some(t.clone());
                    t
                }
            };
            super::set_bearer(req, &token)?;
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        _response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        Box::pin(async move {
            *self.current.lock().await = None;
            AfterUnauthorized::RetryOnce
        })
    }
}
