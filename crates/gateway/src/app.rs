//! Puts the pieces together: settings → store, channels (or sandbox), router; serves until shutdown.
