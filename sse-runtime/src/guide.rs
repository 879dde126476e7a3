//! The manual: what the runtime promises, and the API that carries it,
//! one chapter per concern. Each chapter states its policies first.
//!
//! | chapter | what it covers |
//! | --- | --- |
//! | [`routes`] | controllers and plain handlers, paths, method signatures, return shapes, route options, how a stream ends (`id: sse-end` and `204`), the response headers, compile-time errors, a renamed dependency |
//! | [`items`] | what an item becomes on the wire: text or JSON (the probe rule), [`Json`](crate::Json) and [`Text`](crate::Text), [`Event`](crate::Event), and what a client sees when something fails ([`Shown`](crate::Shown)) |
//! | [`sink`] | sending from the method, a task or a timer: [`EventSink`](crate::EventSink) and [`Sse::channel`](crate::Sse::channel) |
//! | [`lifecycle`] | [`CleanUp`](crate::CleanUp), everything that ends a stream, noticing a client that left, and a server stop |
//! | [`slow_clients`] | clients that stop reading: `.sse_defaults()`, the write timeout, the byte bound, the drain deadline, and what the hardening costs |
//! | [`production`] | serving browsers: HTTP/2 and TLS, CORS, connection caps, metrics and tracing |
//!
//! Elsewhere in these docs:
//!
//! * the [`hub`](crate::hub) module: publish once, every subscriber
//!   receives; ids, resume with `Last-Event-ID`, history, bounds, slow
//!   subscribers, closing, presence, errors as HTTP answers;
//! * the [`backplane`](../backplane/index.html) module (feature `redis`): one hub
//!   shared by several server instances through Redis, its guarantees,
//!   failure modes and costs;
//! * the [`parse`](../parse/index.html) (feature `parser`) and
//!   [`test`](../test/index.html) (feature `testing`) modules: reading event
//!   streams as a browser does, and testing routes in-process;
//! * the [`metrics`](../metrics/index.html) module (feature `metrics`): every
//!   metric and its labels.
//!
//! This module holds no items; it exists only in the documentation.

pub mod items;
pub mod lifecycle;
pub mod production;
pub mod routes;
pub mod sink;
pub mod slow_clients;
