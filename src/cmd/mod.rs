//! Subcommands.
#[cfg(feature = "probe")]
pub mod probe;
