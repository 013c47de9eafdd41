//! TCP reassembly: fed decoded TCP segments by `ingest::pcap`, keeps per-connection state for both
//! directions and delivers in-order byte runs (and gaps) to `http1`. (Implemented by the pcap issue.)
