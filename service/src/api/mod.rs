//! The HTTP API (docs/service.md): routes, authentication, request parsing and problem
//! documents.

pub mod problem;
