//! The pub/sub reader: one task per hub that owns the instance's single
//! subscription to the namespace's channel and is the only one to deliver
//! into the local rings, in sequence order. Serving copy requests
//! (`Prime`) in the same task is what makes a copied history and the live
//! events meet without gap or duplicate: nothing is delivered while a copy
//! is read.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use redis::Msg;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{interval_at, sleep, timeout, Instant, MissedTickBehavior};

use super::redis::{Prime, Shared};
use super::BackplaneError;
use crate::hub::registry::Closed;
use crate::hub::wire::Body;
use crate::hub::Inner;
use crate::resume::EventId;

/// First wait before resubscribing; doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A subscribed pub/sub connection. The sink is kept: dropping it would
/// close the connection.
pub(crate) struct Connection {
    _sink: PubSubSink,
    stream: PubSubStream,
}

/// Opens a pub/sub connection subscribed to the channel.
pub(crate) async fn subscribe(shared: &Shared) -> Result<Connection, BackplaneError> {
    let opened = async {
        let mut pubsub = shared.client.get_async_pubsub().await?;
        pubsub.subscribe(shared.keys.channel()).await?;
        Ok::<_, BackplaneError>(pubsub)
    };
    let pubsub = timeout(shared.timeout, opened).await.map_err(|_| {
        BackplaneError(redis::RedisError::from((
            redis::ErrorKind::Io,
            "pub/sub connection timed out",
        )))
    })??;
    let (sink, stream) = pubsub.split();
    Ok(Connection {
        _sink: sink,
        stream,
    })
}

/// Why the connection is given up.
struct Broken;

struct Reader {
    hub: Weak<Inner>,
    shared: Arc<Shared>,
    /// The probe sent and not yet seen back.
    probe: Option<u64>,
}

/// The task: read, deliver, copy on request, probe; reconnect with backoff
/// when the connection breaks. Ends with the hub.
pub(crate) async fn run(
    hub: Weak<Inner>,
    shared: Arc<Shared>,
    first: Connection,
    mut requests: UnboundedReceiver<Prime>,
) {
    let mut reader = Reader {
        hub,
        shared,
        probe: None,
    };
    let mut connection = Some(first);
    loop {
        let mut conn = match connection.take() {
            Some(conn) => conn,
            None => match reader.reconnect(&mut requests).await {
                Some(conn) => conn,
                None => return,
            },
        };
        let every = reader.shared.probe_every;
        let mut probe = interval_at(Instant::now() + every, every);
        probe.set_missed_tick_behavior(MissedTickBehavior::Delay);
        reader.probe = None;
        loop {
            let outcome = tokio::select! {
                msg = conn.stream.next() => match msg {
                    Some(msg) => reader.on_message(&msg).await,
                    None => Err(Broken),
                },
                request = requests.recv() => match request {
                    Some(request) => {
                        reader.prime(request).await;
                        Ok(())
                    }
                    None => return,
                },
                _ = probe.tick() => reader.probe().await,
            };
            if outcome.is_err() {
                tracing::warn!("hub backplane: pub/sub connection lost; reconnecting");
                break;
            }
        }
    }
}

impl Reader {
    /// Resubscribes with backoff and catches up; refuses copy requests
    /// meanwhile. `None` when the hub is gone.
    async fn reconnect(&mut self, requests: &mut UnboundedReceiver<Prime>) -> Option<Connection> {
        let mut backoff = BACKOFF_MIN;
        loop {
            self.hub.upgrade()?;
            let wait = sleep(backoff);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    () = &mut wait => break,
                    request = requests.recv() => match request {
                        Some(request) => { let _ = request.done.send(false); }
                        None => return None,
                    },
                }
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            let Ok(conn) = subscribe(&self.shared).await else {
                continue;
            };
            if self.shared.renew().await.is_err() {
                continue;
            }
            if self.catch_up().await.is_ok() {
                tracing::info!("hub backplane: pub/sub resubscribed");
                return Some(conn);
            }
        }
    }

    async fn on_message(&mut self, msg: &Msg) -> Result<(), Broken> {
        let payload = msg.get_payload_bytes();
        if let Some(nonce) = payload.strip_prefix(b"p:") {
            if self
                .probe
                .is_some_and(|sent| nonce == sent.to_string().as_bytes())
            {
                self.probe = None;
            }
            return Ok(());
        }
        let Some((epoch, seq, topic, body)) = parse(payload) else {
            tracing::warn!("hub backplane: a message not from this hub on its channel; ignored");
            return Ok(());
        };
        let Some(inner) = self.hub.upgrade() else {
            return Ok(());
        };
        let (current_epoch, current) = {
            let registry = inner.registry.lock();
            (registry.epoch, registry.seq)
        };
        if epoch != current_epoch {
            reset(&inner, epoch, seq - 1);
        } else if seq <= current {
            return Ok(());
        } else if seq > current + 1 {
            self.recover(&inner, current, seq - 1).await?;
        }
        deliver(&inner, topic, seq, Body::from_wire(body));
        Ok(())
    }

    /// Probes: the previous probe must have come back by now.
    async fn probe(&mut self) -> Result<(), Broken> {
        if self.probe.is_some() {
            tracing::warn!("hub backplane: probe not received; the subscription is dead");
            return Err(Broken);
        }
        let nonce = fastrand::u64(..);
        self.shared.probe(nonce).await.map_err(|_| Broken)?;
        self.probe = Some(nonce);
        self.catch_up().await
    }

    /// Compares Redis's head with what was delivered: a new epoch resets,
    /// a head ahead is read from the streams.
    async fn catch_up(&mut self) -> Result<(), Broken> {
        let Some(inner) = self.hub.upgrade() else {
            return Ok(());
        };
        let (epoch, head) = self.shared.head().await.map_err(|_| Broken)?;
        let (current_epoch, current) = {
            let registry = inner.registry.lock();
            (registry.epoch, registry.seq)
        };
        if epoch != current_epoch {
            reset(&inner, epoch, head);
        } else if head > current {
            self.recover(&inner, current, head).await?;
        }
        Ok(())
    }

    /// Delivers the held topics' events numbered `from + 1 ..= to` from
    /// their streams. Topics without a stream that had events there end
    /// their subscriptions (nothing to replay them from).
    async fn recover(&mut self, inner: &Inner, from: u64, to: u64) -> Result<(), Broken> {
        let held = inner.registry.lock().held();
        let (streamed, bare): (Vec<_>, Vec<_>) = held
            .into_iter()
            .map(|(topic, last)| (topic, last.max(from)))
            .partition(|(topic, _)| inner.options.limits(topic).keeps_history());
        let events = self.shared.range(&streamed, to).await.map_err(|_| Broken)?;
        let names: Vec<Arc<str>> = bare.iter().map(|(t, _)| t.clone()).collect();
        let lasts = self.shared.last_ids(&names).await.map_err(|_| Broken)?;
        tracing::debug!(
            from,
            to,
            recovered = events.len(),
            "hub backplane: gap filled"
        );
        let mut wake = Vec::new();
        {
            let mut registry = inner.registry.lock();
            for ((topic, since), last) in bare.iter().zip(lasts) {
                if last > *since && last <= to {
                    wake.extend(registry.drop_topic(topic));
                }
            }
        }
        wake.into_iter().for_each(|w| w.wake());
        for stored in events {
            deliver(inner, &stored.topic, stored.seq, stored.body);
        }
        inner.registry.lock().advance(to);
        Ok(())
    }

    /// Copies the requested topics' history here (after catching up to
    /// the client's id if it is ahead), answering whether that worked.
    async fn prime(&mut self, request: Prime) {
        let Some(inner) = self.hub.upgrade() else {
            return;
        };
        let ok = matches!(self.copy(&inner, &request).await, Ok(true));
        let _ = request.done.send(ok);
    }

    /// `Ok(false)`: this instance is at its bounds (see the hub's
    /// "Bounds") and has no room for one of the topics; the subscription's
    /// stream ends, and its client retries.
    async fn copy(&mut self, inner: &Inner, request: &Prime) -> Result<bool, Broken> {
        if request.at_least > inner.registry.lock().seq {
            self.catch_up().await?;
        }
        for name in &request.topics {
            let to = {
                let registry = inner.registry.lock();
                if registry.get(name).is_some() {
                    continue;
                }
                registry.seq
            };
            let count = inner.options.limits(name).history_events;
            let history = self
                .shared
                .history(name, count, to)
                .await
                .map_err(|_| Broken)?;
            let installed = inner.registry.lock().install(
                name,
                &inner.options,
                history.evicted_seq,
                history.events,
                Instant::now(),
            );
            if installed.is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `<hex epoch>:<seq>:<topic length>:<topic><fields>`, as the script
/// publishes it.
fn parse(payload: &[u8]) -> Option<(u64, u64, &str, &[u8])> {
    let mut rest = payload;
    let mut field = || {
        let at = rest.iter().position(|&b| b == b':')?;
        let text = std::str::from_utf8(&rest[..at]).ok()?;
        rest = &rest[at + 1..];
        Some(text)
    };
    let epoch = u64::from_str_radix(field()?, 16).ok()?;
    let seq: u64 = field()?.parse().ok()?;
    let len: usize = field()?.parse().ok()?;
    if seq == 0 || rest.len() < len {
        return None;
    }
    let (topic, body) = rest.split_at(len);
    Some((epoch, seq, std::str::from_utf8(topic).ok()?, body))
}

/// Step 2 of a publish (see the hub's seam): into the local ring, if
/// anyone here reads the topic.
fn deliver(inner: &Inner, topic: &str, seq: u64, body: Body) {
    let now = Instant::now();
    let wake = {
        let mut registry = inner.registry.lock();
        if seq <= registry.seq {
            return;
        }
        // A mirror makes no topic for a publish (only subscriptions have
        // topics copied here), so it is never refused one.
        let Ok(target) = registry.for_publish(topic, &inner.options, now) else {
            registry.advance(seq);
            return;
        };
        let id = EventId::new(registry.epoch, seq);
        match registry.deliver(target, topic, id, body, &inner.options, now) {
            Ok(wake) => wake,
            Err(Closed) => {
                // Closed here (closing is per instance): not delivered.
                registry.advance(seq);
                Vec::new()
            }
        }
    };
    for waker in wake {
        waker.wake();
    }
}

fn reset(inner: &Inner, epoch: u64, seq: u64) {
    tracing::warn!(
        epoch = %format!("{epoch:x}"),
        "hub backplane: Redis lost its data (new epoch); ending every subscription"
    );
    let wake = inner.registry.lock().reset(epoch, seq);
    for waker in wake {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse() {
        let (epoch, seq, topic, body) = parse(b"ff:12:4:a:b:data: x").unwrap();
        assert_eq!(
            (epoch, seq, topic, body),
            (255, 12, "a:b:", &b"data: x"[..])
        );
        assert!(parse(b"ff:12:40:a").is_none());
        assert!(parse(b"zz:1:1:a").is_none());
        assert!(parse(b"ff:0:1:a").is_none());
        assert!(parse(b"ff").is_none());
    }
}
