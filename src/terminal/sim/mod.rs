//! The `sim` paper-trading terminal (to be implemented).
