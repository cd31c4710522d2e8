//! The two HTTP clients the walkthrough uses: exsync's admin API (as a principal, through
//! the `X-Exsync-Principal` header `exsync serve` trusts from loopback callers) and the
//! Exchange simulator's `/sim/` control API (over HTTPS with the simulator's own CA).
//!
//! Every non-2xx answer becomes an error that carries the method, the path, the status and
//! the body, so a failing step says exactly which call went wrong and what exsync said.

use anyhow::{Context as _, bail};
use reqwest::{Client, Method};
use serde_json::Value;

/// A JSON-over-HTTP endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    http: Client,
    base: String,
    principal: Option<String>,
}

impl Endpoint {
    /// exsync's admin API at `base` (e.g. `http://127.0.0.1:8080`), called as `principal`.
    pub fn admin_api(base: &str, principal: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: Client::builder()
                .build()
                .context("building the HTTP client")?,
            base: base.trim_end_matches('/').to_owned(),
            principal: Some(principal.to_owned()),
        })
    }

    /// The simulator's control API at `base` (`https://127.0.0.1:PORT/sim`), trusting the
    /// CA certificate(s) in `ca_pem`.
    pub fn simulator(base: &str, ca_pem: &[u8]) -> anyhow::Result<Self> {
        let mut builder = Client::builder();
        for cert in reqwest::Certificate::from_pem_bundle(ca_pem)
            .context("the simulator's CA file is not PEM")?
        {
            builder = builder.add_root_certificate(cert);
        }
        Ok(Self {
            http: builder.build().context("building the HTTPS client")?,
            base: base.trim_end_matches('/').to_owned(),
            principal: None,
        })
    }

    /// The same endpoint called as another principal.
    pub fn as_principal(&self, principal: &str) -> Self {
        Self {
            principal: Some(principal.to_owned()),
            ..self.clone()
        }
    }

    /// Where it is.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` (query included).
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }

    /// POST `body` to `path`.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// PATCH `path` with `body`.
    pub async fn patch(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(principal) = &self.principal {
            request = request.header("X-Exsync-Principal", principal);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(&body)?);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .with_context(|| format!("{method} {url}: reading the answer"))?;
        if !status.is_success() {
            bail!(
                "{method} {path} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{method} {path}: the answer is not JSON"))
    }
}

/// `value[key]` as a string ("" when absent or not a string).
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `value[key]` as an array (empty when absent).
pub fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
