//! The store's errors, worded for the person who must act on them.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named thing does not exist, or the caller may not know that it does.
    #[error("{0} was not found")]
    NotFound(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing to be added exists already.
    #[error("{0} already exists")]
    Conflict(String),
    /// What the caller read has changed since: read it again and retry.
    #[error("{0} changed since it was read: read it again and retry")]
    Stale(String),
    /// The request cannot be carried out as given.
    #[error("{0}")]
    Invalid(String),
    /// The database URL is not one the hub can use.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://USER@HOST:PORT/DB")]
    Url(String),
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("could not migrate the database schema: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A password could not be hashed.
    #[error("could not hash the password: {0}")]
    Password(String),
}

/// Shorthand for the store's results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
