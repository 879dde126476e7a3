//! Encoding micro-benchmark: turn N events into bytes in a `BytesMut`,
//! no network.
//!
//! * (a) ours, per event: `IntoEvent::encode_into` straight into the buffer;
//! * (b) every contender through its response body, drained in-process
//!   with a no-op waker. Neither peer has a public way to get one event's
//!   bytes (actix-web-lab's `Event::into_bytes` and axum's
//!   `Event::finalize` are private), so their body type is the cheapest
//!   public path; ours is measured the same way for a fair ratio.
//!
//! Each body chunk is copied into a `BytesMut` that is cleared past 32 KiB,
//! as a socket write would drain it. Time is the thread's CPU time, which a
//! busy machine disturbs less than wall-clock time.
//!
//! `cargo bench -p sse-benches --bench encode`
//! (`SSE_BENCH_N`, default 1 000 000; `SSE_BENCH_ROUNDS`, default 5).

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::test::{call_service, init_service, TestRequest};
use actix_web::App;
use axum::body::HttpBody;
use axum::response::IntoResponse;
use bytes::BytesMut;
use cpu_time::ThreadTime;
use futures_util::stream::{self, Stream, StreamExt};
use sse_benches::report::{median, Table};
use sse_benches::{env_u64, Tick};
use sse_runtime::{controller, sse, Event, EventError, IntoEvent};

const TEXT: &str = "hello, world: a small text event";
const DRAIN_AT: usize = 32 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Tick` as JSON.
    Json,
    /// A `&'static str`.
    Text,
    /// An event built with event + id + data.
    Full,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Json, Kind::Text, Kind::Full];

    fn name(self) -> &'static str {
        match self {
            Kind::Json => "JSON struct {\"seq\":n,\"name\":\"tick\"}",
            Kind::Text => "&str (32 bytes)",
            Kind::Full => "event + id + data",
        }
    }

    fn route(self) -> &'static str {
        match self {
            Kind::Json => "/enc/json",
            Kind::Text => "/enc/text",
            Kind::Full => "/enc/full",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    OursDirect,
    OursBody,
    ActixWebLabBody,
    AxumBody,
}

impl Method {
    const ALL: [Method; 4] = [
        Method::OursDirect,
        Method::OursBody,
        Method::ActixWebLabBody,
        Method::AxumBody,
    ];

    fn name(self) -> &'static str {
        match self {
            Method::OursDirect => "ours: IntoEvent::encode_into",
            Method::OursBody => "ours: SseBody drained",
            Method::ActixWebLabBody => "actix-web-lab: Sse drained",
            Method::AxumBody => "axum: Sse body drained",
        }
    }
}

fn full_event(seq: u64) -> Result<Event, EventError> {
    Ok(Event::default()
        .event("tick")?
        .id(seq.to_string())?
        .data("payload"))
}

struct Enc {
    n: u64,
}

#[controller("enc")]
impl Enc {
    #[sse("json", keep_alive = false)]
    fn json(&self) -> impl Stream<Item = Tick> {
        stream::iter(0..self.n).map(Tick::new)
    }

    #[sse("text", keep_alive = false)]
    fn text(&self) -> impl Stream<Item = &'static str> {
        stream::iter(0..self.n).map(|_| TEXT)
    }

    #[sse("full", keep_alive = false)]
    fn full(&self) -> impl Stream<Item = Result<Event, EventError>> {
        stream::iter(0..self.n).map(full_event)
    }
}

fn sink(out: &mut BytesMut, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    if out.len() >= DRAIN_AT {
        black_box(&out[..]);
        out.clear();
    }
}

/// What one measurement produced.
struct Run {
    ns_per_event: f64,
    bytes: u64,
    chunks: u64,
}

/// Drains an actix `MessageBody` with a no-op waker.
fn drain_actix<B: MessageBody>(body: B, out: &mut BytesMut) -> (u64, u64) {
    let mut body = pin!(body);
    let mut cx = Context::from_waker(Waker::noop());
    let (mut bytes, mut chunks, mut stalls) = (0u64, 0u64, 0u32);
    loop {
        match body.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                bytes += chunk.len() as u64;
                chunks += 1;
                sink(out, &chunk);
            }
            Poll::Ready(Some(Err(err))) => panic!("body error: {}", err.into()),
            Poll::Ready(None) => return (bytes, chunks),
            Poll::Pending => {
                stalls += 1;
                assert!(stalls < 1_000, "body pending with a no-op waker: stalled");
            }
        }
    }
}

/// Drains an axum body with a no-op waker.
fn drain_axum(body: axum::body::Body, out: &mut BytesMut) -> (u64, u64) {
    let mut body = pin!(body);
    let mut cx = Context::from_waker(Waker::noop());
    let (mut bytes, mut chunks, mut stalls) = (0u64, 0u64, 0u32);
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(chunk) = frame.into_data() {
                    bytes += chunk.len() as u64;
                    chunks += 1;
                    sink(out, &chunk);
                }
            }
            Poll::Ready(Some(Err(err))) => panic!("body error: {err}"),
            Poll::Ready(None) => return (bytes, chunks),
            Poll::Pending => {
                stalls += 1;
                assert!(stalls < 1_000, "body pending with a no-op waker: stalled");
            }
        }
    }
}

fn awl_body(
    kind: Kind,
    n: u64,
) -> Box<dyn MessageBody<Error = Box<dyn std::error::Error>> + Unpin> {
    use actix_web_lab::sse::{Data, Event, Sse};
    match kind {
        Kind::Json => Box::new(Sse::from_stream(
            stream::iter(0..n).map(|seq| Data::new_json(Tick::new(seq)).map(Event::Data)),
        )),
        Kind::Text => {
            Box::new(Sse::from_stream(stream::iter(0..n).map(|_| {
                Ok::<_, std::convert::Infallible>(Event::Data(Data::new(TEXT)))
            })))
        }
        Kind::Full => Box::new(Sse::from_stream(stream::iter(0..n).map(|seq| {
            Ok::<_, std::convert::Infallible>(Event::Data(
                Data::new("payload").event("tick").id(seq.to_string()),
            ))
        }))),
    }
}

fn axum_body(kind: Kind, n: u64) -> axum::body::Body {
    use axum::response::sse::{Event, Sse};
    let response = match kind {
        Kind::Json => {
            Sse::new(stream::iter(0..n).map(|seq| Event::default().json_data(Tick::new(seq))))
                .into_response()
        }
        Kind::Text => Sse::new(
            stream::iter(0..n)
                .map(|_| Ok::<_, std::convert::Infallible>(Event::default().data(TEXT))),
        )
        .into_response(),
        Kind::Full => Sse::new(stream::iter(0..n).map(|seq| {
            Ok::<_, std::convert::Infallible>(
                Event::default()
                    .event("tick")
                    .id(seq.to_string())
                    .data("payload"),
            )
        }))
        .into_response(),
    };
    response.into_body()
}

async fn ours_body(kind: Kind, n: u64) -> BoxBody {
    let app = init_service(App::new().service(Enc { n })).await;
    let response = call_service(&app, TestRequest::get().uri(kind.route()).to_request()).await;
    assert!(
        response.status().is_success(),
        "ours: status {}",
        response.status()
    );
    response.into_body()
}

fn ours_direct(kind: Kind, n: u64, out: &mut BytesMut) -> (u64, u64) {
    let mut bytes = 0u64;
    let mut encode = |item: &mut dyn FnMut(&mut BytesMut)| {
        let before = out.len();
        item(out);
        bytes += (out.len() - before) as u64;
        if out.len() >= DRAIN_AT {
            black_box(&out[..]);
            out.clear();
        }
    };
    for seq in 0..n {
        match kind {
            Kind::Json => encode(&mut |buf| Tick::new(seq).encode_into(buf).expect("encode")),
            Kind::Text => encode(&mut |buf| TEXT.encode_into(buf).expect("encode")),
            Kind::Full => encode(&mut |buf| {
                full_event(seq)
                    .expect("event")
                    .encode_into(buf)
                    .expect("encode")
            }),
        }
    }
    (bytes, 0)
}

async fn measure(method: Method, kind: Kind, n: u64) -> Run {
    let mut out = BytesMut::with_capacity(DRAIN_AT * 2);
    // Building the response (and, for ours, routing the request) happens
    // once per run and is timed too: it is noise against N events.
    let start = ThreadTime::now();
    let (bytes, chunks) = match method {
        Method::OursDirect => ours_direct(kind, n, &mut out),
        Method::OursBody => drain_actix(ours_body(kind, n).await, &mut out),
        Method::ActixWebLabBody => drain_actix(awl_body(kind, n), &mut out),
        Method::AxumBody => drain_axum(axum_body(kind, n), &mut out),
    };
    let elapsed = start.elapsed();
    black_box(&out);
    Run {
        ns_per_event: elapsed.as_nanos() as f64 / n as f64,
        bytes,
        chunks,
    }
}

fn main() {
    let n = env_u64("SSE_BENCH_N", 1_000_000);
    let rounds = env_u64("SSE_BENCH_ROUNDS", 5);
    println!("encode: {n} events per run, {rounds} rounds interleaved, 1 warm-up round");
    actix_rt::System::new().block_on(async move {
        let mut table = Table::new([
            "event",
            "method",
            "median CPU ns/event",
            "min",
            "B/event",
            "chunks/run",
            "÷ ours (body)",
        ])
        .left_aligned(2);
        for kind in Kind::ALL {
            let mut runs: Vec<Vec<Run>> = Method::ALL.iter().map(|_| Vec::new()).collect();
            for round in 0..=rounds {
                for (i, &method) in Method::ALL.iter().enumerate() {
                    let run = measure(method, kind, n).await;
                    if round > 0 {
                        runs[i].push(run);
                    }
                }
            }
            let medians: Vec<f64> = runs
                .iter()
                .map(|r| median(&r.iter().map(|r| r.ns_per_event).collect::<Vec<_>>()))
                .collect();
            let ours_body = medians[1];
            for (i, &method) in Method::ALL.iter().enumerate() {
                let r = &runs[i];
                let min = r.iter().map(|r| r.ns_per_event).fold(f64::INFINITY, f64::min);
                table.row([
                    kind.name().to_owned(),
                    method.name().to_owned(),
                    format!("{:.1}", medians[i]),
                    format!("{min:.1}"),
                    format!("{:.1}", r[0].bytes as f64 / n as f64),
                    if method == Method::OursDirect {
                        "-".to_owned()
                    } else {
                        r[0].chunks.to_string()
                    },
                    format!("{:.2}×", medians[i] / ours_body),
                ]);
            }
        }
        println!();
        println!("{}", table.render());
        println!("÷ ours (body): this row's ns/event over ours through SseBody; > 1 means ours is faster.");
    });
}
