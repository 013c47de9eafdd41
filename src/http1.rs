//! HTTP/1.x stream parsing: fed in-order bytes of both directions of a connection by
//! `reassembly`, pairs requests with responses and builds `model::Exchange`s. (Implemented by the
//! pcap issue.)
