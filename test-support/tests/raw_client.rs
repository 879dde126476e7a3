//! The raw client against a scripted peer that writes exactly the bytes a
//! test gives it: every framing, and broken responses, which must come
//! back as errors, never as panics or hangs.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sse_test_support::{lossy, within, RawRequest, RawResponse, STEP};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A one-connection server that reads the request head, writes `parts`
/// with `pause` between them, then closes (or keeps the connection open
/// while `keep_open` is true). Sends the request it read.
async fn scripted(
    parts: Vec<&'static [u8]>,
    pause: Duration,
    keep_open: bool,
) -> (SocketAddr, oneshot::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (request_tx, request_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let _ = request_tx.send(request);
        for part in parts {
            if socket.write_all(part).await.is_err() {
                return;
            }
            tokio::time::sleep(pause).await;
        }
        if keep_open {
            // Until the client leaves.
            let _ = socket.read(&mut buf).await;
        }
    });
    (addr, request_rx)
}

async fn get(addr: SocketAddr) -> io::Result<RawResponse> {
    RawRequest::get("/").send(addr).await
}

#[tokio::test]
async fn chunks_keep_their_boundaries_and_arrival_times() {
    let (addr, request) = scripted(
        vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
            b"9\r\ndata: a\n\n\r\n",
            b"4\r\ndata\r\n5\r\n: b\n\n\r\n",
            b"0\r\n\r\n",
        ],
        Duration::from_millis(30),
        false,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    let request = lossy(&request.await.unwrap());
    assert!(
        request.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:"),
        "{request}"
    );
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("X-A"), Some("1"));
    assert_eq!(response.header_count("x-a"), 2);
    let chunks = response.chunks_to_end(STEP).await.unwrap();
    let payloads: Vec<&[u8]> = chunks.iter().map(|c| c.data()).collect();
    assert_eq!(payloads, [&b"data: a\n\n"[..], b"data", b": b\n\n"]);
    assert!(chunks[0].arrived() >= response.head_at());
    assert!(chunks[1].arrived() > chunks[0].arrived());
    // The second and third chunk came in one write.
    assert_eq!(chunks[1].arrived(), chunks[2].arrived());
    assert!(response.is_ended());
    let stats = response.stats();
    assert_eq!((stats.chunks, stats.body_bytes), (3, 18));
    assert_eq!(stats.wire_bytes, 14 + 19 + 5);
    response.wait_closed(STEP).await.unwrap();
}

#[tokio::test]
async fn content_length_and_close_delimited_bodies() {
    let (addr, _) = scripted(
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", b"lo"],
        Duration::from_millis(10),
        true,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    assert_eq!(response.body_to_end(STEP).await.unwrap(), b"hello");

    let (addr, _) = scripted(
        vec![b"HTTP/1.1 200 OK\r\n\r\nuntil ", b"close"],
        Duration::from_millis(10),
        false,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    assert_eq!(response.body_to_end(STEP).await.unwrap(), b"until close");

    let (addr, _) = scripted(
        vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"],
        Duration::ZERO,
        true,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.next_chunk().await.unwrap(), None);
}

#[tokio::test]
async fn drain_hands_over_every_byte_once() {
    let (addr, _) = scripted(
        vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            b"3\r\nde",
            b"f\r\n2\r\ngh\r\n0\r\n\r\n",
        ],
        Duration::from_millis(10),
        false,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    // Part read chunk by chunk, the rest drained: nothing twice, nothing lost.
    let first = response.next_chunk_within(STEP).await.unwrap().unwrap();
    let mut drained = Vec::new();
    response
        .drain(|piece| drained.extend_from_slice(piece))
        .await
        .unwrap();
    assert_eq!(first.data(), b"abc");
    assert_eq!(drained, b"defgh");
    assert_eq!(response.stats().chunks, 3);
    assert!(response.is_ended());
}

#[tokio::test]
async fn broken_responses_are_errors() {
    let cases: [(&[&'static [u8]], io::ErrorKind); 5] = [
        (
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
            io::ErrorKind::InvalidData,
        ),
        (
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY"],
            io::ErrorKind::InvalidData,
        ),
        (
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"],
            io::ErrorKind::UnexpectedEof,
        ),
        (
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"],
            io::ErrorKind::UnexpectedEof,
        ),
        (
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"],
            io::ErrorKind::InvalidData,
        ),
    ];
    for (parts, kind) in cases {
        let (addr, _) = scripted(parts.to_vec(), Duration::ZERO, false).await;
        let err = match get(addr).await {
            Ok(mut response) => response.body_to_end(STEP).await.unwrap_err(),
            Err(err) => err,
        };
        assert_eq!(err.kind(), kind, "{:?}: {err}", lossy(parts[0]));
    }

    for head in [
        &b"garbage\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    ] {
        let (addr, _) = scripted(vec![head], Duration::ZERO, false).await;
        assert_eq!(
            get(addr).await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
    let (addr, _) = scripted(vec![b"HTTP/1.1 200"], Duration::ZERO, false).await;
    assert_eq!(
        get(addr).await.unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
}

#[tokio::test]
async fn bounded_waits_time_out_with_what_arrived() {
    let (addr, _) = scripted(vec![], Duration::ZERO, true).await;
    let err = RawRequest::get("/")
        .timeout(Duration::from_millis(50))
        .send(addr)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);

    let (addr, _) = scripted(
        vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\npartly\r\n"],
        Duration::ZERO,
        true,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    let err = response
        .body_to_end(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("\"partly\""), "{err}");
    let err = response
        .read_until(b"never", Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(
        response.wait_closed(STEP).await.is_err(),
        "the body is not over"
    );
}

#[tokio::test]
async fn the_peer_sees_a_half_close_and_a_reset() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let seen = seen_tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let mut request = Vec::new();
                // What the client does after its request: `Ok(0)` is a FIN.
                let next = async {
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await? {
                            0 => return Ok(0),
                            n => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    socket
                        .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .await?;
                    socket.read(&mut buf).await
                };
                let _ = seen.send(next.await.map_err(|e| e.kind()));
            });
        }
    });

    let mut response = get(addr).await.unwrap();
    response.half_close().await.unwrap();
    assert_eq!(within(STEP, seen_rx.recv()).await, Some(Ok(0)));

    let response = get(addr).await.unwrap();
    response.reset().unwrap();
    assert_eq!(
        within(STEP, seen_rx.recv()).await,
        Some(Err(io::ErrorKind::ConnectionReset))
    );

    let connection = RawRequest::get("/").write_to(addr).await.unwrap();
    connection.reset().unwrap();
    // Whether the peer had answered yet or not, it learns of the reset.
    let seen = within(STEP, seen_rx.recv()).await;
    assert!(
        matches!(
            seen,
            Some(Err(
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ))
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn bad_requests_are_refused_before_connecting() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let err = RawRequest::get("/")
        .header("X-Evil", "a\r\nInjected: yes")
        .send(listener.local_addr().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let accepted = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await;
    assert!(accepted.is_err(), "the client connected anyway");
}

#[tokio::test]
async fn body_until_closed_tells_an_ended_body_from_a_cut_one() {
    let head = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..];
    let (addr, _) = scripted(vec![head, b"3\r\nabc\r\n0\r\n\r\n"], Duration::ZERO, true).await;
    let mut response = get(addr).await.unwrap();
    let (body, ended) = response.body_until_closed(STEP).await.unwrap();
    assert_eq!((lossy(&body).as_str(), ended), ("abc", true));

    // The peer closes inside the chunked body: cut off, not an error.
    let (addr, _) = scripted(vec![head, b"3\r\nabc\r\n"], Duration::ZERO, false).await;
    let mut response = get(addr).await.unwrap();
    let (body, ended) = response.body_until_closed(STEP).await.unwrap();
    assert_eq!((lossy(&body).as_str(), ended), ("abc", false));

    let length = &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..];
    let (addr, _) = scripted(vec![length], Duration::ZERO, false).await;
    let mut response = get(addr).await.unwrap();
    let (_, ended) = response.body_until_closed(STEP).await.unwrap();
    assert!(!ended);

    // Still open: a timeout that shows what arrived.
    let (addr, _) = scripted(vec![head, b"3\r\nabc\r\n"], Duration::ZERO, true).await;
    let mut response = get(addr).await.unwrap();
    let err = response
        .body_until_closed(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("abc"), "{err}");

    // Broken framing stays an error.
    let (addr, _) = scripted(vec![head, b"zz\r\n"], Duration::ZERO, false).await;
    let mut response = get(addr).await.unwrap();
    let err = response.body_until_closed(STEP).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn the_longest_gap_between_reads_is_measured() {
    let head = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..];
    let pause = Duration::from_millis(200);
    let (addr, _) = scripted(
        vec![head, b"1\r\na\r\n", b"1\r\nb\r\n0\r\n\r\n"],
        pause,
        false,
    )
    .await;
    let mut response = get(addr).await.unwrap();
    assert_eq!(response.body_to_end(STEP).await.unwrap(), b"ab");
    // A sleep is never shorter than asked; the first read can only be
    // late, which shortens the gap, hence half.
    let gap = response.longest_gap();
    assert!(gap >= pause / 2, "{gap:?}");

    // One read brought everything: no gap at all.
    let whole = &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"[..];
    let (addr, _) = scripted(vec![whole], Duration::ZERO, true).await;
    let mut response = get(addr).await.unwrap();
    assert_eq!(response.body_to_end(STEP).await.unwrap(), b"ab");
    assert_eq!(response.stats().reads, 1);
    assert_eq!(response.longest_gap(), Duration::ZERO);
}

#[tokio::test]
async fn events_received_but_not_taken_can_be_taken_without_waiting() {
    let body = &b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\ndata: a\n\ndata: b\n\n"[..];
    let (addr, _) = scripted(vec![body], Duration::ZERO, true).await;
    let mut events = get(addr).await.unwrap().into_events();
    assert_eq!(events.next_event().await.unwrap().unwrap().data, "a");
    let rest = events.take_received();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].data, "b");
    assert!(events.take_received().is_empty());
}
