//! Settings: a TOML file, environment overrides and command-line flags, parsed once at start.
