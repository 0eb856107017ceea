//! The TAXII 2.1 client: polls remote collections (built next).
