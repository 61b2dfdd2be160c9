//! placeholder until the certs helper lands
