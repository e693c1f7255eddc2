//! loan-oracle library.
