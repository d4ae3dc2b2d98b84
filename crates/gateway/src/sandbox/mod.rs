//! Sandbox mode: the simulators run in-process and paygate talks to them over HTTP with the real
//! protocols. No real money moves.
