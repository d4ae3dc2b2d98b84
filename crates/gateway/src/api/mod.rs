//! The merchant HTTP API: request signing, the 1Pass-compatible routes (seed 000), `/v1`, errors,
//! OpenAPI, health and metrics.
