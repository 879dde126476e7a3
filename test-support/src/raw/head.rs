//! The response head: status line and header fields (RFC 9112 § 4, § 5),
//! and from them how the body is delimited (§ 6.3).

use std::io;

use super::decode::Framing;

/// A head larger than this is refused rather than buffered without bound.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    /// In wire order, names lower-cased, values trimmed.
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    /// Parses `bytes`: the head up to, not including, the blank line.
    pub(crate) fn parse(bytes: &[u8]) -> io::Result<Head> {
        let text = std::str::from_utf8(bytes).map_err(|_| bad("the response head is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.split(' ').nth(1))
            .filter(|code| code.len() == 3)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let headers = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .filter(|(name, _)| !name.is_empty() && !name.contains([' ', '\t']))
                    .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
                Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
            })
            .collect::<io::Result<_>>()?;
        Ok(Head { status, headers })
    }

    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (case-insensitive), in wire order.
    pub(crate) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is an interim (1xx) response that a final one follows.
    pub(crate) fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// How the body that follows is delimited, for a request with `method`.
    pub(crate) fn framing(&self, method: &str) -> io::Result<Framing> {
        if method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&self.status)
            || self.status == 204
            || self.status == 304
        {
            return Ok(Framing::Done);
        }
        if let Some(codings) = self.values("transfer-encoding").last() {
            let last = codings.rsplit(',').next().unwrap_or_default().trim();
            return Ok(if last.eq_ignore_ascii_case("chunked") {
                Framing::chunked()
            } else {
                Framing::UntilClose
            });
        }
        let mut lengths = self.values("content-length").map(|value| {
            value
                .parse::<u64>()
                .map_err(|_| bad(format!("bad content-length {value:?}")))
        });
        match lengths.next().transpose()? {
            None => Ok(Framing::UntilClose),
            Some(length) => {
                if lengths.any(|other| other.ok() != Some(length)) {
                    return Err(bad("conflicting content-length headers"));
                }
                Ok(Framing::length(length))
            }
        }
    }
}

fn bad(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        Head::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn parses_status_and_headers_in_order() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-A:1\r\nx-a: 2 ");
        assert_eq!(h.status, 200);
        assert_eq!(h.header("content-type"), Some("text/event-stream"));
        assert_eq!(h.header("X-A"), Some("1"));
        assert_eq!(h.values("x-a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(head("HTTP/1.0 404 Not Found").status, 404);
    }

    #[test]
    fn refuses_malformed_heads() {
        for text in [
            "",
            "HTTP/2 200",
            "HTTP/1.1 20 OK",
            "HTTP/1.1 abc OK",
            "HTTP/1.1 200 OK\r\nno colon",
            "HTTP/1.1 200 OK\r\nbad name: x",
            "HTTP/1.1 200 OK\r\n: x",
        ] {
            let err = Head::parse(text.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{text:?}");
        }
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\nx: \xff").is_err());
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let framing = |text: &str, method: &str| head(text).framing(method).unwrap();
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked";
        assert_eq!(framing(chunked, "GET"), Framing::chunked());
        assert_eq!(framing(chunked, "HEAD"), Framing::Done);
        let length = "HTTP/1.1 200 OK\r\nContent-Length: 12";
        assert_eq!(framing(length, "GET"), Framing::length(12));
        assert_eq!(framing("HTTP/1.1 200 OK", "GET"), Framing::UntilClose);
        assert_eq!(framing("HTTP/1.1 204 No Content", "GET"), Framing::Done);
        assert_eq!(framing("HTTP/1.1 304 Not Modified", "GET"), Framing::Done);
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip", "GET"),
            Framing::UntilClose
        );
        let conflict = head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2");
        assert!(conflict.framing("GET").is_err());
        assert!(head("HTTP/1.1 200 OK\r\nContent-Length: -1")
            .framing("GET")
            .is_err());
        assert!(head("HTTP/1.1 100 Continue").is_interim());
        assert!(!head("HTTP/1.1 101 Switching Protocols").is_interim());
    }
}
