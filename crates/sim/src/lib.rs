//! Simulators of WeChat Pay v3 and Alipay that speak the real protocols.
