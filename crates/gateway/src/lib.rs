//! The paygate gateway: what a site's order is (`domain`), where it is kept (`store`), and how
//! secrets are kept at rest (`crypto`). The HTTP API, checkout and workers come in later slices.

pub mod crypto;
pub mod domain;
pub mod store;
