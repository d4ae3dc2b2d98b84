//! What paygate does with an order, independent of HTTP: create (idempotent, crash-safe), read,
//! close. Used by the merchant API.
