//! What can go wrong while raising, delivering and acknowledging warnings.

use watchpost_store::StoreError;

/// Why a warning operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WarnError {
    /// The knowledge base refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The indicator handed to [`crate::Warnings::raise`] cannot be warned about.
    #[error("cannot warn about this indicator: {0}")]
    Indicator(String),
    /// A directory entry in the store is not valid JSON of a directory entry.
    #[error("the directory entry of {org} cannot be read ({reason}); import the directory again")]
    Directory {
        /// The organisation.
        org: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration cannot be used.
    #[error("invalid warning configuration: {0}")]
    Config(String),
}
