//! JSON Web Token decoding (header and payload, signature not verified) for `recognize`.
//! (Implemented by the recognition issue.)
