//! Tests across the codec modules: real encoder output and properties.

mod properties;
mod real_streams;
