//! A minimal WASI preview1.
