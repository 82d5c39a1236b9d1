//! The drill simulator: a stable and a canary version serving real
//! `/metrics`, `/health` and `/ready` on loopback, driven by scenarios.
