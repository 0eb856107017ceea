//! The TAXII 2.1 server: discovery at `/taxii2/`, one API root at `/taxii2/api/`.

mod auth;
pub mod error;
pub mod filters;
pub mod ingest;
mod routes;

use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use watchpost_stix::Validator;
use watchpost_store::Store;

/// The path of the discovery resource.
pub const DISCOVERY: &str = "/taxii2/";
/// The path of the hub's API root.
pub const API_ROOT: &str = "/taxii2/api/";

/// What a server says about itself and the limits it applies.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server's title, in discovery and the API root.
    pub title: String,
    /// A description.
    pub description: String,
    /// Who to contact about it.
    pub contact: Option<String>,
    /// The largest request body, in bytes (`max_content_length`).
    pub max_content_length: usize,
    /// The most objects one POSTed envelope may carry.
    pub max_envelope_objects: usize,
    /// Page sizes of object, manifest and version reads.
    pub pages: filters::PageSizes,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            title: "Watchpost".into(),
            description: "Cyber early-warning and threat-intelligence exchange hub".into(),
            contact: None,
            max_content_length: 32 * 1024 * 1024,
            max_envelope_objects: 10_000,
            pages: filters::PageSizes {
                default: 1000,
                max: 10_000,
            },
        }
    }
}

/// A TAXII server over a store.
pub struct Server {
    store: Arc<dyn Store>,
    validator: Validator,
    config: Config,
    logins: auth::LoginCache,
    /// The hub's Ed25519 key: pages read by a peer hub are signed with it.
    signing_key: Option<[u8; 32]>,
}

impl Server {
    /// The caller named by a request's `Authorization` header (HTTP Basic or a bearer API
    /// token), for routes the hub serves beside TAXII.
    pub async fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<watchpost_store::Caller, error::TaxiiError> {
        auth::caller(self, headers).await
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server over `store` that validates POSTed objects with `validator` (give it the
    /// pattern checker so indicators with bad patterns are refused).
    pub fn new(store: Arc<dyn Store>, validator: Validator, config: Config) -> Arc<Self> {
        Arc::new(Server {
            store,
            validator,
            config,
            logins: auth::LoginCache::default(),
            signing_key: None,
        })
    }

    /// A server that signs the object pages a peer hub reads (its pulls) with the hub's key,
    /// as its pushes are signed (`crate::signing`).
    pub fn with_signing_key(
        store: Arc<dyn Store>,
        validator: Validator,
        config: Config,
        secret: [u8; 32],
    ) -> Arc<Self> {
        Arc::new(Server {
            store,
            validator,
            config,
            logins: auth::LoginCache::default(),
            signing_key: Some(secret),
        })
    }

    /// The routes, ready to serve.
    pub fn router(self: &Arc<Self>) -> Router {
        use routes::*;
        let collection = "/taxii2/api/collections/{collection}";
        Router::new()
            .route(DISCOVERY, get(discovery))
            .route(API_ROOT, get(api_root))
            .route("/taxii2/api/status/{status}/", get(status))
            .route("/taxii2/api/collections/", get(collections))
            .route(&format!("{collection}/"), get(collection_info))
            .route(
                &format!("{collection}/objects/"),
                get(objects).post(add_objects),
            )
            .route(
                &format!("{collection}/objects/{{object}}/"),
                get(object).delete(delete_object),
            )
            .route(
                &format!("{collection}/objects/{{object}}/versions/"),
                get(versions),
            )
            .route(&format!("{collection}/manifest/"), get(manifest))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(Arc::clone(self))
    }
}
