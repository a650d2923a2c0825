//! Small URL helpers shared by the browser and the server.

/// Percent-encodes text for use as a query parameter value; `/` is kept for readable paths.
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved_and_slash() {
        assert_eq!(
            encode_query_value("/approvals?page=2&q=a b"),
            "/approvals%3Fpage%3D2%26q%3Da%20b"
        );
        assert_eq!(encode_query_value("é"), "%C3%A9");
    }
}
