//! What only the macro-free form has: `Sse::channel`, `Sse::from_subscription`,
//! `Json`/`Text` items, the `CleanUp` extractor when the handler answers
//! something else, and a route option set through the builder, each over a
//! real loopback server.

use std::time::Duration;

use actix_web::{web, App, Either, HttpResponse, Responder};
use futures_util::stream;
use sse_runtime::hub::Hub;
use sse_runtime::{CleanUp, HubError, Json, LastEventId, Sse, Text};
use sse_test_support::{lossy, wait_until, Counter, RawRequest, ServerOptions, TestServer, STEP};

async fn whole(server: &TestServer, path: &str) -> (u16, String) {
    let mut response = RawRequest::get(path).send(server.addr()).await.unwrap();
    let body = response.body_to_end(STEP).await.unwrap();
    (response.status(), lossy(&body))
}

#[actix_web::test]
async fn a_channel_streams_what_a_spawned_task_sends_and_ends_with_it() {
    async fn countdown() -> impl Responder {
        let (sink, sse) = Sse::channel(2);
        actix_web::rt::spawn(async move {
            for n in (1..=5).rev() {
                sink.send(n).await.expect("the client reads");
            }
            sink.send("liftoff").await.expect("the client reads");
        });
        sse
    }
    let server =
        ServerOptions::new().serve(|| App::new().route("/count", web::get().to(countdown)));
    let (status, body) = whole(&server, "/count").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "data: 5\n\ndata: 4\n\ndata: 3\n\ndata: 2\n\ndata: 1\n\ndata: liftoff\n\nid: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_channels_sink_learns_that_the_client_left() {
    let closed = Counter::default();
    let seen = closed.clone();
    let server = ServerOptions::new().serve(move || {
        let seen = seen.clone();
        App::new().route(
            "/forever",
            web::get().to(move || {
                let seen = seen.clone();
                async move {
                    let (sink, sse) = Sse::channel(8);
                    actix_web::rt::spawn(async move {
                        let mut n = 0u64;
                        while sink.send(n).await.is_ok() {
                            n += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        seen.bump();
                    });
                    sse
                }
            }),
        )
    });
    let mut response = RawRequest::get("/forever")
        .send(server.addr())
        .await
        .unwrap();
    response.read_until(b"data: 3\n", STEP).await.unwrap();
    response.reset().unwrap();
    assert!(
        wait_until(STEP, || closed.get() == 1).await,
        "the sender was not told"
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_subscription_replays_after_last_event_id_and_ends_when_closed() {
    async fn feed(hub: web::Data<Hub>, last: LastEventId) -> Result<Sse, HubError> {
        Ok(Sse::from_subscription(
            hub.subscribe(["feed"]).after(last).start()?,
        ))
    }
    let hub = Hub::builder().history(10).build();
    let first = hub.publish("feed", "one").await.unwrap();
    hub.publish("feed", "two").await.unwrap();
    let server = {
        let hub = hub.clone();
        ServerOptions::new().serve(move || {
            App::new()
                .app_data(web::Data::new(hub.clone()))
                .route("/feed", web::get().to(feed))
        })
    };
    let mut response = RawRequest::get("/feed")
        .header("Last-Event-ID", &first.to_string())
        .send(server.addr())
        .await
        .unwrap();
    response.read_until(b"data: two\n", STEP).await.unwrap();
    let third = hub.publish("feed", "three").await.unwrap();
    assert!(hub.close("feed"));
    let rest = lossy(&response.body_to_end(STEP).await.unwrap());
    assert!(rest.contains("data: three\n"), "{rest:?}");
    assert!(rest.ends_with("id: sse-end\n\n"), "{rest:?}");
    // The reconnect, with the end marker or the topic's last id, is
    // answered 204.
    for last in [Sse::END_ID.to_owned(), third.to_string()] {
        let response = RawRequest::get("/feed")
            .header("Last-Event-ID", &last)
            .send(server.addr())
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{last}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn json_and_text_items_state_their_encoding() {
    #[derive(serde::Serialize)]
    struct UserId(String);
    let server = ServerOptions::new().serve(|| {
        App::new()
            .route(
                "/json",
                web::get().to(|| async {
                    Sse::from_stream(stream::iter([
                        Json(UserId("ada".into())),
                        Json(UserId("bob".into())),
                    ]))
                }),
            )
            .route(
                "/text",
                web::get().to(|| async { Sse::from_stream(stream::iter([Text(1.5), Text(2.0)])) }),
            )
    });
    assert_eq!(
        whole(&server, "/json").await.1,
        "data: \"ada\"\n\ndata: \"bob\"\n\nid: sse-end\n\n"
    );
    assert_eq!(
        whole(&server, "/text").await.1,
        "data: 1.5\n\ndata: 2\n\nid: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn an_extracted_cleanup_runs_even_when_the_handler_refuses() {
    let runs = Counter::default();
    let counted = runs.clone();
    let server = ServerOptions::new().serve(move || {
        let counted = counted.clone();
        App::new().route(
            "/maybe/{ok}",
            web::get().to(move |ok: web::Path<bool>, cleanup: CleanUp| {
                let counted = counted.clone();
                async move {
                    cleanup.add(move || counted.bump());
                    if *ok {
                        Either::Left(Sse::from_stream(stream::iter(["yes"])))
                    } else {
                        Either::Right(HttpResponse::Forbidden().finish())
                    }
                }
            }),
        )
    });
    let (status, _) = whole(&server, "/maybe/false").await;
    assert_eq!(status, 403);
    assert!(
        wait_until(STEP, || runs.get() == 1).await,
        "a refusal runs it"
    );
    let (status, body) = whole(&server, "/maybe/true").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "data: yes\n\nid: sse-end\n\n")
    );
    assert!(
        wait_until(STEP, || runs.get() == 2).await,
        "the stream's end runs it"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(runs.get(), 2, "once each");
    server.stop().await;
}

#[actix_web::test]
async fn builder_options_reach_the_wire() {
    let server = ServerOptions::new().serve(|| {
        App::new().route(
            "/opts",
            web::get().to(|| async {
                Sse::from_stream(stream::pending::<u8>())
                    .retry(Duration::from_millis(250))
                    .keep_alive(Duration::from_millis(100))
                    .max_duration(Duration::from_millis(450))
            }),
        )
    });
    let mut response = RawRequest::get("/opts").send(server.addr()).await.unwrap();
    let body = lossy(&response.body_to_end(STEP).await.unwrap());
    assert!(
        body.starts_with("retry: 250\n\n: keep-alive\n\n"),
        "{body:?}"
    );
    assert!(
        body.matches(": keep-alive\n\n").count() >= 3,
        "a keep-alive every 100 ms until the 450 ms limit: {body:?}"
    );
    assert!(!body.contains("sse-end"), "a time limit is not an end");
    server.stop().await;
}
